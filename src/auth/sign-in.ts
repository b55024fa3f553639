import type { Db } from '../db/knex.ts';
import { recordAttempt } from './attempts.ts';
import { recordAuditEvent } from './audit.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import { findUserByEmail, type User } from './users.ts';

export interface RequestOrigin {
  ip: string;
  userAgent: string | null;
}

export type PasswordCheck = { ok: true; user: User } | { ok: false; reason: 'invalid_credentials' };

/**
 * The password step. Unknown email, wrong password and deactivated account all cost one bcrypt
 * comparison and give the same answer, so neither the page nor its timing says which it was.
 */
export async function checkPassword(
  db: Db,
  input: { email: string; password: string; bcryptCost: number; now: Date; origin: RequestOrigin },
): Promise<PasswordCheck> {
  const user = await findUserByEmail(db, input.email);
  const passwordOk = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyAgainstDummy(input.password, input.bcryptCost);
  const ok = user !== null && passwordOk && user.isActive;

  await recordAttempt(db, {
    kind: 'password',
    userId: user?.id ?? null,
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

/** Marks a completed sign-in (all factors done). */
export async function completeSignIn(
  db: Db,
  user: User,
  input: { now: Date; origin: RequestOrigin; method: 'password' | 'totp' | 'recovery_code' },
): Promise<void> {
  await db('users').where({ id: user.id }).update({ last_sign_in_at: input.now });
  await recordAuditEvent(db, {
    event: 'sign_in',
    userId: user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    details: { method: input.method },
    at: input.now,
  });
}
