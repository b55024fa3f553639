import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import type { KeyRing } from './encryption.ts';
import { checkCurrentPassword } from './password-check.ts';
import { verifySecondFactor, type SecondFactorResult } from './second-factor.ts';
import type { RequestOrigin } from './origin.ts';
import type { User } from './users.ts';

export type ReauthenticationResult =
  | { ok: true }
  | { ok: false; field: 'password'; throttled?: boolean }
  | { ok: false; field: 'code'; failure: Extract<SecondFactorResult, { ok: false }> };

/**
 * A signed-in person proving again that it is them: the password, then (when 2FA is on) a code
 * from the app or a recovery code. Both kinds of attempt count against the usual limits.
 * `purpose: 'confirm'` ("confirm it's you") records the success in the person's activity; turning
 * 2FA off records its own event instead.
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
    purpose: 'confirm' | 'turn_off_two_factor';
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
  if (!user.totpEnabledAt) return succeeded(db, input);
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
  return result.ok ? succeeded(db, input) : { ok: false, field: 'code', failure: result };
}

async function succeeded(
  db: Db,
  input: { user: User; origin: RequestOrigin; now: Date; purpose: string },
): Promise<ReauthenticationResult> {
  if (input.purpose === 'confirm')
    await recordAuditEvent(db, {
      event: 'reauthenticated',
      userId: input.user.id,
      ...input.origin,
      at: input.now,
    });
  return { ok: true };
}
