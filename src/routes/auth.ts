import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { recordAuditEvent } from '../auth/audit.ts';
import { checkPassword, completePasswordSignIn, type RequestOrigin } from '../auth/sign-in.ts';
import { requireAuth } from '../middleware/auth.ts';
import {
  destroySession,
  setFlash,
  sessionCookieAttributes,
  sessionCookieName,
  startPendingSignIn,
  startSignedInSession,
} from '../middleware/session.ts';
import { parseForm, safeReturnPath, type FieldErrors } from '../validation/forms.ts';
import { loginForm } from '../validation/login.ts';

export function originOf(req: Request): RequestOrigin {
  return { ip: req.ip ?? 'unknown', userAgent: req.get('user-agent') ?? null };
}

/** The values that are safe to put back into the form after a failed attempt (never the password). */
function loginValues(body: unknown, next: string) {
  const email = (body as { email?: unknown } | undefined)?.email;
  return { email: typeof email === 'string' ? email.slice(0, 254) : '', next };
}

export function authRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();

  const renderLogin = (
    res: Response,
    status: number,
    values: { email: string; next: string },
    errors: FieldErrors,
    notice?: string,
  ) => res.status(status).render('auth/login', { values, errors, notice });

  router.get('/login', (req, res) => {
    const next = safeReturnPath(req.query.next);
    if (req.user) return res.redirect(303, next);
    const notice = req.query.signed_out === '1' ? 'You have signed out.' : undefined;
    renderLogin(res, 200, { email: '', next: next === '/' ? '' : next }, {}, notice);
  });

  router.post('/login', async (req, res) => {
    const next = safeReturnPath((req.body as { next?: unknown } | undefined)?.next);
    const form = parseForm(loginForm, req.body);
    if (!form.ok) return renderLogin(res, 400, loginValues(req.body, next), form.errors);

    const now = new Date(clock.now());
    const origin = originOf(req);
    const result = await checkPassword(db, {
      email: form.data.email,
      password: form.data.password,
      bcryptCost: config.bcryptCost,
      now,
      origin,
    });
    if (!result.ok && result.reason === 'throttled') {
      // Same page whether the password was right or not: it was never checked.
      req.log.info({ event: 'sign_in_throttled' }, 'sign-in refused: too many attempts');
      res.set(
        'Retry-After',
        String(Math.max(1, Math.ceil((result.retryAt.getTime() - now.getTime()) / 1000))),
      );
      return renderLogin(res, 429, loginValues(req.body, next), {
        form: `Too many sign-in attempts. Try again ${inAWhile(result.retryAt.getTime() - now.getTime())}, or ask your administrator to unlock sign-in for your account.`,
      });
    }
    if (!result.ok) {
      req.log.info({ event: 'sign_in_failed' }, 'sign-in refused');
      return renderLogin(res, 401, loginValues(req.body, next), {
        form: 'The email address or password is not right. Check them and try again.',
      });
    }
    if (result.user.totpEnabledAt) {
      await startPendingSignIn(req, result.user.id, now.getTime(), next);
      req.log.info(
        { event: 'password_ok', userId: result.user.id },
        'password accepted, second factor next',
      );
      return res.redirect(303, '/login/2fa');
    }
    await startSignedInSession(req, result.user, now.getTime());
    const notices = await completePasswordSignIn(db, result.user, now, origin);
    if (notices.length) setFlash(req, 'error', notices.join(' '));
    req.log.info({ event: 'sign_in', userId: result.user.id }, 'signed in');
    res.redirect(303, next);
  });

  // Signing out changes state, so it is a POST; this page is the no-JavaScript way to reach it.
  router.get('/logout', requireAuth, (_req, res) => {
    res.render('auth/logout');
  });

  router.post('/logout', async (req, res) => {
    const user = req.user;
    await destroySession(req);
    res.clearCookie(sessionCookieName(config), sessionCookieAttributes(config));
    if (user) {
      await recordAuditEvent(db, {
        event: 'sign_out',
        userId: user.id,
        ...originOf(req),
        at: new Date(clock.now()),
      });
      req.log.info({ event: 'sign_out', userId: user.id }, 'signed out');
    }
    res.redirect(303, '/login?signed_out=1');
  });

  return router;
}

/** "in 3 minutes": when a refused sign-in may be tried again, in words. */
function inAWhile(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes >= 55) return 'in about an hour';
  return minutes === 1 ? 'in a minute' : `in ${minutes} minutes`;
}
