import type { Db } from '../db/knex.ts';
import { attemptRow, deleteAttempt, insertAttempt } from './attempts.ts';
import { PASSWORD_LIMITS } from './limits.ts';
import {
  COUNTS,
  refusedWhateverInFlight,
  verdictOf,
  type Counts,
  type ThrottleVerdict,
} from './throttle-counts.ts';
import { canonicalEmail, toUser, type User, type UserRow } from './users.ts';

/**
 * Limits on password checks (README, "Security model"; the numbers are in limits.ts). Every
 * password attempt is a row in auth_attempts, keyed by the canonical email as typed, so unknown
 * emails are limited exactly like real accounts and the limits say nothing about who exists.
 */
export { PASSWORD_LIMITS };
export type { ThrottleVerdict };

/** The password limits' key for an email: its canonical form (see users.ts). */
export function accountKeyOf(email: string): string {
  return canonicalEmail(email);
}

export interface PasswordReservation {
  /** The attempt's row: settle it after the bcrypt run (attempts.ts), or it stays a failure. */
  attemptId: string;
  verdict: ThrottleVerdict;
  /** The account, read fresh; null when unknown, and always null when the attempt is refused. */
  user: User | null;
  /** The highest bcrypt cost of any stored hash (for uniform failure times, see passwords.ts). */
  highestStoredCost: number | null;
  /** Failures this account may still have from this address before sign-in is paused. */
  triesLeft: number;
  /** Failures of the account (any IP) in a row before this attempt, in flight ones included. */
  accountFailures: number;
}

/**
 * Reserves a password attempt before any bcrypt run, so that check-and-count is atomic (#47).
 *
 * The attempt is inserted first, as a failure "in flight", under two transaction-scoped advisory
 * locks (its account key, then its IP: always in that order, so they cannot deadlock) held only
 * for that one INSERT. So for any one account or IP, ids are handed out in commit order: every
 * attempt with a smaller id is visible to the count that follows. The count then looks at exactly
 * the attempts before this one, as if they had arrived one by one:
 * - counting every earlier attempt still in flight as a failure, the limits allow it: go ahead;
 * - they refuse it even with no attempt in flight: refused (the row is deleted: it was never
 *   checked, so it is not counted, and it costs no bcrypt);
 * - otherwise the answer depends on how earlier attempts in flight end: wait for them (they settle
 *   within a bcrypt run) and count again.
 * Before, every request read the counts before any wrote its row, and N concurrent guesses were
 * N checks. Now N concurrent attempts get exactly what the limit has left, no more and no fewer.
 *
 * A request that dies between reserving and settling leaves an `in_flight` row: after
 * `inFlightStaleMs` it counts as a failure (failing closed; a crash costs at most one attempt).
 *
 * `account`: an email as typed (sign-in) or a signed-in user (confirm-it's-you, turning 2FA
 * off, changing the password), whose row is read again here. The "known address" exemption and
 * the reset by a success are keyed by user id, so no other spelling of an address can lift or
 * dodge another account's lock (#51).
 */
export async function reservePasswordAttempt(
  db: Db,
  input: { account: { email: string } | { user: User }; ip: string; now: Date },
): Promise<PasswordReservation> {
  const L = PASSWORD_LIMITS;
  const now = input.now.getTime();
  const { account } = input;
  const [match, matchBinding, accountKey] =
    'email' in account
      ? ['users.email_canonical = :match', accountKeyOf(account.email), accountKeyOf(account.email)]
      : ['users.id = :match', account.user.id, account.user.emailCanonical];

  const row = attemptRow({
    kind: 'password',
    userId: 'user' in account ? account.user.id : null,
    accountKey,
    ip: input.ip,
    succeeded: false,
    reason: 'in_flight',
    at: input.now,
  });
  const inserted = await db.raw<{ rows: { id: string }[] }>(
    `INSERT INTO auth_attempts (kind, user_id, account_key, ip, succeeded, reason, created_at)
     SELECT :kind, :user_id, :account_key, :ip, :succeeded, :reason, :created_at
     FROM (SELECT pg_advisory_xact_lock(hashtextextended('keygate:password-account:' || :account_key, 0)),
                  pg_advisory_xact_lock(hashtextextended('keygate:password-ip:' || :ip, 0))) AS serialised
     RETURNING id`,
    { ...row },
  );
  const attemptId = String(inserted.rows[0]!.id);

  const bindings = {
    own: attemptId,
    key: accountKey,
    match: matchBinding,
    ip: input.ip,
    ipSince: new Date(now - L.ipWindowMs),
    pairSince: new Date(now - L.accountIpWindowMs),
    knownSince: new Date(now - L.knownIpMs),
    staleBefore: new Date(now - L.inFlightStaleMs),
  };
  const waitUntil = performance.now() + L.inFlightWaitMs;
  for (;;) {
    const { rows } = await db.raw<{ rows: (Counts & Partial<UserRow>)[] }>(
      `SELECT ${COUNTS}, users.* FROM (SELECT 1) AS one LEFT JOIN users ON ${match}`,
      bindings,
    );
    const counts = rows[0]!;
    const verdict = verdictOf(counts, input.now);
    const undecided =
      !verdict.allowed &&
      Number(counts.in_flight) > 0 &&
      performance.now() < waitUntil &&
      !(await refusedWhateverInFlight(db, bindings, input.now));
    if (undecided) {
      await new Promise((resolve) => setTimeout(resolve, L.inFlightPollMs));
      continue;
    }
    if (!verdict.allowed) await deleteAttempt(db, attemptId);
    return {
      attemptId,
      verdict,
      user: verdict.allowed && counts.id ? toUser(counts as UserRow) : null,
      highestStoredCost: counts.highest_cost === null ? null : Number(counts.highest_cost),
      triesLeft: Math.max(0, L.accountIpFailures - Number(counts.pair_failures) - 1),
      accountFailures: Number(counts.account_failures),
    };
  }
}

/** An admin lifts an account lock: recorded as a success, which ends the run of failures. */
export async function unlockPasswordSignIn(
  db: Db,
  input: { accountKey: string; userId: string; ip: string; now: Date },
): Promise<void> {
  await insertAttempt(db, {
    kind: 'password',
    accountKey: input.accountKey,
    userId: input.userId,
    ip: input.ip,
    succeeded: true,
    reason: 'admin_unlock',
    at: input.now,
  });
}

/**
 * When the lock on the whole account (100 failures in a row) lifts, or null when there is none:
 * what an administrator or the command line is told before unlocking. Reads only.
 */
export async function accountLockedUntil(
  db: Db,
  user: Pick<User, 'id' | 'emailCanonical'>,
  now: Date,
): Promise<Date | null> {
  const L = PASSWORD_LIMITS;
  const { rows } = await db.raw<{ rows: { failures: string; last: Date | null }[] }>(
    `SELECT
       (SELECT count(*) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND NOT succeeded
           AND id > coalesce((SELECT max(id) FROM auth_attempts
                              WHERE kind = 'password' AND user_id = :id AND succeeded), 0)) AS failures,
       (SELECT max(created_at) FROM auth_attempts
         WHERE kind = 'password' AND account_key = :key AND NOT succeeded) AS last`,
    { key: user.emailCanonical, id: user.id },
  );
  const { failures, last } = rows[0]!;
  if (Number(failures) < L.accountFailures || !last) return null;
  const until = last.getTime() + L.accountLockMs;
  return now.getTime() < until ? new Date(until) : null;
}
