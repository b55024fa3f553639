import { Router, type Request, type RequestHandler, type Response } from 'express';
import { recentActivity } from '../auth/activity.ts';
import { listUserGroups } from '../auth/groups.ts';
import { policyState } from '../auth/policy.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { listUserSessions } from '../auth/sessions.ts';
import { listTrustedBrowsers } from '../auth/trusted-browsers.ts';
import { isLastActiveAdmin } from '../auth/user-admin.ts';
import { findUserById, isUserId } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, targetUser } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminUserPath, paths } from '../paths.ts';
import type { FieldErrors } from '../validation/forms.ts';
import {
  ACTIONS,
  available,
  DESTRUCTIVE,
  perform,
  refusal,
  type ActionName,
} from './admin-user-actions.ts';
import { takeOneTimePassword } from './one-time-password.ts';
import { activityRows, sessionRows, trustedBrowserRows } from './view-models.ts';

/**
 * One user's page and the actions on them (behind app.ts's adminGuards).
 *
 *   GET  /admin/users/:id                loadTarget → showUser
 *   GET  /admin/users/:id/created        loadTarget → showCreated             (password shown once)
 *   GET  /admin/users/:id/password-set   loadTarget → showTemporaryPassword   (shown once)
 *   GET  /admin/users/:id/<action>       recent → loadTarget → showAction(action)
 *   POST /admin/users/:id/<action>       recent → loadTarget → performAction(action)
 *   (<action>: unlock-sign-in, make-admin, reactivate, set-password, reset-2fa, end-sessions,
 *    forget-browsers, remove-admin, deactivate)
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

function showUser(deps: AppDeps): RequestHandler {
  const { db, config, clock } = deps;
  return async function showUser(req, res) {
    const target = targetUser(req);
    const now = clock.now();
    const [codesLeft, sessions, activity, lastAdmin, groups, browsers] = await Promise.all([
      countUnusedRecoveryCodes(db, target.id),
      listUserSessions(db, target.id, req.sessionID, new Date(now)),
      recentActivity(db, target.id, { limit: 40 }),
      isLastActiveAdmin(db, target.id),
      listUserGroups(db, target.id),
      listTrustedBrowsers(db, target.id, new Date(now)),
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
      trustedBrowsers: trustedBrowserRows(browsers, now),
      activity: activityRows(req, activity, 'admin', now).slice(0, 20),
      groups,
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
    setFlash(req, 'success', 'notice' in result ? result.notice : req.t.admin.actions[action].done);
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
