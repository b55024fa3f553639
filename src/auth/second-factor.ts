import type { Db } from '../db/knex.ts';
import { countSecondFactor } from '../metrics.ts';
import { attemptRow, type AttemptReason } from './attempts.ts';
import { recordAuditEvent } from './audit.ts';
import { decrypt, type KeyRing } from './encryption.ts';
import {
  ACCOUNT_SECOND_FACTOR_MAX_FAILURES,
  ACCOUNT_SECOND_FACTOR_WINDOW_MS,
  PENDING_MAX_FAILURES,
} from './limits.ts';
import {
  consumeRecoveryCode,
  countUnusedRecoveryCodes,
  parseRecoveryCode,
} from './recovery-codes.ts';
import {
  markSignIn,
  sinceLastSignInColumns,
  sinceLastSignInFrom,
  type RequestOrigin,
  type SinceLastSignIn,
} from './sign-in.ts';
import { clockDriftMinutes, matchingStep, parseTotpCode } from './totp.ts';
import { toUser, type User, type UserRow } from './users.ts';

export type SecondFactorMethod = 'totp' | 'recovery_code';

export type SecondFactorResult =
  | {
      ok: true;
      method: SecondFactorMethod;
      recoveryCodesLeft: number | null;
      /** The account as read under the lock. */
      user: User;
      /** During sign-in: what happened since the last one, for its notices (see sign-in.ts). */
      sinceLastSignIn?: SinceLastSignIn;
    }
  | {
      ok: false;
      /** not_enrolled: under the lock, the account turned out inactive, gone, or without 2FA. */
      reason: 'invalid_code' | 'pending_exhausted' | 'locked' | 'unavailable' | 'not_enrolled';
      /** Minutes the device clock seems off by, when a TOTP code matched a nearby step. */
      driftMinutes?: number | null;
      /** When the per-account lock lifts (reason "locked"). */
      lockedUntil?: Date;
    };

export interface SecondFactorInput {
  /** The account; its row is read again under the lock, and that fresh row is what counts. */
  user: Pick<User, 'id'>;
  /** As typed. */
  code: string;
  /** Which kind the form asked for; "either" accepts both (confirm-it's-you, disabling). */
  accept: SecondFactorMethod | 'either';
  /**
   * The pending sign-in this attempt belongs to, for its own limit; null outside sign-in. With it,
   * a right code also marks the sign-in, in the same transaction (see markSignIn).
   */
  pendingRef: string | null;
  origin: RequestOrigin;
  now: Date;
  keys: KeyRing;
  window: number;
}

export function totpAssociatedData(userId: string): string {
  return `totp:${userId}`;
}

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

interface Limits {
  pendingFailures: number;
  lockedUntil: Date | null;
  /** Read only when asked, during sign-in. */
  sinceLastSignIn?: SinceLastSignIn;
}

/** The input with the account's row as read under the lock. */
type Checked = SecondFactorInput & { user: User };

/**
 * Both limits in one statement (a sign-in's round trips are part of its cost), plus, during
 * sign-in, the facts for its notices. Runs under the account's lock, so it sees every earlier
 * attempt.
 */
async function readLimits(trx: Db, input: Checked, withNotices: boolean): Promise<Limits> {
  const { user, pendingRef, now } = input;
  const query = trx
    .first({
      pending_failures: pendingRef
        ? trx('auth_attempts').where({ pending_ref: pendingRef, succeeded: false }).count('*')
        : trx.raw('0'),
      locking_failure: lockingFailure(trx, user.id, now),
    })
    .fromRaw('(SELECT 1) AS one');
  if (withNotices && pendingRef) query.select(sinceLastSignInColumns(trx, user, pendingRef));
  const row = (await query) as {
    pending_failures: string | number;
    locking_failure: Date | null;
    failed_second_steps?: string | number;
    reset_by_admin?: boolean;
  };
  return {
    pendingFailures: Number(row.pending_failures),
    lockedUntil: lockLiftsAt(row.locking_failure),
    ...(withNotices && pendingRef ? { sinceLastSignIn: sinceLastSignInFrom(row) } : {}),
  };
}

