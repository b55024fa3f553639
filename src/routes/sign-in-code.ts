import { Router, type Request, type RequestHandler, type Response } from 'express';
import { secondFactorLockedUntil, type SecondFactorMethod } from '../auth/second-factor.ts';
import { verifySecondFactor } from '../auth/second-factor.ts';
import { newTrustedBrowser } from '../auth/trusted-browsers.ts';
import { findUserById } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { originOf } from '../http.ts';
import { setFlash } from '../middleware/flash.ts';
import { resetSession, startSignedInSession } from '../middleware/session/state.ts';
import {
  setTrustedBrowserCookie,
  trustedBrowserRules,
} from '../middleware/trusted-browser-cookie.ts';
import { paths, withQuery } from '../paths.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { signInCodeForm } from '../validation/two-factor.ts';
import { codeFailureText, twoFactorUnavailable } from './code-answers.ts';

/**
 * The second step of sign-in, after a right password for a 2FA account. Only a pending sign-in
 * in the session reaches these pages (loadPending); nothing behind sign-in is reachable yet.
 *
 *   GET  /login/2fa        loadPending → showCodeForm('totp')
 *   POST /login/2fa        loadPending → submitCode('totp')
 *   GET  /login/recovery   loadPending → showCodeForm('recovery_code')
 *   POST /login/recovery   loadPending → submitCode('recovery_code')
 */
export function signInCodeRoutes(deps: AppDeps): Router {
  const pending = loadPending(deps);
  return Router()
    .get(paths.signInCode, pending, showCodeForm(deps, 'totp'))
    .post(paths.signInCode, pending, submitCode(deps, 'totp'))
    .get(paths.signInRecoveryCode, pending, showCodeForm(deps, 'recovery_code'))
    .post(paths.signInRecoveryCode, pending, submitCode(deps, 'recovery_code'));
}

/** Ends a pending sign-in that can no longer complete, and sends the person back to the start. */
async function cancelPending(req: Request, res: Response, notice: string) {
  await resetSession(req);
  setFlash(req, 'info', notice);
  res.redirect(303, paths.signIn);
}

/**
 * The pending sign-in, if it is still valid; otherwise back to the password step. A page view
 * loads the account here; a code's check reads it itself, under its lock (one read, not two).
 */
function loadPending({ db, config, clock }: AppDeps): RequestHandler {
  return async function loadPending(req, res, next) {
    if (req.user) return res.redirect(303, paths.home);
    const pending = req.session.pending;
    if (!pending) {
      setFlash(req, 'info', req.t.signIn.passwordFirst());
      return res.redirect(303, paths.signIn);
    }
    if (clock.now() - pending.startedAt > config.pendingSignInTimeoutMs)
      return cancelPending(req, res, req.t.signIn.tookTooLong());
    if (req.method === 'POST') return next();
    const user = await findUserById(db, pending.userId);
    if (!user || !user.isActive || !user.totpEnabledAt)
      return cancelPending(req, res, req.t.signIn.again());
    req.pendingUser = user;
    next();
  };
}

/** Which code form, and for how long "don't ask for a code on this browser" would hold. */
interface CodePage {
  mode: SecondFactorMethod;
  trustForMs: number;
}

/**
 * The code form; while the account's codes are locked, the lock instead of the form. It offers
 * "don't ask for a code on this browser" when the password step found that the person may trust
 * a browser; unticked, unless they ticked it before this re-render.
 */
function renderCodeForm(
  req: Request,
  res: Response,
  page: CodePage,
  status: number,
  errors: FieldErrors,
  options: { lockedMessage?: string | null; note?: string | null; trust?: boolean } = {},
) {
  const offered = req.session.pending?.trustOffered === true;
  res.status(status).render('auth/second-factor', {
    mode: page.mode,
    errors,
    lockedMessage: options.lockedMessage ?? null,
    note: options.note ?? null,
    trustLabel: offered ? req.t.signIn.trustBrowser(page.trustForMs) : null,
    trustTicked: options.trust ?? false,
  });
}

