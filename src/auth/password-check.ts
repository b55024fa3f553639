import type { Db } from '../db/knex.ts';
import { settleAttempt } from './attempts.ts';
import { bcryptCostOf, hashPassword, verifyPasswordUniformly } from './passwords.ts';
import type { RequestOrigin } from './origin.ts';
import { PASSWORD_LIMITS, reservePasswordAttempt } from './throttle.ts';
import { queueMail } from './outbox.ts';
import type { User } from './users.ts';
import { countPasswordCheck } from '../metrics.ts';

export type CurrentPasswordCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'throttled'; retryAt: Date }
  | {
      ok: false;
      reason: 'wrong_password' | 'account_inactive' | 'unknown_account';
      /** Failures left before sign-in pauses (counted per address typed, known or not). */
      triesLeft: number;
    };

/**
 * Every password check, as one story: reserve the attempt under the limits (atomically, before any
 * bcrypt: a refused attempt costs no hashing and says nothing about the password), compare, then
 * settle the reservation as a success or a failure (throttle.ts explains why this holds under
 * concurrent requests, #47).
 *
 * `purpose`: at sign-in (`account` is the email as typed) a failure for a real account is audited
 * and a success rehashes a hash made at another bcrypt cost; the other purposes check a signed-in
 * user's current password. Unknown email, wrong password and deactivated account all cost the
 * same and take as long as a failure at the highest cost in use (passwords.ts, #50).
 */
export async function checkCurrentPassword(
  db: Db,
  input: {
    account: { email: string } | { user: User };
    password: string;
    purpose: 'sign_in' | 'reauthentication' | 'password_change';
    bcryptCost: number;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<CurrentPasswordCheck> {
  const { now, origin } = input;
  const reservation = await reservePasswordAttempt(db, {
    account: input.account,
    ip: origin.ip,
    now,
  });
  if (!reservation.verdict.allowed) {
    countPasswordCheck(input.purpose, 'throttled', reservation.verdict.scope);
    return { ok: false, reason: 'throttled', retryAt: reservation.verdict.retryAt };
  }
  const { user } = reservation;
  const passwordOk = await verifyPasswordUniformly(input.password, user?.passwordHash ?? null, {
    configured: input.bcryptCost,
    highestStored: reservation.highestStoredCost,
  });
  const ok = user !== null && passwordOk && user.isActive;
  const reason = ok
    ? null
    : !user
      ? ('unknown_account' as const)
      : passwordOk
        ? ('account_inactive' as const)
        : ('wrong_password' as const);
  const outcome = { succeeded: ok, userId: user?.id ?? null, reason };
  if (!ok && user && input.purpose === 'sign_in') {
    await settleAttempt(db, reservation.attemptId, outcome, {
      event: 'sign_in_failed',
      userId: user.id,
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { reason },
      at: now,
    });
  } else {
    await settleAttempt(db, reservation.attemptId, outcome);
  }
  countPasswordCheck(input.purpose, ok ? 'success' : 'failure');
  // This failure is the one that locks the account (ids are handed out in order, so exactly one
  // attempt sees the failures before it one short of the limit): its owner is told.
  if (
    reason === 'wrong_password' &&
    user &&
    reservation.accountFailures === PASSWORD_LIMITS.accountFailures - 1
  )
    await queueMail(db, {
      kind: 'account_locked',
      to: user.email,
      userId: user.id,
      at: now,
      origin,
      data: { what: 'password' },
    });
  if (!ok) return { ok: false, reason: reason!, triesLeft: reservation.triesLeft };
  if (input.purpose === 'sign_in') await rehashAtConfiguredCost(db, user, input);
  return { ok: true, user };
}

/**
 * After BCRYPT_COST changes, hashes keep the cost they were made with until the password is
 * checked right: then it is hashed again at the configured cost (only if nobody changed it in
 * between), so the database converges on one cost (#50).
 */
async function rehashAtConfiguredCost(
  db: Db,
  user: User,
  input: { password: string; bcryptCost: number; now: Date },
): Promise<void> {
  if (bcryptCostOf(user.passwordHash) === input.bcryptCost) return;
  const passwordHash = await hashPassword(input.password, input.bcryptCost);
  await db('users')
    .where({ id: user.id, password_hash: user.passwordHash })
    .update({ password_hash: passwordHash });
}
