import type { Db } from '../db/knex.ts';
import { MAIL_DELIVERY } from './limits.ts';

export interface Retention {
  /** Attempt rows are needed for limits (at most 30 days back, for "known addresses"). */
  attemptsMs: number;
  /** Audit events: what people and admins see as history. */
  auditMs: number;
}

export interface PruneReport {
  sessions: number;
  attempts: number;
  audit: number;
  /** Outbox rows past MAIL_DELIVERY.retentionMs, and expired reset and email-change tokens. */
  mail: number;
}

const BATCH = 5000;

/** Deletes in batches (by primary key) so a large backlog never holds long locks. */
async function deleteInBatches(
  db: Db,
  table: string,
  key: string,
  column: string,
  before: Date,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await db(table)
      .whereIn(key, db(table).select(key).where(column, '<', before).limit(BATCH))
      .delete();
    total += deleted;
    if (deleted < BATCH) return total;
  }
}

/**
 * Removes expired sessions, attempts and audit events past their retention, old outbox rows (in
 * any state: a mail that could not go out in a week is not worth sending) and expired tokens.
 */
export async function pruneOldRecords(
  db: Db,
  now: Date,
  retention: Retention,
): Promise<PruneReport> {
  return {
    sessions: await deleteInBatches(db, 'sessions', 'sid', 'expire', now),
    attempts: await deleteInBatches(
      db,
      'auth_attempts',
      'id',
      'created_at',
      new Date(now.getTime() - retention.attemptsMs),
    ),
    audit: await deleteInBatches(
      db,
      'audit_events',
      'id',
      'created_at',
      new Date(now.getTime() - retention.auditMs),
    ),
    mail:
      (await deleteInBatches(
        db,
        'mail_outbox',
        'id',
        'created_at',
        new Date(now.getTime() - MAIL_DELIVERY.retentionMs),
      )) +
      (await deleteInBatches(db, 'password_reset_tokens', 'id', 'expires_at', now)) +
      (await deleteInBatches(db, 'email_change_tokens', 'id', 'expires_at', now)),
  };
}
