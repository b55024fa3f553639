import { Router, type Request, type RequestHandler, type Response } from 'express';
import { recentActivity } from '../auth/activity.ts';
import { policyState } from '../auth/policy.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { listUserSessions } from '../auth/sessions.ts';
import { setTemporaryPassword } from '../auth/temporary-password.ts';
import {
  endAllSessionsOf,
  isLastActiveAdmin,
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
import { resetTwoFactorForm, temporaryPasswordForm } from '../validation/admin.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { keepOneTimePassword, takeOneTimePassword } from './one-time-password.ts';
import { activityRows, sessionRows } from './view-models.ts';

/** What an administrator can do to one user; each has a confirmation page (GET) and a POST. */
const ACTIONS = [
  'unlock-sign-in',
  'make-admin',
  'reactivate',
  'set-password',
  'reset-2fa',
  'end-sessions',
  'remove-admin',
  'deactivate',
] as const;
type ActionName = (typeof ACTIONS)[number];
/** Actions that take something away: danger-styled and grouped apart on the page. */
const DESTRUCTIVE: ReadonlySet<ActionName> = new Set([
  'set-password',
  'reset-2fa',
  'end-sessions',
  'remove-admin',
  'deactivate',
]);

/**
 * One user's page and the actions on them (behind app.ts's adminGuards).
 *
 *   GET  /admin/users/:id                loadTarget → showUser
 *   GET  /admin/users/:id/created        loadTarget → showCreated             (password shown once)
 *   GET  /admin/users/:id/password-set   loadTarget → showTemporaryPassword   (shown once)
 *   GET  /admin/users/:id/<action>       recent → loadTarget → showAction(action)
 *   POST /admin/users/:id/<action>       recent → loadTarget → performAction(action)
 *   (<action>: unlock-sign-in, make-admin, reactivate, set-password, reset-2fa, end-sessions,
 *    remove-admin, deactivate)
 */
export function adminUserRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  const target = loadTarget(deps);
  const router = Router()
    .get(paths.adminUser, target, showUser(deps))
    .get(`${paths.adminUser}/created`, target, showCreated(deps))
    .get(`${paths.adminUser}/password-set`, target, showTemporaryPassword(deps));
  for (const action of ACTIONS) {
    router.get(`${paths.adminUser}/${action}`, recent, target, showAction(deps, action));
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

/** Whether the action applies to the user as they are now (else the page just goes back). */
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
    default:
      return true;
  }
}

/** Why the action must not be done, decided before any button is offered; or null. */
async function refusal({ db }: AppDeps, action: ActionName, req: Request): Promise<string | null> {
  const target = targetUser(req);
  const self = target.id === currentUser(req).id;
  if (action === 'deactivate' || action === 'remove-admin') {
    if (await isLastActiveAdmin(db, target.id)) return req.t.admin.lastAdmin();
    if (self) return req.t.admin.notYourself(action);
  }
  if (action === 'set-password' && self) return req.t.admin.notYourself(action);
  return null;
}

function showUser(deps: AppDeps): RequestHandler {
  const { db, config, clock } = deps;
  return async function showUser(req, res) {
    const target = targetUser(req);
    const now = clock.now();
    const [codesLeft, sessions, activity, lastAdmin] = await Promise.all([
      countUnusedRecoveryCodes(db, target.id),
      listUserSessions(db, target.id, req.sessionID, new Date(now)),
      recentActivity(db, target.id, { limit: 40 }),
      isLastActiveAdmin(db, target.id),
    ]);
    const self = target.id === currentUser(req).id;
    const offered = ACTIONS.filter(
      (action) =>
        available(action, target) &&
        !((action === 'deactivate' || action === 'remove-admin') && (self || lastAdmin)) &&
        !(action === 'set-password' && self),
    );
    res.render('admin/user', {
      target,
      self,
      lastAdmin,
      codesLeft,
      actions: offered.filter((action) => !DESTRUCTIVE.has(action)),
      destructive: offered.filter((action) => DESTRUCTIVE.has(action)),
      // Not `policy`: that local is the viewing admin's own (the banner in the page header).
      targetPolicy: policyState(config.require2fa, config.require2faGraceMs, target, now),
      sessions: sessionRows(sessions, now),
      activity: activityRows(req, activity, 'admin', now).slice(0, 20),
    });
  };
}

