import type { Db } from '../db/knex.ts';

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
  await db('auth_attempts').insert({
    kind: attempt.kind,
    user_id: attempt.userId,
    account_key: attempt.accountKey ?? null,
    ip: attempt.ip,
    succeeded: attempt.succeeded,
    created_at: attempt.at,
  });
}
