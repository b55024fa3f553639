import { Router, type Request, type RequestHandler } from 'express';
import { recentActivity } from '../auth/activity.ts';
import { listUserGroups } from '../auth/groups.ts';
import { policyState } from '../auth/policy.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { listUserSessions } from '../auth/sessions.ts';
import {
  endAllSessionsOf,
  resetTwoFactorOf,
  setUserActive,
  setUserRole,
  unlockSignIn,
  type GuardedResult,
} from '../auth/user-admin.ts';
import { findUserById, isUserId, type User } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf, targetUser } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminUserPath, paths } from '../paths.ts';
import { resetTwoFactorForm } from '../validation/admin.ts';
import { parseForm } from '../validation/forms.ts';
import { activityRows, sessionRows } from './view-models.ts';

/** What an administrator can do to one user; each has a confirmation page (GET) and a POST. */
const ACTIONS = [
  'reset-2fa',
  'deactivate',
  'reactivate',
  'make-admin',
  'remove-admin',
  'unlock-sign-in',
  'end-sessions',
] as const;
type ActionName = (typeof ACTIONS)[number];

/**
 * One user's page and the actions on them (behind app.ts's adminGuards).
 *
 *   GET  /admin/users/:id            loadTarget → showUser
 *   GET  /admin/users/:id/<action>   recent → loadTarget → showAction(action)
 *   POST /admin/users/:id/<action>   recent → loadTarget → performAction(action)
 *   (<action>: reset-2fa, deactivate, reactivate, make-admin, remove-admin, unlock-sign-in,
 *    end-sessions)
 */
export function adminUserRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  const target = loadTarget(deps);
  const router = Router().get(paths.adminUser, target, showUser(deps));
  for (const action of ACTIONS) {
    router.get(`${paths.adminUser}/${action}`, recent, target, showAction(action));
    router.post(`${paths.adminUser}/${action}`, recent, target, performAction(deps, action));
  }
  return router;
}

function loadTarget({ db }: AppDeps): RequestHandler {
  return async function loadTarget(req, _res, next) {
    const id = req.params.id;
    const target = isUserId(id) ? await findUserById(db, id) : null;
    if (!target) return next(new HttpError(404, req.t.admin.noSuchUser()));
    req.target = target;
    next();
  };
}

function showUser({ db, config, clock }: AppDeps): RequestHandler {
  return async function showUser(req, res) {
    const target = targetUser(req);
    const now = clock.now();
    const [codesLeft, sessions, activity, groups] = await Promise.all([
      countUnusedRecoveryCodes(db, target.id),
      listUserSessions(db, target.id, req.sessionID, new Date(now)),
      recentActivity(db, target.id, { limit: 20 }),
      listUserGroups(db, target.id),
    ]);
    res.render('admin/user', {
      target,
      codesLeft,
      // Not `policy`: that local is the viewing admin's own (the banner in the page header).
      targetPolicy: policyState(config.require2fa, config.require2faGraceMs, target, now),
      sessions: sessionRows(sessions, now),
      activity: activityRows(req, activity, 'admin', now),
      groups,
    });
  };
}

function available(action: ActionName, target: User): boolean {
  switch (action) {
    case 'reset-2fa':
      return target.totpEnabledAt !== null;
    case 'deactivate':
      return target.isActive;
    case 'reactivate':
      return !target.isActive;
    case 'make-admin':
      return target.role !== 'admin';
    case 'remove-admin':
      return target.role === 'admin';
    case 'end-sessions':
    case 'unlock-sign-in':
      return true;
  }
}

function showAction(action: ActionName): RequestHandler {
  return function showAction(req, res) {
    const target = targetUser(req);
    if (!available(action, target)) return res.redirect(303, adminUserPath(target.id));
    res.render('admin/confirm-action', {
      target,
      action,
      ...req.t.admin.actions[action],
      errors: {},
    });
  };
}

async function perform(
  { db, clock }: AppDeps,
  action: ActionName,
  req: Request,
): Promise<GuardedResult> {
  const target = targetUser(req);
  const base = {
    targetId: target.id,
    actorId: currentUser(req).id,
    now: new Date(clock.now()),
    origin: originOf(req),
  };
  switch (action) {
    case 'reset-2fa': {
      const form = parseForm(resetTwoFactorForm, req.body);
      await resetTwoFactorOf(db, { ...base, reason: form.ok ? form.data.reason : '' });
      return { ok: true };
    }
    case 'deactivate':
      return setUserActive(db, { ...base, active: false });
    case 'reactivate':
      return setUserActive(db, { ...base, active: true });
    case 'make-admin':
      return setUserRole(db, { ...base, role: 'admin' });
    case 'remove-admin':
      return setUserRole(db, { ...base, role: 'user' });
    case 'end-sessions':
      await endAllSessionsOf(db, base);
      return { ok: true };
    case 'unlock-sign-in':
      await unlockSignIn(db, { ...base, email: target.email });
      return { ok: true };
  }
}

function performAction(deps: AppDeps, action: ActionName): RequestHandler {
  return async function performAction(req, res) {
    const target = targetUser(req);
    if (!available(action, target)) return res.redirect(303, adminUserPath(target.id));
    const result = await perform(deps, action, req);
    if (!result.ok) {
      return res.status(409).render('admin/confirm-action', {
        target,
        action,
        ...req.t.admin.actions[action],
        errors: { form: req.t.admin.lastAdmin() },
      });
    }
    req.log.info(
      { event: `admin_${action}`, userId: target.id, actorId: currentUser(req).id },
      'administrator action',
    );
    setFlash(req, 'success', req.t.admin.actions[action].done);
    res.redirect(303, adminUserPath(target.id));
  };
}
