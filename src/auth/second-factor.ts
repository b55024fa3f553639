import type { Db } from '../db/knex.ts';
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
import type { RequestOrigin } from './sign-in.ts';
import { clockDriftMinutes, matchingStep, parseTotpCode } from './totp.ts';
import type { User } from './users.ts';

export type SecondFactorMethod = 'totp' | 'recovery_code';

export type SecondFactorResult =
  | { ok: true; method: SecondFactorMethod; recoveryCodesLeft: number | null }
  | {
      ok: false;
      reason: 'invalid_code' | 'pending_exhausted' | 'locked' | 'unavailable';
      /** Minutes the device clock seems off by, when a TOTP code matched a nearby step. */
      driftMinutes?: number | null;
      /** When the per-account lock lifts (reason "locked"). */
      lockedUntil?: Date;
    };

export interface SecondFactorInput {
  user: User;
  /** As typed. */
  code: string;
  /** Which kind the form asked for; "either" accepts both (confirm-it's-you, disabling). */
  accept: SecondFactorMethod | 'either';
  /** The pending sign-in this attempt belongs to, for its own limit; null outside sign-in. */
  pendingRef: string | null;
  origin: RequestOrigin;
  now: Date;
  keys: KeyRing;
  window: number;
}

export function totpAssociatedData(userId: string): string {
  return `totp:${userId}`;
}

/** When the per-account lock lifts, or null if the second step is not locked. */
export async function secondFactorLockedUntil(
  db: Db,
  userId: string,
  now: Date,
): Promise<Date | null> {
  const since = new Date(now.getTime() - ACCOUNT_SECOND_FACTOR_WINDOW_MS);
  const lastSuccess = db('auth_attempts')
    .where({ user_id: userId, kind: 'second_factor', succeeded: true })
    .max('id');
  const row = await db('auth_attempts')
    .where({ user_id: userId, kind: 'second_factor', succeeded: false })
    .where('created_at', '>', since)
    // "Since the last success" by insertion order: timestamps can tie, ids cannot.
    .where('id', '>', db.raw('coalesce((?), 0)', [lastSuccess]))
    .orderBy('created_at', 'desc')
    .offset(ACCOUNT_SECOND_FACTOR_MAX_FAILURES - 1)
    .first('created_at');
  return row ? new Date(row.created_at.getTime() + ACCOUNT_SECOND_FACTOR_WINDOW_MS) : null;
}

async function pendingFailures(db: Db, pendingRef: string): Promise<number> {
  const row = await db('auth_attempts')
    .where({ pending_ref: pendingRef, succeeded: false })
    .count<{ n: string }>('* as n')
    .first();
  return Number(row?.n ?? 0);
}

/**
 * Checks a second factor for `user`. All attempts on one account are serialised by a
 * transaction-scoped advisory lock, so the limits (5 per pending sign-in, 10 per account in
 * 15 minutes) hold exactly under concurrent requests, and every attempt — refused ones included —
 * is recorded in the same transaction. TOTP and recovery codes share the counters.
 */
export async function verifySecondFactor(
  db: Db,
  input: SecondFactorInput,
): Promise<SecondFactorResult> {
  const { user, now, origin } = input;
  const result = await db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(20261124, hashtext(?))', [user.id]);

    const record = async (succeeded: boolean, reason: string | null) => {
      await trx('auth_attempts').insert({
        kind: 'second_factor',
        user_id: user.id,
        ip: origin.ip,
        succeeded,
        reason,
        pending_ref: input.pendingRef,
        created_at: now,
      });
    };

    if (
      input.pendingRef &&
      (await pendingFailures(trx, input.pendingRef)) >= PENDING_MAX_FAILURES
    ) {
      await record(false, 'pending_exhausted');
      return { ok: false, reason: 'pending_exhausted' } as const;
    }
    const lockedUntil = await secondFactorLockedUntil(trx, user.id, now);
    if (lockedUntil) {
      await record(false, 'locked');
      return { ok: false, reason: 'locked', lockedUntil } as const;
    }

    const outcome = await checkCode(trx, input);
    // Our own fault (a key that cannot decrypt), not the person's: not counted against them.
    if (!outcome.ok && outcome.reason === 'unavailable')
      return { ok: false, reason: 'unavailable' } as const;
    await record(outcome.ok, outcome.ok ? null : outcome.reason);
    if (outcome.ok) return outcome;

    // Tell the caller when this failure used up the pending sign-in or locked the account.
    const nowLocked = await secondFactorLockedUntil(trx, user.id, now);
    if (nowLocked) return { ok: false, reason: 'locked', lockedUntil: nowLocked } as const;
    if (
      input.pendingRef &&
      (await pendingFailures(trx, input.pendingRef)) >= PENDING_MAX_FAILURES
    ) {
      return {
        ok: false,
        reason: 'pending_exhausted',
        driftMinutes: outcome.driftMinutes,
      } as const;
    }
    return { ok: false, reason: 'invalid_code', driftMinutes: outcome.driftMinutes } as const;
  });

  await auditOutcome(db, input, result);
  if (result.ok) {
    return {
      ...result,
      recoveryCodesLeft:
        result.method === 'recovery_code' ? await countUnusedRecoveryCodes(db, user.id) : null,
    };
  }
  return result;
}

type CodeOutcome =
  | { ok: true; method: SecondFactorMethod; recoveryCodesLeft: null }
  | { ok: false; reason: 'wrong_code' | 'replayed' | 'malformed'; driftMinutes: number | null }
  | { ok: false; reason: 'unavailable'; driftMinutes: null };

async function checkCode(trx: Db, input: SecondFactorInput): Promise<CodeOutcome> {
  const { user } = input;
  const totpCode = input.accept !== 'recovery_code' ? parseTotpCode(input.code) : null;
  if (totpCode) {
    if (!user.totpSecretEncrypted) return { ok: false, reason: 'wrong_code', driftMinutes: null };
    const secret = decrypt(user.totpSecretEncrypted, input.keys, totpAssociatedData(user.id));
    if (secret === null) return { ok: false, reason: 'unavailable', driftMinutes: null };
    const step = await matchingStep(secret, totpCode, input.now.getTime(), input.window);
    if (step === null) {
      const driftMinutes = await clockDriftMinutes(
        secret,
        totpCode,
        input.now.getTime(),
        input.window,
      );
      return { ok: false, reason: 'wrong_code', driftMinutes };
    }
    // Replay protection (RFC 6238 §5.2): only a step later than the last accepted one, advanced
    // by one conditional UPDATE, so the same code never works twice, even concurrently.
    const advanced = await trx('users')
      .where({ id: user.id })
      .where((q) => q.whereNull('totp_last_used_step').orWhere('totp_last_used_step', '<', step))
      .update({ totp_last_used_step: step })
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
  if (failure.reason === 'unavailable') return;
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
