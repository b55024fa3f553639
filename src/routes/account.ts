import { Router, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { changePassword } from '../auth/account.ts';
import { describeUserAgent, recentActivity, timeAgo } from '../auth/activity.ts';
import { recordAuditEvent } from '../auth/audit.ts';
import { LOW_RECOVERY_CODES } from '../auth/limits.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { endSessionByHandle, endUserSessions, listUserSessions } from '../auth/sessions.ts';
import { requireAuth, requireRecentAuth } from '../middleware/auth.ts';
import { refreshAuthentication, setFlash } from '../middleware/session.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { changePasswordForm, endSessionForm } from '../validation/account.ts';
import { originOf } from './auth.ts';

/** The person's own account: the settings overview, password, sessions and activity. */
export function accountRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();
  router.use('/settings', requireAuth);

  router.get('/settings', async (req, res) => {
    const user = req.user!;
    const now = clock.now();
    const [codesLeft, sessions, activity] = await Promise.all([
      user.totpEnabledAt ? countUnusedRecoveryCodes(db, user.id) : Promise.resolve(0),
      listUserSessions(db, user.id, req.sessionID, new Date(now)),
      recentActivity(db, user.id, now),
    ]);
    res.render('settings/index', {
      codesLeft,
      lowCodes: codesLeft <= LOW_RECOVERY_CODES,
      sessions: sessions.map((session) => ({
        ...session,
        device: describeUserAgent(session.userAgent),
        lastSeen: session.lastSeenAt ? timeAgo(session.lastSeenAt, now) : 'unknown',
      })),
      activity,
    });
  });

  const renderPassword = (res: Response, status: number, errors: FieldErrors) =>
    res.status(status).render('settings/password', { errors });

  router.get(
    '/settings/password',
    requireRecentAuth(config.recentAuthWindowMs, clock),
    (_req, res) => renderPassword(res, 200, {}),
  );

  router.post(
    '/settings/password',
    requireRecentAuth(config.recentAuthWindowMs, clock),
    async (req, res) => {
      const form = parseForm(changePasswordForm, req.body);
      if (!form.ok) return renderPassword(res, 400, form.errors);
      const now = new Date(clock.now());
      const result = await changePassword(db, {
        user: req.user!,
        currentPassword: form.data.currentPassword,
        newPassword: form.data.newPassword,
        bcryptCost: config.bcryptCost,
        keepSid: req.sessionID,
        now,
        origin: originOf(req),
      });
      if (!result.ok && result.reason === 'throttled') {
        return renderPassword(res, 429, {
          currentPassword: 'Too many attempts. Wait a while and try again.',
        });
      }
      if (!result.ok)
        return renderPassword(res, 401, { currentPassword: 'That is not your current password.' });
      req.log.info({ event: 'password_changed', userId: req.user!.id }, 'password changed');
      // A new credential: a new session id too.
      await refreshAuthentication(req, now.getTime(), result.generation);
      setFlash(
        req,
        'success',
        result.endedSessions
          ? `Your password was changed and your ${result.endedSessions} other session${result.endedSessions === 1 ? ' was' : 's were'} signed out.`
          : 'Your password was changed.',
      );
      res.redirect(303, '/settings');
    },
  );

  router.post('/settings/sessions/end', async (req, res) => {
    const form = parseForm(endSessionForm, req.body);
    const ended = form.ok && (await endSessionByHandle(db, req.user!.id, form.data.session));
    setFlash(
      req,
      ended ? 'success' : 'info',
      ended ? 'That session was signed out.' : 'That session had already ended.',
    );
    res.redirect(303, '/settings#sessions');
  });

  router.post('/settings/sessions/end-others', async (req, res) => {
    const user = req.user!;
    const { ended, generation } = await endUserSessions(db, user.id, req.sessionID);
    await refreshAuthentication(req, clock.now(), generation);
    await recordAuditEvent(db, {
      event: 'sessions_ended',
      userId: user.id,
      actorId: user.id,
      ...originOf(req),
      details: { count: ended },
      at: new Date(clock.now()),
    });
    setFlash(
      req,
      'success',
      ended
        ? `Signed out ${ended} other session${ended === 1 ? '' : 's'}.`
        : 'There were no other sessions.',
    );
    res.redirect(303, '/settings#sessions');
  });

  return router;
}
