import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { auditEventRow, type AuditEvent } from './audit.ts';

export type AttemptKind = 'password' | 'second_factor';

/**
 * Why an attempt failed, or that it is still being checked. `in_flight`: a password attempt
 * reserved before its bcrypt run (see throttle.ts); it counts as a failure until it is settled,
 * and one left by a crashed request stays one.
 */
export type AttemptReason =
  | 'in_flight'
  | 'wrong_password'
  | 'account_inactive'
  | 'unknown_account'
  | 'admin_unlock'
  | 'wrong_code'
  | 'replayed'
  | 'already_used'
  | 'malformed'
  | 'pending_exhausted'
  | 'locked';

export interface Attempt {
  kind: AttemptKind;
  userId: string | null;
  /** The canonical email, for password attempts (see throttle.ts). */
  accountKey?: string | null;
  ip: string;
  succeeded: boolean;
  reason?: AttemptReason | null;
  /** The pending sign-in a second-factor attempt belongs to. */
  pendingRef?: string | null;
  at: Date;
}

/** A row of auth_attempts as written: the one place attempt rows are built. */
export interface AttemptRow {
  kind: AttemptKind;
  user_id: string | null;
  account_key: string | null;
  ip: string;
  succeeded: boolean;
  reason: AttemptReason | null;
  pending_ref: string | null;
  created_at: Date;
}

export function attemptRow(attempt: Attempt): AttemptRow {
  return {
    kind: attempt.kind,
    user_id: attempt.userId,
    account_key: attempt.accountKey ?? null,
    ip: attempt.ip,
    succeeded: attempt.succeeded,
    reason: attempt.reason ?? null,
    pending_ref: attempt.pendingRef ?? null,
    created_at: attempt.at,
  };
}

/** Inserts an attempt (one row each: inserts are atomic, so concurrent ones all count). */
export async function insertAttempt(db: Db, attempt: Attempt): Promise<string> {
  const [row] = (await db('auth_attempts').insert(attemptRow(attempt)).returning('id')) as {
    id: string;
  }[];
  return String(row!.id);
}

export async function deleteAttempt(db: Db, id: string): Promise<void> {
  await db('auth_attempts').where({ id }).delete();
}

/**
 * Settles a reserved password attempt as a success or a failure, with an audit event (if any) in
 * the same statement: one round trip, so a wrong password for a real account (which has an
 * event) costs the same statements as one for an unknown email (which has none), and its time
 * says nothing about who exists.
 */
export async function settleAttempt(
  db: Db,
  id: string,
  outcome: { succeeded: boolean; userId: string | null; reason: AttemptReason | null },
  event?: AuditEvent,
): Promise<void> {
  const update = db('auth_attempts').where({ id }).update({
    succeeded: outcome.succeeded,
    user_id: outcome.userId,
    reason: outcome.reason,
  });
  if (!event) return void (await update);
  await db.raw('WITH settled AS (?) ?', [update, db('audit_events').insert(auditEventRow(event))]);
}

/**
 * An attempt row and an audit event in one INSERT statement: one round trip. `more`: further
 * writes of the same moment (a TOTP step's UPDATE, a trusted browser, an outbox row; see
 * markSignIn), folded into the same statement as data-modifying CTEs.
 */
export async function recordAttemptAndEvent(
  db: Db,
  attempt: AttemptRow,
  event: AuditEvent,
  more: (Knex.QueryBuilder | null | undefined)[] = [],
): Promise<void> {
  // Each further write is one more CTE of the same statement (still one round trip).
  const extras = more.filter((q): q is Knex.QueryBuilder => !!q);
  const ctes = ['attempt AS (?)', ...extras.map((_q, i) => `extra${i} AS (?)`)].join(', ');
  await db.raw(`WITH ${ctes} ?`, [
    db('auth_attempts').insert(attempt),
    ...extras,
    db('audit_events').insert(auditEventRow(event)),
  ]);
}
