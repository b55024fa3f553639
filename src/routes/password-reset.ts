import { Router, type Request, type RequestHandler, type Response } from 'express';
import { PASSWORD_RESET_SESSION_MS } from '../auth/limits.ts';
import {
  completePasswordReset,
  findResetLink,
  findResetLinkById,
  requestPasswordReset,
} from '../auth/password-reset.ts';
import { hashPassword } from '../auth/passwords.ts';
import { verifySecondFactor, type SecondFactorMethod } from '../auth/second-factor.ts';
import type { AppDeps } from '../deps.ts';
import { originOf } from '../http.ts';
import { anonymousFormCsrf } from '../middleware/csrf.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import {
  markResetCodeVerified,
  resetSession,
  startPasswordReset,
} from '../middleware/session/state.ts';
import { paths } from '../paths.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { forgotPasswordForm, resetPasswordForm } from '../validation/password-reset.ts';
import { codeForm } from '../validation/two-factor.ts';
import { codeFailureText, twoFactorUnavailable } from './code-answers.ts';

/**
 * Asking for a reset link: an anonymous form like the sign-in's, so its CSRF token needs no
 * session (showing it to a visitor stores nothing; app.ts mounts this before csrfProtection).
 *
 *   GET  /password/forgot   anonymousFormCsrf → mailOn → showForgotForm   (?sent=1: "we have sent a link")
 *   POST /password/forgot   anonymousFormCsrf → mailOn → askForLink
 */
export function forgotPasswordRoutes(deps: AppDeps): Router {
  const on = mailOn(deps);
  const csrf = anonymousFormCsrf(deps.config, deps.clock);
  return Router()
    .use([paths.forgotPassword], noReferrer)
    .get(paths.forgotPassword, csrf, on, showForgotForm(deps))
    .post(paths.forgotPassword, csrf, on, askForLink(deps));
}

/**
 * Password reset by email (README, "Email"). Every page here sends `Referrer-Policy: no-referrer`.
 * The link's token is taken out of the address at once: its GET keeps only the token's row id in
 * a new session and redirects to the token-free /password/reset.
 *
 *   GET  /password/reset/:token    mailOn → openLink         (token → session → /password/reset)
 *   GET  /password/reset           loadReset → showNewPasswordForm   (2FA: the code step first)
 *   POST /password/reset           loadReset → setNewPassword
 *   GET  /password/reset-2fa       loadReset → showResetCode('totp')
 *   POST /password/reset-2fa       loadReset → submitResetCode('totp')
 *   GET  /password/reset-recovery  loadReset → showResetCode('recovery_code')
 *   POST /password/reset-recovery  loadReset → submitResetCode('recovery_code')
 */
export function passwordResetRoutes(deps: AppDeps): Router {
  const on = mailOn(deps);
  const reset = loadReset(deps);
  return Router()
    .use(['/password'], noReferrer)
    .get(paths.passwordReset, reset, showNewPasswordForm)
    .post(paths.passwordReset, reset, setNewPassword(deps))
    .get(paths.passwordResetCode, reset, showResetCode(deps, 'totp'))
    .post(paths.passwordResetCode, reset, submitResetCode(deps, 'totp'))
    .get(paths.passwordResetRecovery, reset, showResetCode(deps, 'recovery_code'))
    .post(paths.passwordResetRecovery, reset, submitResetCode(deps, 'recovery_code'))
    .get(`${paths.passwordResetLink}/:token`, on, openLink(deps));
}

const noReferrer: RequestHandler = (_req, res, next) => {
  res.set('Referrer-Policy', 'no-referrer');
  next();
};

/** In production without SMTP_URL there is no reset by email: the person asks an administrator. */
function mailOn({ config }: AppDeps): RequestHandler {
  return (req, res, next) => {
    if (config.mail.transport === 'off')
      return next(new HttpError(404, req.t.passwordReset.offPage()));
    if (req.user) {
      setFlash(req, 'info', req.t.passwordReset.signedIn());
      return res.redirect(303, paths.password);
    }
    next();
  };
}

function renderForgot(res: Response, status: number, email: string, errors: FieldErrors) {
  res.status(status).render('auth/forgot', { values: { email }, errors, sent: null });
}

function showForgotForm({ config }: AppDeps): RequestHandler {
  return function showForgotForm(req, res) {
    const sent =
      req.query.sent === '1' ? req.t.passwordReset.sent(config.passwordResetTtlMs) : null;
    res.render('auth/forgot', { values: { email: '' }, errors: {}, sent });
  };
}

function askForLink({ db, config, clock }: AppDeps): RequestHandler {
  return async function askForLink(req, res) {
    const typed = (req.body as { email?: unknown } | undefined)?.email;
    const email = typeof typed === 'string' ? typed.slice(0, 254) : '';
    const form = parseForm(forgotPasswordForm, req.body);
    if (!form.ok) return renderForgot(res, 400, email, form.errors);
    // Known or unknown address, the same work and the same answer (see requestPasswordReset).
    const result = await requestPasswordReset(db, {
      email: form.data.email,
      origin: originOf(req),
      now: new Date(clock.now()),
      ttlMs: config.passwordResetTtlMs,
      keys: config.totpKeys,
    });
    if (!result.ok) {
      req.log.info({ event: 'password_reset_throttled' }, 'password reset request refused');
      res.set('Retry-After', '3600');
      return renderForgot(res, 429, email, { email: req.t.passwordReset.throttled() });
    }
    req.log.info({ event: 'password_reset_requested' }, 'password reset requested');
    res.redirect(303, `${paths.forgotPassword}?sent=1`);
  };
}

