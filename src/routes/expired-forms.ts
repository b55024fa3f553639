import type { ErrorRequestHandler } from 'express';
import type { SecondFactorMethod } from '../auth/second-factor.ts';
import { paths } from '../paths.ts';
import { safeReturnPath } from '../validation/forms.ts';

/**
 * A sign-in form left open longer than its session lives (10 minutes for a visitor) comes back
 * with a token that no longer matches. Nothing was checked, so nothing is lost by asking again:
 * the same form comes back with a fresh token, the email kept and one calm line, instead of an
 * error page. (Login CSRF gains nothing: the posted credentials are never looked at.) Other
 * forms, and anything that is not a readable form, get the error page as before.
 *
 *   POST /login            (expired token) → the sign-in form again
 *   POST /login/2fa        (expired token, sign-in still pending) → the code form again
 *   POST /login/recovery   (expired token, sign-in still pending) → the recovery form again
 */
export const recoverExpiredSignInForms: ErrorRequestHandler = (error, req, res, next) => {
  if ((error as { code?: string }).code !== 'EBADCSRFTOKEN' || req.method !== 'POST' || req.user)
    return next(error);
  const body = req.body as Record<string, unknown> | undefined;
  // csurf made the token function before it refused the old token: the new form gets a new one.
  res.locals.csrfToken = () => req.csrfToken();
  if (req.path === paths.signIn && typeof body?.email === 'string') {
    const returnTo = safeReturnPath(body.next);
    return res.status(403).render('auth/login', {
      values: { email: body.email.slice(0, 254), next: returnTo === paths.home ? '' : returnTo },
      errors: {},
      notice: req.t.signIn.formWasOpen(),
    });
  }
  const mode: SecondFactorMethod | null =
    req.path === paths.signInCode
      ? 'totp'
      : req.path === paths.signInRecoveryCode
        ? 'recovery_code'
        : null;
  // Without a pending sign-in there is no code form to show again: the error page says so.
  if (!mode || !body || !req.session.pending) return next(error);
  res.status(403).render('auth/second-factor', {
    mode,
    errors: {},
    lockedMessage: null,
    notice: req.t.signIn.codeFormWasOpen(),
  });
};
