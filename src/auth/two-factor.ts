import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { encrypt, type KeyRing } from './encryption.ts';
import { makeRecoveryCodes, storeRecoveryCodes } from './recovery-codes.ts';
import { totpAssociatedData } from './second-factor.ts';
import type { RequestOrigin } from './sign-in.ts';
import { endUserSessions } from './sessions.ts';

export type EnableResult =
  { ok: true; recoveryCodes: string[] } | { ok: false; reason: 'already_enabled' };

/**
 * Turns 2FA on in one transaction: the encrypted secret, the time step of the confirming code
 * (so that code cannot be used again to sign in), and a fresh set of recovery codes. The
 * conditional UPDATE makes two concurrent confirmations of one enrolment succeed exactly once.
 */
export async function enableTwoFactor(
  db: Db,
  input: {
    userId: string;
    secret: string;
    step: number;
    keys: KeyRing;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<EnableResult> {
  const set = await makeRecoveryCodes(input.userId);
  return db.transaction(async (trx) => {
    const updated = await trx('users')
      .where({ id: input.userId })
      .whereNull('totp_secret_encrypted')
      .update({
        totp_secret_encrypted: encrypt(input.secret, input.keys, totpAssociatedData(input.userId)),
        totp_enabled_at: input.now,
        totp_last_used_step: input.step,
        updated_at: input.now,
      })
      .returning('id');
    if (updated.length === 0) return { ok: false, reason: 'already_enabled' } as const;
    await storeRecoveryCodes(trx, input.userId, set);
    await recordAuditEvent(trx, {
      event: 'two_factor_enabled',
      userId: input.userId,
      ...input.origin,
      at: input.now,
    });
    return { ok: true, recoveryCodes: set.codes } as const;
  });
}

/**
 * Turns 2FA off in one transaction: secret and every recovery code gone, and every other session
 * of the user ended (ASVS 7.4.3). `actorId` is an admin (or, null, the command line) resetting
 * someone else's 2FA.
 */
export async function disableTwoFactor(
  db: Db,
  input: {
    userId: string;
    now: Date;
    origin: RequestOrigin;
    keepSid?: string;
    /** Who reset it: an admin's id, or null for the command line (no user). */
    actorId?: string | null;
    reason?: string;
  },
): Promise<{ generation: number }> {
  return db.transaction(async (trx) => {
    await trx('users').where({ id: input.userId }).update({
      totp_secret_encrypted: null,
      totp_enabled_at: null,
      totp_last_used_step: null,
      updated_at: input.now,
    });
    await trx('recovery_codes').where({ user_id: input.userId }).delete();
    const { generation } = await endUserSessions(trx, input.userId, input.keepSid);
    const byAdmin = input.actorId !== undefined && input.actorId !== input.userId;
    await recordAuditEvent(trx, {
      event: byAdmin ? 'two_factor_reset_by_admin' : 'two_factor_disabled',
      userId: input.userId,
      actorId: input.actorId === undefined ? input.userId : input.actorId,
      ...input.origin,
      details: input.reason ? { reason: input.reason } : {},
      at: input.now,
    });
    return { generation };
  });
}

/** A new set of recovery codes; every old one stops working in the same transaction. */
export async function regenerateRecoveryCodes(
  db: Db,
  input: { userId: string; now: Date; origin: RequestOrigin },
): Promise<string[]> {
  const set = await makeRecoveryCodes(input.userId);
  await db.transaction(async (trx) => {
    await storeRecoveryCodes(trx, input.userId, set);
    await recordAuditEvent(trx, {
      event: 'recovery_codes_regenerated',
      userId: input.userId,
      ...input.origin,
      at: input.now,
    });
  });
  return set.codes;
}
