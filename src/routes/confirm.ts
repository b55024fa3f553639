import { Router, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { recordAuditEvent } from '../auth/audit.ts';
import { reauthenticate } from '../auth/reauthentication.ts';
import { keyRingOf } from '../config.ts';
import { requireAuth } from '../middleware/auth.ts';
import { refreshAuthentication } from '../middleware/session.ts';
import { parseForm, safeReturnPath, type FieldErrors } from '../validation/forms.ts';
import { confirmForm } from '../validation/two-factor.ts';
import { originOf } from './auth.ts';
import { reauthenticationFailure } from './two-factor.ts';

/**
 * "Confirm it's you": re-enter the password (and a code when 2FA is on) before a sensitive
 * action. Success starts a new session id with a fresh authentication time, then continues.
 */
export function confirmRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();
  const render = (res: Response, status: number, next: string, errors: FieldErrors) =>
    res.status(status).render('auth/confirm', { next, errors });

  router.get('/confirm', requireAuth, (req, res) => {
    render(res, 200, safeReturnPath(req.query.next), {});
  });

  router.post('/confirm', requireAuth, async (req, res) => {
    const next = safeReturnPath((req.body as { next?: unknown } | undefined)?.next);
    const form = parseForm(confirmForm, req.body);
    const user = req.user!;
    const twoFactorOn = user.totpEnabledAt !== null;
    if (!form.ok) return render(res, 400, next, form.errors);
    if (twoFactorOn && !form.data.code)
      return render(res, 400, next, { code: 'Enter a code from your app or a recovery code.' });

    const now = new Date(clock.now());
    const origin = originOf(req);
    const result = await reauthenticate(db, {
      user,
      password: form.data.password,
      code: form.data.code,
      origin,
      now,
      keys: keyRingOf(config),
      window: config.totpWindow,
      bcryptCost: config.bcryptCost,
    });
    if (!result.ok) {
      const failure = reauthenticationFailure(result);
      return render(res, failure.status, next, failure.errors);
    }
    await refreshAuthentication(req, now.getTime());
    await recordAuditEvent(db, { event: 'reauthenticated', userId: user.id, ...origin, at: now });
    res.redirect(303, next);
  });

  return router;
}
