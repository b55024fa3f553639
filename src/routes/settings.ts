import { Router, type RequestHandler, type Response } from 'express';
import { changePassword } from '../auth/account.ts';
import { recentActivity } from '../auth/activity.ts';
import { ACTIVITY_ON_SETTINGS, ACTIVITY_PAGE, LOW_RECOVERY_CODES } from '../auth/limits.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { endOtherSessions, endSessionByHandle, listUserSessions } from '../auth/sessions.ts';
import { listTrustedBrowsers } from '../auth/trusted-browsers.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireAuth, requireRecentAuth } from '../middleware/guards.ts';
import { refreshAuthentication } from '../middleware/session/state.ts';
import { presentedTrustedBrowserToken } from '../middleware/trusted-browser-cookie.ts';
import { paths } from '../paths.ts';
import { changePasswordForm, endSessionForm } from '../validation/account.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { activityRows, sessionRows, trustedBrowserRows } from './view-models.ts';

/**
 * The person's own account: the settings overview, password, sessions and activity.
 *
 *   GET  /settings                       requireAuth → showSettings
 *   GET  /settings/activity              requireAuth → showActivity
 *   GET  /settings/password              requireAuth → recent → showPasswordForm
 *   POST /settings/password              requireAuth → recent → changeOwnPassword
 *   POST /settings/sessions/end          requireAuth → endOneSession
 *   POST /settings/sessions/end-others   requireAuth → endOtherOwnSessions
 */
export function settingsRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  return Router()
    .use(paths.settings, requireAuth)
    .get(paths.settings, showSettings(deps))
    .get(paths.activity, showActivity(deps))
    .get(paths.password, recent, showPasswordForm)
    .post(paths.password, recent, changeOwnPassword(deps))
    .post(paths.endSession, endOneSession(deps))
    .post(paths.endOtherSessions, endOtherOwnSessions(deps));
}

function showSettings({ db, config, clock }: AppDeps): RequestHandler {
  return async function showSettings(req, res) {
    const user = currentUser(req);
    const now = clock.now();
    const token = presentedTrustedBrowserToken(req, config);
    const [codesLeft, sessions, activity, browsers] = await Promise.all([
      user.totpEnabledAt ? countUnusedRecoveryCodes(db, user.id) : Promise.resolve(0),
      listUserSessions(db, user.id, req.sessionID, new Date(now)),
      recentActivity(db, user.id, { limit: 4 * ACTIVITY_ON_SETTINGS }),
      listTrustedBrowsers(db, user.id, new Date(now), token),
    ]);
    const activityLines = activityRows(req, activity, 'self', now);
    res.render('settings/index', {
      codesLeft,
      lowCodes: codesLeft <= LOW_RECOVERY_CODES,
      sessions: sessionRows(sessions, now),
      trustedBrowsers: trustedBrowserRows(browsers, now),
      activity: activityLines.slice(0, ACTIVITY_ON_SETTINGS),
      moreActivity: activityLines.length > ACTIVITY_ON_SETTINGS,
    });
  };
}

function showActivity({ db, clock }: AppDeps): RequestHandler {
  return async function showActivity(req, res) {
    const now = clock.now();
    const activity = await recentActivity(db, currentUser(req).id, { limit: ACTIVITY_PAGE });
    res.render('settings/activity', { activity: activityRows(req, activity, 'self', now) });
  };
}

function renderPasswordForm(res: Response, status: number, errors: FieldErrors) {
  res.status(status).render('settings/password', { errors });
}

const showPasswordForm: RequestHandler = (_req, res) => renderPasswordForm(res, 200, {});

function changeOwnPassword({ db, config, clock }: AppDeps): RequestHandler {
  return async function changeOwnPassword(req, res) {
    const form = parseForm(changePasswordForm, req.body);
    if (!form.ok) return renderPasswordForm(res, 400, form.errors);
    const user = currentUser(req);
    const now = new Date(clock.now());
    const result = await changePassword(db, {
      user,
      currentPassword: form.data.currentPassword,
      newPassword: form.data.newPassword,
      bcryptCost: config.bcryptCost,
      keepSid: req.sessionID,
      now,
      origin: originOf(req),
    });
    if (!result.ok && result.reason === 'throttled')
      return renderPasswordForm(res, 429, { currentPassword: req.t.settings.passwordThrottled() });
    if (!result.ok)
      return renderPasswordForm(res, 401, {
        currentPassword: req.t.settings.wrongCurrentPassword(),
      });
    req.log.info({ event: 'password_changed', userId: user.id }, 'password changed');
    // A new credential: a new session id too.
    await refreshAuthentication(req, now.getTime(), { generation: result.generation });
    setFlash(req, 'success', req.t.settings.passwordChanged(result.endedSessions));
    res.redirect(303, paths.settings);
  };
}

function endOneSession({ db }: AppDeps): RequestHandler {
  return async function endOneSession(req, res) {
    const form = parseForm(endSessionForm, req.body);
    const ended = form.ok && (await endSessionByHandle(db, currentUser(req).id, form.data.session));
    setFlash(req, ended ? 'success' : 'info', req.t.settings.sessionEnded(ended));
    res.redirect(303, `${paths.settings}#sessions`);
  };
}

function endOtherOwnSessions({ db, clock }: AppDeps): RequestHandler {
  return async function endOtherOwnSessions(req, res) {
    const user = currentUser(req);
    const now = clock.now();
    const { ended, generation } = await endOtherSessions(db, {
      userId: user.id,
      actorId: user.id,
      keepSid: req.sessionID,
      origin: originOf(req),
      now: new Date(now),
    });
    await refreshAuthentication(req, now, { generation });
    setFlash(req, 'success', req.t.settings.otherSessionsEnded(ended));
    res.redirect(303, `${paths.settings}#sessions`);
  };
}
