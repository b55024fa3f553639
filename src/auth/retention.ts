import type { Db } from '../db/knex.ts';
import { OIDC_LIMITS } from './limits.ts';
import { dropExpiredSigningKeys } from './oidc-keys.ts';
import { MAIL_DELIVERY } from './limits.ts';

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
  /** The OpenID provider's expired codes, tokens, sessions and grants. */
  oidc: number;
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
 * Removes expired sessions (Keygate's and the OpenID provider's, with its codes and tokens), the
 * signing keys nothing valid was signed with any more, expired trusted browsers, attempts and
 * audit events past their retention, old outbox rows (in any state: a mail that could not go out
 * in a week is not worth sending) and expired reset and email-change tokens.
 */
export async function pruneOldRecords(
  db: Db,
  now: Date,
  retention: Retention,
): Promise<PruneReport> {
  await dropExpiredSigningKeys(db, now, OIDC_LIMITS.idTokenSeconds * 1000);
  return {
    sessions: await deleteInBatches(db, 'sessions', 'sid', 'expire', now),
    trustedBrowsers: await deleteInBatches(db, 'trusted_browsers', 'id', 'expires_at', now),
    oidc: await deleteExpiredPayloads(db, now),
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

/** oidc_payloads has a two-column key: batches go by ctid (the row's physical address). */
async function deleteExpiredPayloads(db: Db, now: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await db('oidc_payloads')
      .whereRaw('ctid = ANY (ARRAY(SELECT ctid FROM oidc_payloads WHERE expires_at < ? LIMIT ?))', [
        now,
        BATCH,
      ])
      .delete();
    total += deleted;
    if (deleted < BATCH) return total;
  }
}
