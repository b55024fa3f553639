import type { Db } from '../db/knex.ts';
import { recordAttempt } from './attempts.ts';
import { recordAuditEvent } from './audit.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import { accountKeyOf, passwordThrottle } from './throttle.ts';
import { findUserByEmail, type User } from './users.ts';

export interface RequestOrigin {
  ip: string;
  userAgent: string | null;
}

export type PasswordCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'throttled'; retryAt: Date };

/**
 * The password step. The attempt limits are checked first, before any bcrypt, so a throttled
 * attempt costs no hashing and says nothing about whether the password was right. Unknown email,
 * wrong password and deactivated account all cost one bcrypt comparison and give the same
 * answer, so neither the page nor its timing says which it was.
 */
export async function checkPassword(
  db: Db,
  input: { email: string; password: string; bcryptCost: number; now: Date; origin: RequestOrigin },
): Promise<PasswordCheck> {
  const accountKey = accountKeyOf(input.email);
  const verdict = await passwordThrottle(db, { accountKey, ip: input.origin.ip, now: input.now });
  if (!verdict.allowed) return { ok: false, reason: 'throttled', retryAt: verdict.retryAt };

  const user = await findUserByEmail(db, input.email);
  const passwordOk = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyAgainstDummy(input.password, input.bcryptCost);
  const ok = user !== null && passwordOk && user.isActive;

  await recordAttempt(db, {
    kind: 'password',
    userId: user?.id ?? null,
    accountKey,
    ip: input.origin.ip,
    succeeded: ok,
    at: input.now,
  });
  if (!ok) {
    if (user) {
      await recordAuditEvent(db, {
        event: 'sign_in_failed',
        userId: user.id,
        ip: input.origin.ip,
        userAgent: input.origin.userAgent,
        details: { reason: passwordOk ? 'account_inactive' : 'wrong_password' },
        at: input.now,
      });
    }
    return { ok: false, reason: 'invalid_credentials' };
  }
  return { ok: true, user };
}

/**
 * Marks a completed sign-in (all factors done) and returns what the person should be told: that
 * someone entered their password but failed the second step since their last visit (ASVS 6.3.5),
 * or that an administrator reset their 2FA.
 */
export async function completeSignIn(
  db: Db,
  user: User,
  input: {
    now: Date;
    origin: RequestOrigin;
    method: 'password' | 'totp' | 'recovery_code';
    pendingRef?: string;
  },
): Promise<string[]> {
  const since = user.lastSignInAt ?? user.createdAt;
  // Both notices in one statement: a sign-in's database round trips are part of its cost.
  const { rows } = await db.raw<{ rows: { failed: string; reset: boolean }[] }>(
    `SELECT
       (SELECT count(*) FROM auth_attempts
         WHERE user_id = :userId AND kind = 'second_factor' AND succeeded = false
           AND created_at > :since AND pending_ref IS NOT NULL AND pending_ref <> :pendingRef) AS failed,
       EXISTS (SELECT 1 FROM audit_events
         WHERE user_id = :userId AND event = 'two_factor_reset_by_admin' AND created_at > :since) AS reset`,
    { userId: user.id, since, pendingRef: input.pendingRef ?? '' },
  );
  const { failed, reset } = rows[0]!;
  await db('users').where({ id: user.id }).update({ last_sign_in_at: input.now });
  await recordAuditEvent(db, {
    event: 'sign_in',
    userId: user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    details: { method: input.method },
    at: input.now,
  });
  const notices: string[] = [];
  const failures = Number(failed);
  if (failures > 0) {
    notices.push(
      `Since your last visit, someone entered your password correctly but failed the second step ${failures === 1 ? 'once' : `${failures} times`}. If that was not you, change your password now.`,
    );
  }
  if (reset)
    notices.push(
      'An administrator reset your two-factor authentication. Turn it on again in your settings.',
    );
  return notices;
}