/**
 * Checks a second factor for `user`. All attempts on one account are serialised by locking its
 * row (SELECT … FOR UPDATE, which also reads it fresh), so the limits (5 per pending sign-in,
 * 10 per account in 15 minutes) hold exactly under concurrent requests, and every attempt —
 * refused ones included — is recorded in the same transaction. TOTP and recovery codes share the counters. During
 * sign-in, a right code also marks the sign-in (last sign-in time, audit event) in the same
 * transaction, folded into the statements the check makes anyway.
 */
export async function verifySecondFactor(
  db: Db,
  input: SecondFactorInput,
): Promise<SecondFactorResult> {
  const { now, origin } = input;
  const result = await db.transaction(async (trx) => {
    const row = await trx<UserRow>('users').where({ id: input.user.id }).forUpdate().first();
    const user = row ? toUser(row) : null;
    if (!user || !user.isActive || !user.totpEnabledAt)
      return { ok: false, reason: 'not_enrolled' } as const;
    const checked: Checked = { ...input, user };

    const attempt = (succeeded: boolean, reason: AttemptReason | null) =>
      attemptRow({
        kind: 'second_factor',
        userId: user.id,
        ip: origin.ip,
        succeeded,
        reason,
        pendingRef: input.pendingRef,
        at: now,
      });
    const record = async (succeeded: boolean, reason: AttemptReason | null) => {
      await trx('auth_attempts').insert(attempt(succeeded, reason));
    };

    const limits = await readLimits(trx, checked, true);
    if (input.pendingRef && limits.pendingFailures >= PENDING_MAX_FAILURES) {
      await record(false, 'pending_exhausted');
      return { ok: false, reason: 'pending_exhausted' } as const;
    }
    if (limits.lockedUntil) {
      await record(false, 'locked');
      return { ok: false, reason: 'locked', lockedUntil: limits.lockedUntil } as const;
    }

    const signingIn = input.pendingRef !== null;
    const outcome = await checkCode(trx, checked, signingIn);
    // Our own fault (a key that cannot decrypt), not the person's: not counted against them.
    if (!outcome.ok && outcome.reason === 'unavailable')
      return { ok: false, reason: 'unavailable' } as const;
    if (outcome.ok && signingIn) {
      await markSignIn(trx, user, {
        now,
        origin,
        method: outcome.method,
        // A TOTP code's UPDATE set the time already; a recovery code's did not.
        lastSignInSet: outcome.method === 'totp',
        attempt: attempt(true, null),
      });
      return { ...outcome, user, sinceLastSignIn: limits.sinceLastSignIn };
    }
    await record(outcome.ok, outcome.ok ? null : outcome.reason);
    if (outcome.ok) return { ...outcome, user };

    // Tell the caller when this failure used up the pending sign-in or locked the account.
    const after = await readLimits(trx, checked, false);
    if (after.lockedUntil)
      return { ok: false, reason: 'locked', lockedUntil: after.lockedUntil } as const;
    if (input.pendingRef && after.pendingFailures >= PENDING_MAX_FAILURES) {
      return {
        ok: false,
        reason: 'pending_exhausted',
        driftMinutes: outcome.driftMinutes,
      } as const;
    }
    return { ok: false, reason: 'invalid_code', driftMinutes: outcome.driftMinutes } as const;
  });

  await auditOutcome(db, input, result);
  if (result.ok || (result.reason !== 'unavailable' && result.reason !== 'not_enrolled')) {
    const type = result.ok
      ? result.method
      : input.accept !== 'either'
        ? input.accept
        : parseTotpCode(input.code)
          ? 'totp'
          : 'recovery_code';
    countSecondFactor(
      type,
      result.ok
        ? 'success'
        : result.reason === 'locked' || result.reason === 'pending_exhausted'
          ? result.reason
          : 'failure',
    );
  }
  if (result.ok) {
    return {
      ...result,
      recoveryCodesLeft:
        result.method === 'recovery_code'
          ? await countUnusedRecoveryCodes(db, input.user.id)
          : null,
    };
  }
  return result;
}

