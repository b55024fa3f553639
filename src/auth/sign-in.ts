import type { Db } from '../db/knex.ts';
import { attemptRow, recordAttempt, recordAttemptAndEvent } from './attempts.ts';
import { recordAuditEvent, type AuditEvent } from './audit.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import { accountKeyOf, passwordThrottleAndUser } from './throttle.ts';
import type { User } from './users.ts';

export interface RequestOrigin {
  ip: string;
  userAgent: string | null;
  /** Set when no browser is involved: an operator's command (see command-line.ts). */
  via?: 'command line';
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
  const { verdict, user } = await passwordThrottleAndUser(db, {
    accountKey,
    ip: input.origin.ip,
    now: input.now,
    email: input.email,
  });
  if (!verdict.allowed) return { ok: false, reason: 'throttled', retryAt: verdict.retryAt };

  const passwordOk = user
    ? await verifyPassword(input.password, user.passwordHash)
    : await verifyAgainstDummy(input.password, input.bcryptCost);
  const ok = user !== null && passwordOk && user.isActive;

  const attempt = {
    kind: 'password' as const,
    userId: user?.id ?? null,
    accountKey,
    ip: input.origin.ip,
    succeeded: ok,
    at: input.now,
  };
  if (!ok && user) {
    await recordAttemptAndEvent(db, attemptRow(attempt), {
      event: 'sign_in_failed',
      userId: user.id,
      ip: input.origin.ip,
      userAgent: input.origin.userAgent,
      details: { reason: passwordOk ? 'account_inactive' : 'wrong_password' },
      at: input.now,
    });
  } else {
    await recordAttempt(db, attempt);
  }
  if (!ok) return { ok: false, reason: 'invalid_credentials' };
  return { ok: true, user };
}

/** What happened to an account since its last sign-in that the person should be told about. */
export interface SinceLastSignIn {
  /** Second steps failed after a right password, in other sign-ins than this one (ASVS 6.3.5). */
  failedSecondSteps: number;
  resetByAdmin: boolean;
}

/**
 * The two facts as select columns, so the caller can read them in a statement it runs anyway
 * (a sign-in's database round trips are part of its cost). `pendingRef`: this sign-in's own.
 */
export function sinceLastSignInColumns(db: Db, user: User, pendingRef: string) {
  const since = user.lastSignInAt ?? user.createdAt;
  return [
    db.raw(
      `(SELECT count(*) FROM auth_attempts
         WHERE user_id = ? AND kind = 'second_factor' AND succeeded = false
           AND created_at > ? AND pending_ref IS NOT NULL AND pending_ref <> ?) AS failed_second_steps`,
      [user.id, since, pendingRef],
    ),
    db.raw(
      `EXISTS (SELECT 1 FROM audit_events
         WHERE user_id = ? AND event = 'two_factor_reset_by_admin' AND created_at > ?) AS reset_by_admin`,
      [user.id, since],
    ),
  ];
}

export function sinceLastSignInFrom(row: {
  failed_second_steps?: string | number;
  reset_by_admin?: boolean;
}): SinceLastSignIn {
  return {
    failedSecondSteps: Number(row.failed_second_steps ?? 0),
    resetByAdmin: Boolean(row.reset_by_admin),
  };
}

/**
 * Records a completed sign-in: the last sign-in time (unless the caller's own UPDATE set it) and
 * the audit event, with the caller's attempt row (if any) in the same INSERT statement.
 */
export async function markSignIn(
  db: Db,
  user: User,
  input: {
    now: Date;
    origin: RequestOrigin;
    method: 'password' | 'totp' | 'recovery_code';
    lastSignInSet: boolean;
    attempt?: Record<string, unknown>;
  },
): Promise<void> {
  if (!input.lastSignInSet)
    await db('users').where({ id: user.id }).update({ last_sign_in_at: input.now });
  const event: AuditEvent = {
    event: 'sign_in',
    userId: user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    details: { method: input.method },
    at: input.now,
  };
  if (input.attempt) await recordAttemptAndEvent(db, input.attempt, event);
  else await recordAuditEvent(db, event);
}

/**
 * A sign-in with the password alone (no 2FA): marks it and returns what happened since the last
 * one. (With 2FA, verifySecondFactor marks the sign-in and reads the facts in its own transaction.)
 */
export async function completePasswordSignIn(
  db: Db,
  user: User,
  now: Date,
  origin: RequestOrigin,
): Promise<SinceLastSignIn> {
  const row = (await db
    .first(sinceLastSignInColumns(db, user, ''))
    .fromRaw('(SELECT 1) AS one')) as Parameters<typeof sinceLastSignInFrom>[0];
  await markSignIn(db, user, { now, origin, method: 'password', lastSignInSet: false });
  return sinceLastSignInFrom(row);
}
