import type { Db } from '../db/knex.ts';
import { countSecondFactor } from '../metrics.ts';
import { attemptRow, type AttemptReason } from './attempts.ts';
import { recordAuditEvent } from './audit.ts';
import { checkCode, type SecondFactorMethod } from './code-check.ts';
import type { KeyRing } from './encryption.ts';
import { PENDING_MAX_FAILURES, WRONG_SECOND_FACTOR_MAIL_INTERVAL_MS } from './limits.ts';
import { queueMail, queueMailUnlessRecent } from './outbox.ts';
import { countUnusedRecoveryCodes } from './recovery-codes.ts';
import type { RequestOrigin } from './origin.ts';
import { readLimits } from './second-factor-limits.ts';
import { markSignIn, newDeviceMail, type SinceLastSignIn } from './sign-in.ts';
import { parseTotpCode } from './totp.ts';
import {
  mayTrustBrowser,
  type TrustedBrowserRow,
  type TrustedBrowserRules,
} from './trusted-browsers.ts';
import { toUser, type User, type UserRow } from './users.ts';

export type { SecondFactorMethod } from './code-check.ts';
export { secondFactorLockedUntil } from './second-factor-limits.ts';

export type SecondFactorResult =
  | {
      ok: true;
      method: SecondFactorMethod;
      /** The account as read under the lock. */
      user: User;
      /** During sign-in: what happened since the last one, for its notices (see sign-in.ts). */
      sinceLastSignIn?: SinceLastSignIn;
      /** The browser asked to be trusted, and was (its row is stored): set its cookie. */
      trustedBrowser?: boolean;
    }
  | {
      ok: false;
      /** not_enrolled: under the lock, the account turned out inactive, gone, or without 2FA. */
      reason: 'invalid_code' | 'pending_exhausted' | 'locked' | 'unavailable' | 'not_enrolled';
      /** Minutes the device clock seems behind by, when a TOTP code matched an earlier step. */
      driftMinutes?: number | null;
      /** A recovery code of this account that was used before. */
      alreadyUsed?: boolean;
      /** Codes this pending sign-in may still try (reason "invalid_code" during sign-in). */
      triesLeft?: number;
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
  /**
   * What the pending step is for (with `pendingRef`): a sign-in (the default), or a password
   * reset by email, whose code step has the same limits and counters but signs nobody in.
   */
  during?: 'sign_in' | 'password_reset';
  origin: RequestOrigin;
  now: Date;
  keys: KeyRing;
  window: number;
  /**
   * During sign-in, "don't ask for a code on this browser" was ticked: the row to store with the
   * sign-in if the account, as read under the lock, may trust browsers under `rules`.
   */
  trustBrowser?: { row: TrustedBrowserRow; rules: TrustedBrowserRules };
}

/**
 * Checks a second factor for `user`. All attempts on one account are serialised by locking its
 * row (SELECT … FOR UPDATE, which also reads it fresh), so the limits (5 per pending sign-in,
 * 10 per account in 15 minutes) hold exactly under concurrent requests, and every attempt —
 * refused ones included — is recorded in the same transaction. TOTP and recovery codes share the
 * counters. During sign-in, a right code also marks the sign-in (last sign-in time, audit event)
 * in the same transaction, folded into the statements the check makes anyway.
 */
