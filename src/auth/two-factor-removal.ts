import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { queueMailFor } from './outbox.ts';
import { endUserSessions } from './sessions.ts';
import { forgetTrustedBrowsers } from './trusted-browsers.ts';
import type { RequestOrigin } from './origin.ts';

/**
 * Turns 2FA off in one transaction: secret and every recovery code gone, and every other session
 * of the user ended (ASVS 7.4.3), every trusted browser forgotten. With `actorId` other than the user, an administrator (or, null,
 * the command line) is resetting someone else's 2FA, and `reason` is kept with the audit event.
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
    const { generation } = await endUserSessions(trx, input.userId, {
      ...(input.keepSid ? { keepSid: input.keepSid } : {}),
      reason: 'two_factor_changed',
    });
    await forgetTrustedBrowsers(trx, input.userId);
    const byAdmin = input.actorId !== undefined && input.actorId !== input.userId;
    await recordAuditEvent(trx, {
      event: byAdmin ? 'two_factor_reset_by_admin' : 'two_factor_disabled',
      userId: input.userId,
      actorId: input.actorId === undefined ? input.userId : input.actorId,
      ...input.origin,
      details: input.reason ? { reason: input.reason } : {},
      at: input.now,
    });
    await queueMailFor(trx, {
      kind: byAdmin ? 'two_factor_reset_by_admin' : 'two_factor_disabled',
      userId: input.userId,
      at: input.now,
      origin: input.origin,
    });
    return { generation };
  });
}
