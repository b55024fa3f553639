import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { associatedData, decrypt, type KeyRing } from './encryption.ts';
import { consumeRecoveryCode, parseRecoveryCode } from './recovery-codes.ts';
import { clockDriftMinutes, matchingStep, parseTotpCode } from './totp.ts';
import type { User } from './users.ts';

export type SecondFactorMethod = 'totp' | 'recovery_code';

export type CodeOutcome =
  | {
      ok: true;
      method: SecondFactorMethod;
      /**
       * During a sign-in, a right TOTP code's UPDATE (the step advanced, the last sign-in time
       * set) is handed back unrun, for markSignIn to fold into the statement that records the
       * sign-in: it must run in this transaction.
       */
      stepUpdate?: Knex.QueryBuilder;
    }
  | {
      ok: false;
      reason: 'wrong_code' | 'replayed' | 'malformed' | 'already_used';
      driftMinutes: number | null;
    }
  | { ok: false; reason: 'unavailable'; driftMinutes: null };

/**
 * One code against the account, inside the caller's transaction and under its lock on the
 * account row (`user` read under it). During a sign-in (`pendingRef` set), a right TOTP code also
 * sets the last sign-in time, in the UPDATE that advances the last used step, and that UPDATE is
 * returned for the caller to run together with the sign-in's records (one statement, not two).
 */
export async function checkCode(
  trx: Db,
  input: {
    user: User;
    code: string;
    accept: SecondFactorMethod | 'either';
    pendingRef: string | null;
    now: Date;
    keys: KeyRing;
    window: number;
  },
): Promise<CodeOutcome> {
  const { user } = input;
  const totpCode = input.accept !== 'recovery_code' ? parseTotpCode(input.code) : null;
  if (totpCode) {
    if (!user.totpSecretEncrypted) return { ok: false, reason: 'wrong_code', driftMinutes: null };
    const secret = decrypt(
      user.totpSecretEncrypted,
      input.keys,
      associatedData.totpSecret(user.id),
    );
    if (secret === null) return { ok: false, reason: 'unavailable', driftMinutes: null };
    const now = input.now.getTime();
    const step = await matchingStep(secret, totpCode, now, input.window);
    if (step === null) {
      // Only a clock behind: a hint about a future step would make that guess worth keeping.
      const driftMinutes = await clockDriftMinutes(secret, totpCode, now, input.window, {
        look: 'behind_only',
      });
      return { ok: false, reason: 'wrong_code', driftMinutes };
    }
    // Replay protection (RFC 6238 §5.2): only a step later than the last accepted one, advanced
    // by one conditional UPDATE, so the same code never works twice, even concurrently.
    const update = trx('users')
      .where({ id: user.id })
      .where((q) => q.whereNull('totp_last_used_step').orWhere('totp_last_used_step', '<', step))
      .update({
        totp_last_used_step: step,
        ...(input.pendingRef !== null ? { last_sign_in_at: input.now } : {}),
      })
      .returning('id');
    if (input.pendingRef !== null) {
      // The row is locked and was read under the lock, so its last step is exact: a concurrent
      // request with the same code waits for this transaction, then reads the advanced step.
      const last = user.totpLastUsedStep;
      if (last !== null && BigInt(step) <= BigInt(last))
        return { ok: false, reason: 'replayed', driftMinutes: null };
      return { ok: true, method: 'totp', stepUpdate: update };
    }
    const advanced = await update;
    if (advanced.length === 0) return { ok: false, reason: 'replayed', driftMinutes: null };
    return { ok: true, method: 'totp' };
  }
  const recoveryCode = input.accept !== 'totp' ? parseRecoveryCode(input.code) : null;
  if (recoveryCode) {
    const outcome = await consumeRecoveryCode(trx, user.id, recoveryCode, input.now);
    if (outcome === 'used') return { ok: true, method: 'recovery_code' };
    return { ok: false, reason: outcome, driftMinutes: null };
  }
  return { ok: false, reason: 'malformed', driftMinutes: null };
}