function openLink({ db, clock }: AppDeps): RequestHandler {
  return async function openLink(req, res) {
    const now = clock.now();
    const link = await findResetLink(db, String(req.params.token), new Date(now));
    if (!link) throw new HttpError(404, req.t.passwordReset.linkPage());
    await startPasswordReset(req, { tokenId: link.tokenId, userId: link.user.id }, now);
    req.log.info(
      { event: 'password_reset_link_opened', userId: link.user.id },
      'reset link opened',
    );
    res.redirect(303, paths.passwordReset);
  };
}

/** Ends a pending reset that can no longer go on, and says why. */
async function stopReset(req: Request, res: Response, notice: string) {
  await resetSession(req);
  setFlash(req, 'info', notice);
  res.redirect(303, paths.forgotPassword);
}

/** The pending reset, if its link still works; it is read again at every step. */
function loadReset({ db, clock }: AppDeps): RequestHandler {
  return async function loadReset(req, res, next) {
    const pending = req.session.passwordReset;
    if (!pending) return stopReset(req, res, req.t.passwordReset.startAgain());
    if (clock.now() - pending.startedAt > PASSWORD_RESET_SESSION_MS)
      return stopReset(req, res, req.t.passwordReset.tookTooLong());
    const link = await findResetLinkById(db, pending.tokenId, new Date(clock.now()));
    if (!link || link.user.id !== pending.userId)
      return stopReset(req, res, req.t.passwordReset.linkNotValid());
    req.pendingUser = link.user;
    // With 2FA on, nothing but the code step until it is done.
    const codeStep =
      req.path === paths.passwordResetCode || req.path === paths.passwordResetRecovery;
    if (link.user.totpEnabledAt && !pending.codeVerified && !codeStep)
      return res.redirect(303, paths.passwordResetCode);
    if (codeStep && (!link.user.totpEnabledAt || pending.codeVerified))
      return res.redirect(303, paths.passwordReset);
    next();
  };
}

function renderNewPassword(res: Response, status: number, errors: FieldErrors) {
  res.status(status).render('auth/reset-password', { errors });
}

const showNewPasswordForm: RequestHandler = (_req, res) => renderNewPassword(res, 200, {});

function setNewPassword({ db, config, clock }: AppDeps): RequestHandler {
  return async function setNewPassword(req, res) {
    const form = parseForm(resetPasswordForm, req.body);
    if (!form.ok) return renderNewPassword(res, 400, form.errors);
    const pending = req.session.passwordReset!;
    const result = await completePasswordReset(db, {
      tokenId: pending.tokenId,
      passwordHash: await hashPassword(form.data.newPassword, config.bcryptCost),
      codeVerified: pending.codeVerified,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    if (!result.ok && result.reason === 'code_needed')
      return res.redirect(303, paths.passwordResetCode);
    if (!result.ok) return stopReset(req, res, req.t.passwordReset.linkNotValid());
    req.log.info({ event: 'password_reset', userId: result.user.id }, 'password reset by email');
    await resetSession(req);
    setFlash(req, 'success', req.t.passwordReset.done());
    res.redirect(303, paths.signIn);
  };
}

function renderResetCode(
  res: Response,
  mode: SecondFactorMethod,
  status: number,
  errors: FieldErrors,
  options: { lockedMessage?: string | null; note?: string | null } = {},
) {
  res.status(status).render('auth/second-factor', {
    mode,
    errors,
    purpose: 'reset',
    lockedMessage: options.lockedMessage ?? null,
    note: options.note ?? null,
  });
}

function showResetCode(_deps: AppDeps, mode: SecondFactorMethod): RequestHandler {
  return (_req, res) => renderResetCode(res, mode, 200, {});
}

/** The code step of a reset: the sign-in's own check, limits and counters (verifySecondFactor). */
function submitResetCode({ db, config, clock }: AppDeps, mode: SecondFactorMethod): RequestHandler {
  return async function submitResetCode(req, res) {
    const form = parseForm(codeForm, req.body);
    if (!form.ok) return renderResetCode(res, mode, 400, form.errors);
    const pending = req.session.passwordReset!;
    const result = await verifySecondFactor(db, {
      user: { id: pending.userId },
      code: form.data.code,
      accept: mode,
      pendingRef: pending.ref,
      during: 'password_reset',
      origin: originOf(req),
      now: new Date(clock.now()),
      keys: config.totpKeys,
      window: config.totpWindow,
    });
    if (result.ok) {
      await markResetCodeVerified(req);
      return res.redirect(303, paths.passwordReset);
    }
    req.log.info(
      {
        event: 'second_factor_failed',
        userId: pending.userId,
        reason: result.reason,
        during: 'password_reset',
      },
      'second factor refused',
    );
    if (result.reason === 'not_enrolled') return res.redirect(303, paths.passwordReset);
    if (result.reason === 'unavailable') throw twoFactorUnavailable(req);
    if (result.reason === 'pending_exhausted')
      return stopReset(req, res, req.t.passwordReset.tooManyWrongCodes());
    const text = codeFailureText(req, result, mode);
    if (result.reason === 'locked')
      return renderResetCode(res, mode, 429, {}, { lockedMessage: text.error });
    renderResetCode(res, mode, 401, { code: text.error }, { note: text.note });
  };
}
