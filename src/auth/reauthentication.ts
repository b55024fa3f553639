import type { Db } from '../db/knex.ts';
import type { KeyRing } from './encryption.ts';
import { checkCurrentPassword } from './password-check.ts';
import { verifySecondFactor, type SecondFactorResult } from './second-factor.ts';
import type { RequestOrigin } from './sign-in.ts';
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
    bcryptCost: number;
  },
): Promise<ReauthenticationResult> {
  const { user, origin, now } = input;
  const check = await checkCurrentPassword(db, {
    account: { user },
    password: input.password,
    purpose: 'reauthentication',
    bcryptCost: input.bcryptCost,
    now,
    origin,
  });
  if (!check.ok && check.reason === 'throttled')
    return { ok: false, field: 'password', throttled: true };
  if (!check.ok) return { ok: false, field: 'password' };
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
