import type { Db } from '../db/knex.ts';
import { countSignIn } from '../metrics.ts';
import { recordAttemptAndEvent, type AttemptRow } from './attempts.ts';
import { auditEventRow, type AuditEvent } from './audit.ts';
import { NEW_DEVICE_WINDOW_MS } from './limits.ts';
import { outboxRow, type OutboxMail } from './outbox.ts';
import { checkCurrentPassword } from './password-check.ts';
import type { RequestOrigin } from './origin.ts';
import type { User } from './users.ts';

export type PasswordCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials'; triesLeft: number }
  | { ok: false; reason: 'throttled'; retryAt: Date };

/**
 * The password step (see checkCurrentPassword): limits first, atomically, before any bcrypt, so a
 * throttled attempt costs no hashing and says nothing about whether the password was right.
 * Unknown email, wrong password and deactivated account give the same answer in the same time.
 */
export async function checkPassword(
  db: Db,
  input: { email: string; password: string; bcryptCost: number; now: Date; origin: RequestOrigin },
): Promise<PasswordCheck> {
  const result = await checkCurrentPassword(db, {
    account: { email: input.email },
    password: input.password,
    purpose: 'sign_in',
    bcryptCost: input.bcryptCost,
    now: input.now,
    origin: input.origin,
  });
  if (result.ok) return result;
  if (result.reason === 'throttled') return result;
  return { ok: false, reason: 'invalid_credentials', triesLeft: result.triesLeft };
}

/** What happened to an account since its last sign-in that the person should be told about. */
export interface SinceLastSignIn {
  /** Second steps failed after a right password, in other sign-ins than this one (ASVS 6.3.5). */
  failedSecondSteps: number;
  resetByAdmin: boolean;
  /**
   * No sign-in of this account from this IP with this browser (user agent) in the last 30 days,
   * and it has signed in before: a notice mail is due.
   */
  newDevice: boolean;
}

/**
 * The two facts as select columns, so the caller can read them in a statement it runs anyway
 * (a sign-in's database round trips are part of its cost). `pendingRef`: this sign-in's own.
 * The new-device check is one of them, so an ordinary sign-in costs no statement for it.
 */
export function sinceLastSignInColumns(
  db: Db,
  user: User,
  pendingRef: string,
  seen: { origin: RequestOrigin; now: Date },
) {
  const since = user.lastSignInAt ?? user.createdAt;
  return [
    db.raw(
      `(? AND NOT EXISTS (SELECT 1 FROM audit_events
         WHERE user_id = ? AND event = 'sign_in' AND created_at > ? AND ip = ?
           AND user_agent IS NOT DISTINCT FROM ?)) AS new_device`,
      [
        user.lastSignInAt !== null,
        user.id,
        new Date(seen.now.getTime() - NEW_DEVICE_WINDOW_MS),
        seen.origin.ip || null,
        auditEventRow({ event: 'sign_in', userAgent: seen.origin.userAgent }).user_agent,
      ],
    ),
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
  new_device?: boolean;
}): SinceLastSignIn {
  return {
    failedSecondSteps: Number(row.failed_second_steps ?? 0),
    resetByAdmin: Boolean(row.reset_by_admin),
    newDevice: Boolean(row.new_device),
  };
}

/** The notice of a sign-in from a new device, if one is due. */
export function newDeviceMail(
  user: User,
  since: SinceLastSignIn | undefined,
  at: { now: Date; origin: RequestOrigin },
): OutboxMail | undefined {
  if (!since?.newDevice) return undefined;
  return { kind: 'new_device', to: user.email, userId: user.id, at: at.now, origin: at.origin };
}

/**
 * Records a completed sign-in: the last sign-in time (unless the caller's own UPDATE set it) and
 * the audit event, with the caller's attempt row (if any) and a notice mail (if one is due) in
 * the same INSERT statement.
 */
export async function markSignIn(
  db: Db,
  user: User,
  input: {
    now: Date;
    origin: RequestOrigin;
    method: 'password' | 'totp' | 'recovery_code';
    /** Whether the caller's own UPDATE already set users.last_sign_in_at (one statement less). */
    lastSignIn: 'set_by_caller' | 'set_here';
    attempt?: AttemptRow;
    mail?: OutboxMail;
  },
): Promise<void> {
  countSignIn(input.method);
  if (input.lastSignIn === 'set_here')
    await db('users').where({ id: user.id }).update({ last_sign_in_at: input.now });
  const event: AuditEvent = {
    event: 'sign_in',
    userId: user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    details: { method: input.method },
    at: input.now,
  };
  const mail = input.mail ? db('mail_outbox').insert(outboxRow(input.mail)) : null;
  if (input.attempt) await recordAttemptAndEvent(db, input.attempt, event, mail);
  else if (mail)
    await db.raw('WITH mail AS (?) ?', [mail, db('audit_events').insert(auditEventRow(event))]);
  else await db('audit_events').insert(auditEventRow(event));
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
    .first(sinceLastSignInColumns(db, user, '', { origin, now }))
    .fromRaw('(SELECT 1) AS one')) as Parameters<typeof sinceLastSignInFrom>[0];
  const since = sinceLastSignInFrom(row);
  await markSignIn(db, user, {
    now,
    origin,
    method: 'password',
    lastSignIn: 'set_here',
    mail: newDeviceMail(user, since, { now, origin }),
  });
  return since;
}

/** How a completed sign-in was authenticated (kept in its session). */
export type SignInFactors = 'password' | 'password_and_code';
