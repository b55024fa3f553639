/**
 * What the password limits count in auth_attempts, and the verdict on those counts
 * (reservePasswordAttempt in throttle.ts runs them; the numbers are in limits.ts).
 */
import type { Db } from '../db/knex.ts';
import { PASSWORD_LIMITS } from './limits.ts';

export type ThrottleVerdict =
  { allowed: true } | { allowed: false; scope: 'account_ip' | 'account' | 'ip'; retryAt: Date };

export interface Counts {
  ip_failures: string;
  pair_failures: string;
  pair_last: Date | null;
  known_ip: boolean;
  account_failures: string;
  account_last: Date | null;
  in_flight: string;
  highest_cost: string | null;
}

/**
 * Whether the per-address limits (account and IP, and IP alone) refuse this attempt on the
 * settled attempts alone. Attempts still in flight can only add failures to those counts (a
 * success resets neither), so then no outcome of theirs can let this one in, and waiting for
 * them would only poll: fifty guesses sent at once at a paused address are refused at once
 * instead of each polling for up to inFlightWaitMs. (The account-wide lock is not decided here:
 * an earlier success in flight can lift it.)
 */
export async function refusedWhateverInFlight(
  db: Db,
  bindings: Record<string, unknown>,
  at: Date,
): Promise<boolean> {
  const { rows } = await db.raw<{ rows: Counts[] }>(
    `SELECT
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND ip = :ip AND ${FAILED} AND ${SETTLED} AND created_at > :ipSince
           AND id < :own) AS ip_failures,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND ${FAILED} AND ${SETTLED}
           AND created_at > :pairSince AND id < :own) AS pair_failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND ${FAILED} AND ${SETTLED}
           AND created_at > :pairSince AND id < :own) AS pair_last`,
    bindings,
  );
  const settled = rows[0]!;
  return !verdictOf(
    {
      ...settled,
      account_failures: '0',
      account_last: null,
      known_ip: false,
      in_flight: '0',
      highest_cost: null,
    },
    at,
  ).allowed;
}

// Every count looks only at attempts before this one (id < :own), and counts those still in
// flight as failures; in_flight says how many of them might still turn out otherwise.
const FAILED = `NOT succeeded`;
const PENDING = `reason = 'in_flight' AND created_at > :staleBefore`;
/** Decided: not in flight, or in flight so long that it counts as a failure (its request died). */
const SETTLED = `(reason IS DISTINCT FROM 'in_flight' OR created_at <= :staleBefore)`;
export const COUNTS = `
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND ip = :ip AND ${FAILED} AND created_at > :ipSince
           AND id < :own) AS ip_failures,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND ${FAILED}
           AND created_at > :pairSince AND id < :own) AS pair_failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND ${FAILED}
           AND created_at > :pairSince AND id < :own) AS pair_last,
       EXISTS (SELECT 1 FROM auth_attempts
         WHERE kind = 'password' AND user_id = users.id AND ip = :ip AND succeeded
           AND reason IS NULL AND created_at > :knownSince) AS known_ip,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ${FAILED} AND id < :own
           AND id > coalesce((SELECT max(id) FROM auth_attempts
                              WHERE kind = 'password' AND user_id = users.id AND succeeded), 0)) AS account_failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ${FAILED} AND id < :own) AS account_last,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND (account_key = :key OR ip = :ip) AND ${PENDING}
           AND id < :own) AS in_flight,
       (SELECT max(substr(password_hash, 5, 2)) FROM users) AS highest_cost`;

export function verdictOf(counts: Counts, at: Date): ThrottleVerdict {
  const L = PASSWORD_LIMITS;
  const now = at.getTime();

  const pairFailures = Number(counts.pair_failures);
  if (pairFailures >= L.accountIpFailures && counts.pair_last) {
    const delay = Math.min(
      L.firstDelayMs * 2 ** (pairFailures - L.accountIpFailures),
      L.maxDelayMs,
    );
    const retryAt = counts.pair_last.getTime() + delay;
    if (now < retryAt) return { allowed: false, scope: 'account_ip', retryAt: new Date(retryAt) };
  }
  // A lock on the whole account must not let an attacker keep its owner out (ASVS 6.3.1): an IP
  // the owner recently signed in from is exempt (it still has the per-IP limit above).
  if (
    Number(counts.account_failures) >= L.accountFailures &&
    counts.account_last &&
    !counts.known_ip
  ) {
    const retryAt = counts.account_last.getTime() + L.accountLockMs;
    if (now < retryAt) return { allowed: false, scope: 'account', retryAt: new Date(retryAt) };
  }
  if (Number(counts.ip_failures) >= L.ipFailures) {
    return { allowed: false, scope: 'ip', retryAt: new Date(now + L.ipWindowMs) };
  }
  return { allowed: true };
}
