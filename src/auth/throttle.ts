import type { Db } from '../db/knex.ts';
import { toUser, type User, type UserRow } from './users.ts';

/**
 * Limits on the password step (README, "Security model"). Every password attempt is a row in
 * auth_attempts, keyed by the email as typed (lowercased), so unknown emails are limited exactly
 * like real accounts and the limits say nothing about who exists. The checks run before any
 * bcrypt, so a refused attempt costs one indexed query and no hashing.
 */
export const PASSWORD_LIMITS = {
  /** Failures from one IP on one account within the window, before delays start. */
  accountIpFailures: 10,
  accountIpWindowMs: 15 * 60_000,
  /** The delay after the 10th failure, doubling with each further one, capped. */
  firstDelayMs: 60_000,
  maxDelayMs: 15 * 60_000,
  /** Consecutive failures on one account (any IP) that lock it: NIST SP 800-63B-4 caps this at 100. */
  accountFailures: 100,
  accountLockMs: 60 * 60_000,
  /** An IP that signed in to the account successfully within this time is not locked out by it. */
  knownIpMs: 30 * 86_400_000,
  /** Failures from one IP across all accounts within the window (credential stuffing). */
  ipFailures: 100,
  ipWindowMs: 15 * 60_000,
} as const;

export type ThrottleVerdict =
  { allowed: true } | { allowed: false; scope: 'account_ip' | 'account' | 'ip'; retryAt: Date };

export function accountKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

interface Counts {
  ip_failures: string;
  pair_failures: string;
  pair_last: Date | null;
  known_ip: boolean;
  account_failures: string;
  account_last: Date | null;
}

interface ThrottleInput {
  accountKey: string;
  ip: string;
  now: Date;
}

/** Whether a password attempt for `accountKey` from `ip` may be checked now (one statement). */
export async function passwordThrottle(db: Db, input: ThrottleInput): Promise<ThrottleVerdict> {
  const { rows } = await db.raw<{ rows: Counts[] }>(`SELECT ${COUNTS}`, countBindings(input));
  return verdictOf(rows[0]!, input.now);
}

/**
 * The sign-in's first read: the throttle's counts and the user with that email, in one statement.
 * The user row is read even when the attempt is refused; it never leaves this function then.
 */
export async function passwordThrottleAndUser(
  db: Db,
  input: ThrottleInput & { email: string },
): Promise<{ verdict: ThrottleVerdict; user: User | null }> {
  const { rows } = await db.raw<{ rows: (Counts & Partial<UserRow>)[] }>(
    `SELECT ${COUNTS}, users.*
     FROM (SELECT 1) AS one LEFT JOIN users ON lower(users.email) = lower(:email)`,
    { ...countBindings(input), email: input.email },
  );
  const row = rows[0]!;
  const verdict = verdictOf(row, input.now);
  return { verdict, user: verdict.allowed && row.id ? toUser(row as UserRow) : null };
}

function countBindings(input: ThrottleInput) {
  const L = PASSWORD_LIMITS;
  const now = input.now.getTime();
  return {
    ip: input.ip,
    key: input.accountKey,
    ipSince: new Date(now - L.ipWindowMs),
    pairSince: new Date(now - L.accountIpWindowMs),
    knownSince: new Date(now - L.knownIpMs),
  };
}

const COUNTS = `
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND ip = :ip AND NOT succeeded AND created_at > :ipSince) AS ip_failures,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND NOT succeeded AND created_at > :pairSince) AS pair_failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND NOT succeeded AND created_at > :pairSince) AS pair_last,
       EXISTS (SELECT 1 FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND ip = :ip AND succeeded AND reason IS NULL
           AND created_at > :knownSince) AS known_ip,
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND NOT succeeded
           AND id > coalesce((SELECT max(id) FROM auth_attempts
                              WHERE kind = 'password' AND account_key = :key AND succeeded), 0)) AS account_failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND NOT succeeded) AS account_last`;

function verdictOf(counts: Counts, at: Date): ThrottleVerdict {
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

/** An admin lifts an account lock: recorded as a success, which ends the run of failures. */
export async function unlockPasswordSignIn(
  db: Db,
  input: { accountKey: string; userId: string; ip: string; now: Date },
): Promise<void> {
  await db('auth_attempts').insert({
    kind: 'password',
    account_key: input.accountKey,
    user_id: input.userId,
    ip: input.ip,
    succeeded: true,
    reason: 'admin_unlock',
    created_at: input.now,
  });
}
