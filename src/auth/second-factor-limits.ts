import type { Db } from '../db/knex.ts';
import { ACCOUNT_SECOND_FACTOR_MAX_FAILURES, ACCOUNT_SECOND_FACTOR_WINDOW_MS } from './limits.ts';
import { sinceLastSignInColumns, sinceLastSignInFrom, type SinceLastSignIn } from './sign-in.ts';
import type { RequestOrigin } from './origin.ts';
import type { User } from './users.ts';

/**
 * The failure that locked the account's second step (the 10th since the last success, within the
 * window), if any: the lock lifts one window after it.
 */
function lockingFailure(db: Db, userId: string, now: Date) {
  const since = new Date(now.getTime() - ACCOUNT_SECOND_FACTOR_WINDOW_MS);
  const lastSuccess = db('auth_attempts')
    .where({ user_id: userId, kind: 'second_factor', succeeded: true })
    .max('id');
  return (
    db('auth_attempts')
      .select('created_at')
      .where({ user_id: userId, kind: 'second_factor', succeeded: false })
      .where('created_at', '>', since)
      // "Since the last success" by insertion order: timestamps can tie, ids cannot.
      .where('id', '>', db.raw('coalesce((?), 0)', [lastSuccess]))
      .orderBy('created_at', 'desc')
      .offset(ACCOUNT_SECOND_FACTOR_MAX_FAILURES - 1)
      .limit(1)
  );
}

function lockLiftsAt(failedAt: Date | null | undefined): Date | null {
  return failedAt ? new Date(failedAt.getTime() + ACCOUNT_SECOND_FACTOR_WINDOW_MS) : null;
}

/** When the per-account lock lifts, or null if the second step is not locked. */
export async function secondFactorLockedUntil(
  db: Db,
  userId: string,
  now: Date,
): Promise<Date | null> {
  const rows = (await lockingFailure(db, userId, now)) as { created_at: Date }[];
  return lockLiftsAt(rows[0]?.created_at);
}

export interface Limits {
  pendingFailures: number;
  lockedUntil: Date | null;
  /** Read only when asked for, during sign-in. */
  sinceLastSignIn?: SinceLastSignIn;
}

/**
 * Both limits in one statement (a sign-in's round trips are part of its cost), and with
 * `include: 'notices'` during a sign-in the facts for its notices too. Run under the account's
 * lock, so it sees every earlier attempt.
 */
export async function readLimits(
  trx: Db,
  input: { user: User; pendingRef: string | null; now: Date; origin: RequestOrigin },
  options: { include: 'limits' | 'notices' },
): Promise<Limits> {
  const { user, pendingRef, now } = input;
  const withNotices = options.include === 'notices' && pendingRef !== null;
  const query = trx
    .first({
      pending_failures: pendingRef
        ? trx('auth_attempts').where({ pending_ref: pendingRef, succeeded: false }).count('*')
        : trx.raw('0'),
      locking_failure: lockingFailure(trx, user.id, now),
    })
    .fromRaw('(SELECT 1) AS one');
  if (withNotices) query.select(sinceLastSignInColumns(trx, user, pendingRef, input));
  const row = (await query) as {
    pending_failures: string | number;
    locking_failure: Date | null;
    failed_second_steps?: string | number;
    reset_by_admin?: boolean;
    new_device?: boolean;
  };
  return {
    pendingFailures: Number(row.pending_failures),
    lockedUntil: lockLiftsAt(row.locking_failure),
    ...(withNotices ? { sinceLastSignIn: sinceLastSignInFrom(row) } : {}),
  };
}
