import type { Db } from '../db/knex.ts';
import { checkCurrentPassword } from './password-check.ts';
import { afterPasswordChange } from './after-password.ts';
import { hashPassword } from './passwords.ts';
import type { RequestOrigin } from './origin.ts';
import type { User } from './users.ts';

export type ChangePasswordResult =
  | { ok: true; endedSessions: number; generation: number }
  | { ok: false; reason: 'wrong_current_password' | 'throttled' };

/**
 * Changes a password after checking the current one (ASVS 6.2.3), clears a "must change" flag,
 * and ends every other session of the user (ASVS 7.4.3) with the rest of afterPasswordChange.
 */
export async function changePassword(
  db: Db,
  input: {
    user: User;
    currentPassword: string;
    newPassword: string;
    bcryptCost: number;
    keepSid: string;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<ChangePasswordResult> {
  const { user, now, origin } = input;
  const check = await checkCurrentPassword(db, {
    account: { user },
    password: input.currentPassword,
    purpose: 'password_change',
    bcryptCost: input.bcryptCost,
    now,
    origin,
  });
  if (!check.ok && check.reason === 'throttled') return { ok: false, reason: 'throttled' };
  if (!check.ok) return { ok: false, reason: 'wrong_current_password' };
  const passwordHash = await hashPassword(input.newPassword, input.bcryptCost);
  const sessions = await db.transaction(async (trx) => {
    await trx('users')
      .where({ id: user.id })
      .update({ password_hash: passwordHash, must_change_password: false, updated_at: now });
    return afterPasswordChange(trx, { user, now, origin, keepSid: input.keepSid });
  });
  return { ok: true, endedSessions: sessions.ended, generation: sessions.generation };
}