function renderAction(
  req: Request,
  res: Response,
  status: number,
  action: ActionName,
  errors: FieldErrors,
  options: { refused?: boolean } = {},
) {
  const target = targetUser(req);
  const text = req.t.admin.actions[action];
  const own = target.id === currentUser(req).id ? req.t.admin.ownActions[action] : undefined;
  res.status(status).render('admin/confirm-action', {
    target,
    action,
    ...text,
    explain: own ?? text.explain,
    danger: DESTRUCTIVE.has(action),
    refused: options.refused ?? false,
    values: { passwordChoice: 'generate' },
    errors,
  });
}

function showAction(deps: AppDeps, action: ActionName): RequestHandler {
  return async function showAction(req, res) {
    const target = targetUser(req);
    if (!available(action, target)) return res.redirect(303, adminUserPath(target.id));
    const refused = await refusal(deps, action, req);
    if (refused) return renderAction(req, res, 200, action, { form: refused }, { refused: true });
    renderAction(req, res, 200, action, {});
  };
}

type Outcome = GuardedResult | { ok: false; reason: 'form'; errors: FieldErrors };

async function perform(deps: AppDeps, action: ActionName, req: Request): Promise<Outcome> {
  const { db, config, clock } = deps;
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
    case 'set-password': {
      const form = parseForm(temporaryPasswordForm, req.body);
      if (!form.ok) return { ok: false, reason: 'form', errors: form.errors };
      const typed = form.data.passwordChoice === 'set' ? form.data.password : null;
      const result = await setTemporaryPassword(db, {
        userId: target.id,
        password: typed,
        bcryptCost: config.bcryptCost,
        actorId: base.actorId,
        now: base.now,
        origin: base.origin,
      });
      if (!result.ok) return result;
      if (result.generatedPassword)
        keepOneTimePassword(req, config.totpKeys, {
          userId: target.id,
          purpose: 'temporary',
          password: result.generatedPassword,
        });
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
    const refused = await refusal(deps, action, req);
    if (refused) return renderAction(req, res, 409, action, { form: refused }, { refused: true });
    const result = await perform(deps, action, req);
    if (!result.ok && result.reason === 'form')
      return renderAction(req, res, 400, action, result.errors);
    if (!result.ok) return renderAction(req, res, 409, action, { form: req.t.admin.lastAdmin() });
    req.log.info(
      { event: `admin_${action}`, userId: target.id, actorId: currentUser(req).id },
      'administrator action',
    );
    setFlash(req, 'success', req.t.admin.actions[action].done);
    if (action === 'set-password')
      return res.redirect(303, adminUserPath(target.id, 'password-set'));
    res.redirect(303, adminUserPath(target.id));
  };
}

function showTemporaryPassword({ config }: AppDeps): RequestHandler {
  return function showTemporaryPassword(req, res) {
    const target = targetUser(req);
    const password = takeOneTimePassword(req, config.totpKeys, {
      userId: target.id,
      purpose: 'temporary',
    });
    res.render('admin/password-set', { target, password });
  };
}

function showCreated({ config }: AppDeps): RequestHandler {
  return function showCreated(req, res) {
    const target = targetUser(req);
    const password = takeOneTimePassword(req, config.totpKeys, {
      userId: target.id,
      purpose: 'created',
    });
    res.render('admin/user-created', {
      created: target,
      generatedPassword: password,
      shownBefore: !password && target.mustChangePassword,
    });
  };
}
