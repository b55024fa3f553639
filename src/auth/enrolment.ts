/**
 * Turning 2FA on: a new secret is kept (encrypted, bound to the user) in the person's session
 * while they scan it, and a first code from their app confirms it. Only then is anything written:
 * the secret, the step of the confirming code (so it cannot sign in again), fresh recovery codes,
 * the end of the person's other sessions and the audit event, in one transaction.
 */
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { queueMailFor } from './outbox.ts';
import { associatedData, decrypt, encrypt, type KeyRing } from './encryption.ts';
import { ENROLMENT_MAX_FAILURES, ENROLMENT_TIMEOUT_MS } from './limits.ts';
import { makeRecoveryCodes, storeRecoveryCodes } from './recovery-codes.ts';
import { endUserSessions } from './sessions.ts';
import type { RequestOrigin } from './origin.ts';
import { clockDriftMinutes, generateTotpSecret, matchingStep, parseTotpCode } from './totp.ts';

/** An enrolment in progress, as the session keeps it. */
export interface Enrolment {
  secret: string;
  startedAt: number;
  failures: number;
}

export function startEnrolment(userId: string, keys: KeyRing, now: number): Enrolment {
  const secret = generateTotpSecret();
  return {
    secret: encrypt(secret, keys, associatedData.enrolment(userId)),
    startedAt: now,
    failures: 0,
  };
}

/** The secret being enrolled, or null when the enrolment timed out or cannot be read. */
export function enrolmentSecret(
  enrolment: Enrolment,
  userId: string,
  keys: KeyRing,
  now: number,
): string | null {
  if (now - enrolment.startedAt > ENROLMENT_TIMEOUT_MS) return null;
  return decrypt(enrolment.secret, keys, associatedData.enrolment(userId));
}

export type ConfirmEnrolmentResult =
  | { ok: true; recoveryCodes: string[]; generation: number; endedSessions: number }
  | { ok: false; reason: 'already_enabled' }
  /**
   * `malformed`: not a code at all (letters, wrong length). Either way the try counts, and
   * `discarded` says it was the last one: the enrolment must start again with a new secret.
   */
  | {
      ok: false;
      reason: 'wrong_code' | 'malformed';
      failures: number;
      discarded: boolean;
      driftMinutes: number | null;
    };

/**
 * Checks the first code against the secret being enrolled and, when it is right, turns 2FA on.
 * The drift hint is safe here: the secret is not in use yet, so a future code is worth nothing.
 */
export async function confirmEnrolment(
  db: Db,
  input: {
    userId: string;
    secret: string;
    code: string;
    failures: number;
    now: Date;
    window: number;
    keys: KeyRing;
    origin: RequestOrigin;
    /** The session confirming it, which stays signed in; every other one ends. */
    keepSid: string;
  },
): Promise<ConfirmEnrolmentResult> {
  const code = parseTotpCode(input.code);
  const now = input.now.getTime();
  const step = code ? await matchingStep(input.secret, code, now, input.window) : null;
  if (step === null) {
    const failures = input.failures + 1;
    return {
      ok: false,
      reason: code ? 'wrong_code' : 'malformed',
      failures,
      discarded: failures >= ENROLMENT_MAX_FAILURES,
      driftMinutes: code
        ? await clockDriftMinutes(input.secret, code, now, input.window, { look: 'both_ways' })
        : null,
    };
  }
  return enableTwoFactor(db, { ...input, step });
}

/** Turns 2FA on for `userId` with a secret already confirmed by the code of time step `step`. */
export async function enableTwoFactor(
  db: Db,
  input: {
    userId: string;
    secret: string;
    step: number;
    keys: KeyRing;
    now: Date;
    origin: RequestOrigin;
    keepSid?: string;
  },
): Promise<ConfirmEnrolmentResult> {
  const set = await makeRecoveryCodes(input.userId);
  return db.transaction(async (trx) => {
    // Conditional: two concurrent confirmations of one enrolment succeed exactly once.
    const updated = await trx('users')
      .where({ id: input.userId })
      .whereNull('totp_secret_encrypted')
      .update({
        totp_secret_encrypted: encrypt(
          input.secret,
          input.keys,
          associatedData.totpSecret(input.userId),
        ),
        totp_enabled_at: input.now,
        totp_last_used_step: input.step,
        updated_at: input.now,
      })
      .returning('id');
    if (updated.length === 0) return { ok: false, reason: 'already_enabled' } as const;
    await storeRecoveryCodes(trx, input.userId, set);
    const { ended, generation } = await endUserSessions(trx, input.userId, {
      keepSid: input.keepSid,
      reason: 'two_factor_changed',
    });
    await recordAuditEvent(trx, {
      event: 'two_factor_enabled',
      userId: input.userId,
      ...input.origin,
      at: input.now,
    });
    await queueMailFor(trx, {
      kind: 'two_factor_enabled',
      userId: input.userId,
      at: input.now,
      origin: input.origin,
    });
    return { ok: true, recoveryCodes: set.codes, generation, endedSessions: ended } as const;
  });
}