type CodeOutcome =
  | { ok: true; method: SecondFactorMethod; recoveryCodesLeft: null }
  | { ok: false; reason: 'wrong_code' | 'replayed' | 'malformed'; driftMinutes: number | null }
  | { ok: false; reason: 'unavailable'; driftMinutes: null };

/**
 * `signingIn`: a right TOTP code also sets the last sign-in time, in the UPDATE that advances
 * the last used step.
 */
async function checkCode(trx: Db, input: Checked, signingIn: boolean): Promise<CodeOutcome> {
  const { user } = input;
  const totpCode = input.accept !== 'recovery_code' ? parseTotpCode(input.code) : null;
  if (totpCode) {
    if (!user.totpSecretEncrypted) return { ok: false, reason: 'wrong_code', driftMinutes: null };
    const secret = decrypt(user.totpSecretEncrypted, input.keys, totpAssociatedData(user.id));
    if (secret === null) return { ok: false, reason: 'unavailable', driftMinutes: null };
    const step = await matchingStep(secret, totpCode, input.now.getTime(), input.window);
    if (step === null) {
      // Only a clock behind: a hint about a future step would make that guess worth keeping.
      const driftMinutes = await clockDriftMinutes(
        secret,
        totpCode,
        input.now.getTime(),
        input.window,
        { look: 'behind_only' },
      );
      return { ok: false, reason: 'wrong_code', driftMinutes };
    }
    // Replay protection (RFC 6238 §5.2): only a step later than the last accepted one, advanced
    // by one conditional UPDATE, so the same code never works twice, even concurrently.
    const advanced = await trx('users')
      .where({ id: user.id })
      .where((q) => q.whereNull('totp_last_used_step').orWhere('totp_last_used_step', '<', step))
      .update({
        totp_last_used_step: step,
        ...(signingIn ? { last_sign_in_at: input.now } : {}),
      })
      .returning('id');
    if (advanced.length === 0) return { ok: false, reason: 'replayed', driftMinutes: null };
    return { ok: true, method: 'totp', recoveryCodesLeft: null };
  }
  const recoveryCode = input.accept !== 'totp' ? parseRecoveryCode(input.code) : null;
  if (recoveryCode) {
    const used = await consumeRecoveryCode(trx, user.id, recoveryCode, input.now);
    return used
      ? { ok: true, method: 'recovery_code', recoveryCodesLeft: null }
      : { ok: false, reason: 'wrong_code', driftMinutes: null };
  }
  return { ok: false, reason: 'malformed', driftMinutes: null };
}

async function auditOutcome(
  db: Db,
  input: SecondFactorInput,
  result: Omit<SecondFactorResult, 'recoveryCodesLeft'> & { ok: boolean },
) {
  const base = {
    userId: input.user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    at: input.now,
  };
  const failure = result as Extract<SecondFactorResult, { ok: false }>;
  if (result.ok) {
    const success = result as Extract<SecondFactorResult, { ok: true }>;
    if (success.method === 'recovery_code')
      await recordAuditEvent(db, { ...base, event: 'recovery_code_used' });
    return;
  }
  if (failure.reason === 'unavailable' || failure.reason === 'not_enrolled') return;
  await recordAuditEvent(db, {
    ...base,
    event: failure.reason === 'locked' ? 'second_factor_locked' : 'second_factor_failed',
    details: { during: input.pendingRef ? 'sign_in' : 'confirmation' },
  });
  if (failure.driftMinutes) {
    await recordAuditEvent(db, {
      ...base,
      event: 'clock_drift_hint',
      details: { minutes: failure.driftMinutes },
    });
  }
}
