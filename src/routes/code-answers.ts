/**
 * How a refused code (or password and code) is answered on a page, shared by the sign-in code
 * step, "confirm it's you" and turning 2FA off: the status and the field error.
 */
import type { Request } from 'express';
import { reauthenticate, type ReauthenticationResult } from '../auth/reauthentication.ts';
import type { SecondFactorResult } from '../auth/second-factor.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import type { CodeKind } from '../messages/index.ts';
import { HttpError } from '../middleware/errors.ts';
import type { FieldErrors } from '../validation/forms.ts';

type CodeFailure = Extract<SecondFactorResult, { ok: false }>;

/** Our own fault (a key that cannot decrypt the secret): a 503, never the person's. */
export function twoFactorUnavailable(req: Request): HttpError {
  return new HttpError(503, req.t.secondFactor.unavailable());
}

/** Words for a refused code: the error, and apart from it a neutral note (the clock hint). */
export function codeFailureText(
  req: Request,
  failure: CodeFailure,
  kind: CodeKind,
): { error: string; note: string | null } {
  if (failure.reason === 'locked')
    return {
      error: req.t.secondFactor.locked(failure.lockedUntil!, req.res!.locals.now),
      note: null,
    };
  return {
    error: req.t.secondFactor.wrongCode(kind, {
      alreadyUsed: failure.alreadyUsed,
      triesLeft: failure.triesLeft,
    }),
    note: failure.driftMinutes ? req.t.secondFactor.driftNote(failure.driftMinutes) : null,
  };
}

/** The page answer for a failed "password and code" check (confirm-it's-you, turning 2FA off). */
export function reauthenticationFailure(
  req: Request,
  result: Exclude<ReauthenticationResult, { ok: true }>,
): { status: number; errors: FieldErrors } {
  if (result.field === 'password' && result.throttled) {
    return { status: 429, errors: { password: req.t.reauthentication.throttled() } };
  }
  if (result.field === 'password') {
    return { status: 401, errors: { password: req.t.reauthentication.wrongPassword() } };
  }
  if (result.failure.reason === 'unavailable') throw twoFactorUnavailable(req);
  const text = codeFailureText(req, result.failure, 'either');
  return {
    status: result.failure.reason === 'locked' ? 429 : 401,
    errors: { code: text.note ? `${text.error} ${text.note}` : text.error },
  };
}

/**
 * The signed-in person's password and code, checked again (confirm-it's-you, turning 2FA off):
 * the answer as a page would give it, null when it was them.
 */
export async function reauthenticateFromForm(
  req: Request,
  { db, config }: AppDeps,
  input: { password: string; code: string; now: Date; purpose: 'confirm' | 'turn_off_two_factor' },
): Promise<{ status: number; errors: FieldErrors } | null> {
  const result = await reauthenticate(db, {
    user: currentUser(req),
    password: input.password,
    code: input.code,
    origin: originOf(req),
    now: input.now,
    keys: config.totpKeys,
    window: config.totpWindow,
    bcryptCost: config.bcryptCost,
    purpose: input.purpose,
  });
  return result.ok ? null : reauthenticationFailure(req, result);
}
