import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { afterPasswordChange } from './after-password.ts';
import type { RequestOrigin } from './origin.ts';

export type TemporaryPasswordResult =
  | { ok: true; generatedPassword: string | null; endedSessions: number }
  | { ok: false; reason: 'not_found' };

/**
 * Gives a user a temporary password, for a person who forgot theirs: typed by the admin, or
 * generated (`password: null`; returned once, to be shown once and never stored). The person must
 * choose their own at the next sign-in (the forced change in middleware/policy.ts), and every
 * session of theirs ends now (and every trusted browser is forgotten), since whoever holds one
 * may be the reason for the reset. One
 * transaction: the hash, the flag, the sessions and the audit row go together or not at all.
 * `actorId` is the admin, or null for the command line (with `origin.via` saying so).
 */
export async function setTemporaryPassword(
  db: Db,
  input: {
    userId: string;
    password: string | null;
    bcryptCost: number;
    actorId: string | null;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<TemporaryPasswordResult> {
  const generatedPassword = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? generatedPassword!, input.bcryptCost);
  return db.transaction(async (trx) => {
    const updated = await trx('users')
      .where({ id: input.userId })
      .update({ password_hash: passwordHash, must_change_password: true, updated_at: input.now })
      .returning(['id', 'email']);
    if (updated.length === 0) return { ok: false, reason: 'not_found' } as const;
    const { ended } = await afterPasswordChange(trx, {
      user: { id: input.userId, email: String(updated[0]!.email) },
      now: input.now,
      origin: input.origin,
      byAdmin: { actorId: input.actorId },
    });
    await recordAuditEvent(trx, {
      event: 'temporary_password_set',
      userId: input.userId,
      actorId: input.actorId,
      ...input.origin,
      details: { generatedPassword: generatedPassword !== null, endedSessions: ended },
      at: input.now,
    });
    return { ok: true, generatedPassword, endedSessions: ended } as const;
  });
}