function showCodeForm({ db, config, clock }: AppDeps, mode: SecondFactorMethod): RequestHandler {
  const page = { mode, trustForMs: config.trustedBrowserDurationMs };
  return async function showCodeForm(req, res) {
    const userId = req.pendingUser?.id ?? req.session.pending!.userId;
    const lockedUntil = await secondFactorLockedUntil(db, userId, new Date(clock.now()));
    const lockedMessage = lockedUntil ? req.t.secondFactor.locked(lockedUntil, clock.now()) : null;
    renderCodeForm(req, res, page, 200, {}, { lockedMessage });
  };
}

/**
 * The browser to trust if the code is right, when the form asked for it and the password step
 * offered it (the account is checked again under the code's lock: see verifySecondFactor).
 */
function browserToTrust(req: Request, config: AppDeps['config'], ticked: boolean, now: Date) {
  const pending = req.session.pending!;
  if (!ticked || !pending.trustOffered) return null;
  return newTrustedBrowser({
    userId: pending.userId,
    userAgent: req.get('user-agent') ?? null,
    now,
    durationMs: config.trustedBrowserDurationMs,
  });
}

function submitCode({ db, config, clock }: AppDeps, mode: SecondFactorMethod): RequestHandler {
  const page = { mode, trustForMs: config.trustedBrowserDurationMs };
  return async function submitCode(req, res) {
    const form = parseForm(signInCodeForm, req.body);
    const ticked = form.ok && form.data.trust;
    if (!form.ok) return renderCodeForm(req, res, page, 400, form.errors);
    const pending = req.session.pending!;
    const now = new Date(clock.now());
    const trust = browserToTrust(req, config, ticked, now);
    const result = await verifySecondFactor(db, {
      user: { id: pending.userId },
      code: form.data.code,
      accept: mode,
      pendingRef: pending.ref,
      origin: originOf(req),
      now,
      keys: config.totpKeys,
      window: config.totpWindow,
      ...(trust ? { trustBrowser: { row: trust.row, rules: trustedBrowserRules(config) } } : {}),
    });

    if (result.ok) {
      const { user } = result;
      // verifySecondFactor has marked the sign-in (time, audit event) with the code's check, and
      // stored the trusted browser with it.
      await startSignedInSession(req, user, now.getTime(), 'password_and_code');
      if (trust && result.trustedBrowser) setTrustedBrowserCookie(res, config, trust.token);
      const notice = result.sinceLastSignIn
        ? req.t.signIn.sinceLastVisit(result.sinceLastSignIn)
        : null;
      if (notice) setFlash(req, 'error', notice.text, { links: notice.links });
      req.log.info({ event: 'sign_in', userId: user.id, method: result.method }, 'signed in');
      if (result.method === 'recovery_code')
        return res.redirect(303, withQuery(paths.recoveryCodeUsed, { next: pending.next }));
      return res.redirect(303, pending.next);
    }
    if (result.reason === 'not_enrolled') return cancelPending(req, res, req.t.signIn.again());
    req.log.info(
      { event: 'second_factor_failed', userId: pending.userId, reason: result.reason },
      'second factor refused',
    );
    if (result.reason === 'unavailable') {
      req.log.error(
        { userId: pending.userId },
        'TOTP secret could not be decrypted: check TOTP_ENCRYPTION_KEY and TOTP_ENCRYPTION_OLD_KEYS',
      );
      throw twoFactorUnavailable(req);
    }
    if (result.reason === 'pending_exhausted') {
      await resetSession(req);
      setFlash(req, 'error', req.t.signIn.tooManyWrongCodes());
      return res.redirect(303, paths.signIn);
    }
    const text = codeFailureText(req, result, mode);
    if (result.reason === 'locked')
      return renderCodeForm(req, res, page, 429, {}, { lockedMessage: text.error });
    renderCodeForm(req, res, page, 401, { code: text.error }, { note: text.note, trust: ticked });
  };
}
