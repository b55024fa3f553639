import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { keyRingOf } from '../config.ts';
import {
  verifySecondFactor,
  secondFactorLockedUntil,
  type SecondFactorResult,
} from '../auth/second-factor.ts';
import type { ReauthenticationResult } from '../auth/reauthentication.ts';
import { signInNotices } from '../auth/sign-in.ts';
import { findUserById, type User } from '../auth/users.ts';
import { HttpError } from '../middleware/errors.ts';
import { regenerateSession, setFlash, startSignedInSession } from '../middleware/session.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { codeForm } from '../validation/two-factor.ts';
import { originOf } from './auth.ts';

type Mode = 'totp' | 'recovery_code';

declare module 'express-serve-static-core' {
  interface Request {
    /** The user of the pending sign-in (second step pages only, not their POSTs). */
    pendingUser?: User;
  }
}

export function twoFactorUnavailable(): HttpError {
  return new HttpError(
    503,
    'Two-factor authentication is temporarily unavailable',
    'Keygate cannot check codes right now. Please contact your administrator.',
  );
}

export function formatTime(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/** Words for a failed second factor, shared by sign-in, confirm-it's-you and disabling. */
export function secondFactorMessage(
  result: Extract<SecondFactorResult, { ok: false }>,
  mode: Mode | 'either',
): string {
  if (result.reason === 'locked') {
    return `Too many wrong codes for this account. For your safety, codes are refused until ${formatTime(result.lockedUntil!)}. If this was not you, change your password.`;
  }
  const what = mode === 'recovery_code' ? 'recovery code' : mode === 'totp' ? 'code' : 'code';
  let text = `That ${what} is not right. Check it and try again.`;
  if (mode === 'totp') text = 'That code is not right. Enter the 6-digit code your app shows now.';
  if (result.driftMinutes) {
    const minutes = Math.abs(result.driftMinutes);
    text += ` Your device's clock looks ${result.driftMinutes > 0 ? 'ahead' : 'behind'} by about ${minutes} minute${minutes === 1 ? '' : 's'}: set it to update automatically, then try a new code.`;
  }
  return text;
}

/** The page answer for a failed "password and code" check (confirm-it's-you, turning 2FA off). */
export function reauthenticationFailure(result: Exclude<ReauthenticationResult, { ok: true }>): {
  status: number;
  errors: FieldErrors;
} {
  if (result.field === 'password' && result.throttled) {
    return { status: 429, errors: { password: 'Too many attempts. Wait a while and try again.' } };
  }
  if (result.field === 'password') {
    return { status: 401, errors: { password: 'That password is not right.' } };
  }
  if (result.failure.reason === 'unavailable') throw twoFactorUnavailable();
  return {
    status: result.failure.reason === 'locked' ? 429 : 401,
    errors: { code: secondFactorMessage(result.failure, 'either') },
  };
}

export function twoFactorRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();

  /** Ends a pending sign-in that can no longer complete, and sends the person back to the start. */
  const cancelPending = async (req: Request, res: Response, expired: boolean) => {
    await regenerateSession(req);
    setFlash(
      req,
      'info',
      expired
        ? 'That took too long, so the sign-in was cancelled. Please sign in again.'
        : 'Please sign in again.',
    );
    res.redirect(303, '/login');
  };

  /**
   * The pending sign-in, if it is still valid; otherwise back to the password step. A page view
   * loads the account here; a code's check reads it itself, under its lock (one read, not two).
   */
  const loadPending: RequestHandler = async (req, res, next) => {
    if (req.user) return res.redirect(303, '/');
    const pending = req.session.pending;
    if (!pending) {
      setFlash(req, 'info', 'Sign in with your email address and password first.');
      return res.redirect(303, '/login');
    }
    if (clock.now() - pending.startedAt > config.pendingSignInTimeoutMs)
      return cancelPending(req, res, true);
    if (req.method === 'POST') return next();
    const user = await findUserById(db, pending.userId);
    if (!user || !user.isActive || !user.totpEnabledAt) return cancelPending(req, res, false);
    req.pendingUser = user;
    next();
  };

  const render = async (
    req: Request,
    res: Response,
    mode: Mode,
    status: number,
    errors: FieldErrors,
  ) => {
    const lockedUntil =
      status === 200
        ? await secondFactorLockedUntil(db, req.pendingUser!.id, new Date(clock.now()))
        : null;
    res.status(status).render('auth/second-factor', {
      mode,
      errors,
      lockedMessage: lockedUntil
        ? secondFactorMessage({ ok: false, reason: 'locked', lockedUntil }, mode)
        : null,
    });
  };

  const submit =
    (mode: Mode): RequestHandler =>
    async (req, res) => {
      const form = parseForm(codeForm, req.body);
      if (!form.ok) return render(req, res, mode, 400, form.errors);
      const pending = req.session.pending!;
      const now = new Date(clock.now());
      const origin = originOf(req);
      const result = await verifySecondFactor(db, {
        user: { id: pending.userId },
        code: form.data.code,
        accept: mode,
        pendingRef: pending.ref,
        origin,
        now,
        keys: keyRingOf(config),
        window: config.totpWindow,
      });

      if (result.ok) {
        const { user } = result;
        // verifySecondFactor has marked the sign-in (time, audit event) with the code's check.
        await startSignedInSession(req, user, now.getTime());
        const notices = result.sinceLastSignIn ? signInNotices(result.sinceLastSignIn) : [];
        if (notices.length) setFlash(req, 'error', notices.join(' '));
        req.log.info({ event: 'sign_in', userId: user.id, method: result.method }, 'signed in');
        if (result.method === 'recovery_code') {
          return res.redirect(
            303,
            `/settings/2fa/recovery-used?next=${encodeURIComponent(pending.next)}`,
          );
        }
        return res.redirect(303, pending.next);
      }
      if (result.reason === 'not_enrolled') return cancelPending(req, res, false);
      req.log.info(
        { event: 'second_factor_failed', userId: pending.userId, reason: result.reason },
        'second factor refused',
      );
      if (result.reason === 'unavailable') {
        req.log.error(
          { userId: pending.userId },
          'TOTP secret could not be decrypted: check TOTP_ENCRYPTION_KEY and TOTP_ENCRYPTION_OLD_KEYS',
        );
        throw twoFactorUnavailable();
      }
      if (result.reason === 'pending_exhausted') {
        await regenerateSession(req);
        setFlash(
          req,
          'error',
          'Too many wrong codes, so the sign-in was cancelled. Please sign in again.',
        );
        return res.redirect(303, '/login');
      }
      const status = result.reason === 'locked' ? 429 : 401;
      return render(req, res, mode, status, { code: secondFactorMessage(result, mode) });
    };

  router.get('/login/2fa', loadPending, (req, res) => render(req, res, 'totp', 200, {}));
  router.post('/login/2fa', loadPending, submit('totp'));
  router.get('/login/recovery', loadPending, (req, res) =>
    render(req, res, 'recovery_code', 200, {}),
  );
  router.post('/login/recovery', loadPending, submit('recovery_code'));

  return router;
}
