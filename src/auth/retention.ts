import type { Db } from '../db/knex.ts';

export interface Retention {
  /** Attempt rows are needed for limits (at most 30 days back, for "known addresses"). */
  attemptsMs: number;
  /** Audit events: what people and admins see as history. */
  auditMs: number;
}

export interface PruneReport {
  sessions: number;
  /** Trusted browsers past their expiry (they no longer work; the row is just clutter). */
  trustedBrowsers: number;
  attempts: number;
  audit: number;
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

/** Removes expired sessions and trusted browsers, and attempts and audit events past their retention. */
export async function pruneOldRecords(
  db: Db,
  now: Date,
  retention: Retention,
): Promise<PruneReport> {
  return {
    sessions: await deleteInBatches(db, 'sessions', 'sid', 'expire', now),
    trustedBrowsers: await deleteInBatches(db, 'trusted_browsers', 'id', 'expires_at', now),
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
  };
}
