import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { countSignIn } from '../metrics.ts';
import { recordAttemptAndEvent, type AttemptRow } from './attempts.ts';
import { auditEventRow, type AuditEvent } from './audit.ts';
import { NEW_DEVICE_WINDOW_MS } from './limits.ts';
import { outboxRow, type OutboxMail } from './outbox.ts';
import { checkCurrentPassword } from './password-check.ts';
import type { RequestOrigin } from './origin.ts';
import {
  mayTrustBrowser,
  useTrustedBrowser,
  type TrustedBrowserRow,
  type TrustedBrowserRules,
} from './trusted-browsers.ts';
import { toUser, type User, type UserRow } from './users.ts';

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

/** How a completed sign-in's second step went, as the audit event and the metrics name it. */
export type SignInMethod = 'password' | 'totp' | 'recovery_code' | 'trusted_browser';

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
 * the audit event, with the caller's attempt row (if any), a newly trusted browser (if any) and a
 * notice mail (if one is due) in
 * the same INSERT statement.
 */
export async function markSignIn(
  db: Db,
  user: User,
  input: {
    now: Date;
    origin: RequestOrigin;
    method: SignInMethod;
    /**
     * Whether the caller's own UPDATE set users.last_sign_in_at (one statement less): already
     * run, or given as `userUpdate` to run within the statement that records the sign-in.
     */
    lastSignIn: 'set_by_caller' | 'set_here';
    /** The caller's UPDATE of the user row, not yet run (only with `attempt`: a code step). */
    userUpdate?: Knex.QueryBuilder;
    attempt?: AttemptRow;
    /** "Don't ask for a code on this browser" was ticked (only with `attempt`: a code step). */
    trustBrowser?: TrustedBrowserRow;
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
    details: { method: input.method, ...(input.trustBrowser ? { trustedBrowser: true } : {}) },
    at: input.now,
  };
  const trusted = input.trustBrowser ? db('trusted_browsers').insert(input.trustBrowser) : null;
  const mail = input.mail ? db('mail_outbox').insert(outboxRow(input.mail)) : null;
  if (input.attempt)
    await recordAttemptAndEvent(db, input.attempt, event, [input.userUpdate, trusted, mail]);
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

/**
 * A right password on a browser the person trusted (see trusted-browsers.ts): the code step is
 * skipped if the browser's token is theirs and live. The token is checked under the same lock on
 * the account row as codes are, and the account is read fresh under it: a revocation that
 * committed first (password change, 2FA reset, deactivation…) leaves nothing to use, and one that
 * comes after bumps the session generation this sign-in's session is issued under. `user`: as
 * the password step read it (the "since your last visit" facts count from its last sign-in).
 */
export async function completeTrustedBrowserSignIn(
  db: Db,
  input: {
    user: User;
    token: string;
    rules: TrustedBrowserRules;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<{ ok: true; user: User; sinceLastSignIn: SinceLastSignIn } | { ok: false }> {
  const { now, origin } = input;
  return db.transaction(async (trx) => {
    const row = (await trx('users')
      .where({ id: input.user.id })
      .forUpdate()
      .first('*', ...sinceLastSignInColumns(trx, input.user, '', { origin, now }))) as
      (UserRow & Parameters<typeof sinceLastSignInFrom>[0]) | undefined;
    const user = row ? toUser(row) : null;
    if (!user || !mayTrustBrowser(input.rules, user)) return { ok: false } as const;
    // One statement, each write on the one before: the browser's last use (if the token is live),
    // then the last sign-in time, then the audit event (as markSignIn writes them).
    const event = auditEventRow({
      event: 'sign_in',
      userId: user.id,
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { method: 'trusted_browser' },
      at: now,
    });
    const { rows } = await trx.raw<{ rows: unknown[] }>(
      `WITH used AS (?),
            marked AS (UPDATE users SET last_sign_in_at = ? WHERE id = ? AND EXISTS (SELECT 1 FROM used) RETURNING id)
       INSERT INTO audit_events (event, user_id, ip, user_agent, details, created_at)
       SELECT ?, ?, ?, ?, ?::jsonb, ? FROM marked RETURNING id`,
      [
        useTrustedBrowser(trx, { userId: user.id, token: input.token, now }),
        now,
        user.id,
        event.event,
        event.user_id,
        event.ip,
        event.user_agent,
        event.details,
        now,
      ],
    );
    if (rows.length === 0) return { ok: false } as const;
    countSignIn('trusted_browser');
    return { ok: true, user, sinceLastSignIn: sinceLastSignInFrom(row!) } as const;
  });
}

/** How a completed sign-in was authenticated (kept in its session). */
export type SignInFactors = 'password' | 'password_and_code' | 'password_and_trusted_browser';
