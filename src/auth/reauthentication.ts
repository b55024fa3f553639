import type { Db } from '../db/knex.ts';
import { recordAttempt } from './attempts.ts';
import type { KeyRing } from './encryption.ts';
import { verifyPassword } from './passwords.ts';
import { verifySecondFactor, type SecondFactorResult } from './second-factor.ts';
import type { RequestOrigin } from './sign-in.ts';
import { accountKeyOf, passwordThrottle } from './throttle.ts';
import type { User } from './users.ts';

export type ReauthenticationResult =
  | { ok: true }
  | { ok: false; field: 'password'; throttled?: boolean }
  | { ok: false; field: 'code'; failure: Extract<SecondFactorResult, { ok: false }> };

/**
 * A signed-in person proving again that it is them: the password, then (when 2FA is on) a code
 * from the app or a recovery code. Both kinds of attempt count against the usual limits.
 */
export async function reauthenticate(
  db: Db,
  input: {
    user: User;
    password: string;
    code: string;
    origin: RequestOrigin;
    now: Date;
    keys: KeyRing;
    window: number;
  },
): Promise<ReauthenticationResult> {
  const { user, origin, now } = input;
  const accountKey = accountKeyOf(user.email);
  const verdict = await passwordThrottle(db, { accountKey, ip: origin.ip, now });
  if (!verdict.allowed) return { ok: false, field: 'password', throttled: true };
  const passwordOk = await verifyPassword(input.password, user.passwordHash);
  await recordAttempt(db, {
    kind: 'password',
    userId: user.id,
    accountKey: accountKeyOf(user.email),
    ip: origin.ip,
    succeeded: passwordOk,
    at: now,
  });
  if (!passwordOk) return { ok: false, field: 'password' };
  if (!user.totpEnabledAt) return { ok: true };
  const result = await verifySecondFactor(db, {
    user,
    code: input.code,
    accept: 'either',
    pendingRef: null,
    origin,
    now,
    keys: input.keys,
    window: input.window,
  });
  return result.ok ? { ok: true } : { ok: false, field: 'code', failure: result };
}
