import type { Db } from '../db/knex.ts';
import { auditEventRow, type AuditEvent } from './audit.ts';

export type AttemptKind = 'password' | 'second_factor';

export interface Attempt {
  kind: AttemptKind;
  userId: string | null;
  /** lower(email) for password attempts (see throttle.ts). */
  accountKey?: string | null;
  ip: string;
  succeeded: boolean;
  at: Date;
}

/** One row per attempt: inserts are atomic, so concurrent failures are all counted. */
export async function recordAttempt(db: Db, attempt: Attempt): Promise<void> {
  await db('auth_attempts').insert(attemptRow(attempt));
}

export function attemptRow(attempt: Attempt) {
  return {
    kind: attempt.kind,
    user_id: attempt.userId,
    account_key: attempt.accountKey ?? null,
    ip: attempt.ip,
    succeeded: attempt.succeeded,
    created_at: attempt.at,
  };
}

/**
 * An attempt row and an audit event in one INSERT statement: one round trip. The password step
 * uses it so that a wrong password for a real account costs the same statements as one for an
 * unknown email (whose attempt is recorded alone), and its time says nothing about who exists.
 */
export async function recordAttemptAndEvent(
  db: Db,
  attempt: Record<string, unknown>,
  event: AuditEvent,
): Promise<void> {
  await db.raw('WITH attempt AS (?) ?', [
    db('auth_attempts').insert(attempt),
    db('audit_events').insert(auditEventRow(event)),
  ]);
}