export async function verifySecondFactor(
  db: Db,
  input: SecondFactorInput,
): Promise<SecondFactorResult> {
  const { now, origin } = input;
  const result = await db.transaction(async (trx): Promise<SecondFactorResult> => {
    const row = await trx<UserRow>('users').where({ id: input.user.id }).forUpdate().first();
    const user = row ? toUser(row) : null;
    if (!user || !user.isActive || !user.totpEnabledAt)
      return { ok: false, reason: 'not_enrolled' };
    const checked = { ...input, user };
    const signingIn = input.pendingRef !== null && (input.during ?? 'sign_in') === 'sign_in';

    const mailTo = (account: User) => ({
      to: account.email,
      userId: account.id,
      at: now,
      origin,
    });
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

    const limits = await readLimits(trx, checked, { include: signingIn ? 'notices' : 'limits' });
    if (input.pendingRef && limits.pendingFailures >= PENDING_MAX_FAILURES) {
      await record(false, 'pending_exhausted');
      return { ok: false, reason: 'pending_exhausted' };
    }
    if (limits.lockedUntil) {
      await record(false, 'locked');
      return { ok: false, reason: 'locked', lockedUntil: limits.lockedUntil };
    }

    // Only a sign-in's code sets the last sign-in time (see checkCode).
    const outcome = await checkCode(trx, {
      ...checked,
      pendingRef: signingIn ? input.pendingRef : null,
    });
    // Our own fault (a key that cannot decrypt), not the person's: not counted against them.
    if (!outcome.ok && outcome.reason === 'unavailable')
      return { ok: false, reason: 'unavailable' };
    if (outcome.ok && outcome.method === 'recovery_code') {
      const left = await countUnusedRecoveryCodes(trx, user.id);
      await queueMail(trx, { ...mailTo(user), kind: 'recovery_code_used', data: { left } });
    }
    if (outcome.ok && signingIn) {
      const trust = input.trustBrowser;
      const trustBrowser = trust && mayTrustBrowser(trust.rules, user) ? trust.row : undefined;
      await markSignIn(trx, user, {
        now,
        origin,
        method: outcome.method,
        // A TOTP code's UPDATE set the time already (see checkCode); a recovery code's did not.
        lastSignIn: outcome.method === 'totp' ? 'set_by_caller' : 'set_here',
        ...(outcome.stepUpdate ? { userUpdate: outcome.stepUpdate } : {}),
        attempt: attempt(true, null),
        ...(trustBrowser ? { trustBrowser } : {}),
        mail: newDeviceMail(user, limits.sinceLastSignIn, { now, origin }),
      });
      return {
        ...outcome,
        user,
        sinceLastSignIn: limits.sinceLastSignIn,
        ...(trustBrowser ? { trustedBrowser: true } : {}),
      };
    }
    await record(outcome.ok, outcome.ok ? null : outcome.reason);
    if (outcome.ok) return { ...outcome, user };

    // Password right, code wrong (ASVS 6.3.5): a mail, at most one an hour (under the row lock).
    if (signingIn)
      await queueMailUnlessRecent(
        trx,
        { ...mailTo(user), kind: 'wrong_second_factor' },
        WRONG_SECOND_FACTOR_MAIL_INTERVAL_MS,
      );
    // Tell the caller when this failure used up the pending sign-in or locked the account.
    const after = await readLimits(trx, checked, { include: 'limits' });
    if (after.lockedUntil) {
      // This failure locked it (a locked account's attempts are refused before the check).
      await queueMail(trx, {
        ...mailTo(user),
        kind: 'account_locked',
        data: { what: 'second_factor' },
      });
      return { ok: false, reason: 'locked', lockedUntil: after.lockedUntil };
    }
    const driftMinutes = outcome.driftMinutes;
    if (input.pendingRef && after.pendingFailures >= PENDING_MAX_FAILURES)
      return { ok: false, reason: 'pending_exhausted', driftMinutes };
    return {
      ok: false,
      reason: 'invalid_code',
      driftMinutes,
      ...(outcome.reason === 'already_used' ? { alreadyUsed: true } : {}),
      ...(input.pendingRef ? { triesLeft: PENDING_MAX_FAILURES - after.pendingFailures } : {}),
    };
  });

  await auditOutcome(db, input, result);
  count(input, result);
  return result;
}

function count(input: SecondFactorInput, result: SecondFactorResult) {
  if (!result.ok && (result.reason === 'unavailable' || result.reason === 'not_enrolled')) return;
  const type = result.ok
    ? result.method
    : input.accept !== 'either'
      ? input.accept
      : parseTotpCode(input.code)
        ? 'totp'
        : 'recovery_code';
  const outcome = result.ok
    ? 'success'
    : result.reason === 'locked' || result.reason === 'pending_exhausted'
      ? result.reason
      : 'failure';
  countSecondFactor(type, outcome);
}

async function auditOutcome(db: Db, input: SecondFactorInput, result: SecondFactorResult) {
  const base = {
    userId: input.user.id,
    ip: input.origin.ip,
    userAgent: input.origin.userAgent,
    at: input.now,
  };
  if (result.ok) {
    if (result.method === 'recovery_code')
      await recordAuditEvent(db, { ...base, event: 'recovery_code_used' });
    return;
  }
  if (result.reason === 'unavailable' || result.reason === 'not_enrolled') return;
  await recordAuditEvent(db, {
    ...base,
    event: result.reason === 'locked' ? 'second_factor_locked' : 'second_factor_failed',
    details: { during: input.pendingRef ? (input.during ?? 'sign_in') : 'confirmation' },
  });
  if (result.driftMinutes) {
    await recordAuditEvent(db, {
      ...base,
      event: 'clock_drift_hint',
      details: { minutes: result.driftMinutes },
    });
  }
}
