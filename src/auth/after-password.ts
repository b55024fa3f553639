import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { queueMail } from './outbox.ts';
import type { RequestOrigin } from './origin.ts';
import { endUserSessions } from './sessions.ts';
import { forgetTrustedBrowsers } from './trusted-browsers.ts';
import type { User } from './users.ts';

/**
 * What must follow a change of password, in one place for each way it happens, so that whatever
 * else a credential change must revoke is added once (README, "Email"). Both run inside the
 * caller's transaction, so the change and its consequences commit together.
 */

/**
 * Everything that follows a password reset by email, in the caller's transaction: every session
 * (and with it every gate cookie) ends, every other reset link dies, the account's password
 * throttling is cleared, and the event is audited and mailed. Whatever else a credential reset
 * must revoke is added here (today: trusted browsers, and OpenID grants through endUserSessions).
 */
export async function afterPasswordReset(
  trx: Db,
  input: { user: User; now: Date; origin: RequestOrigin },
): Promise<{ ended: number; generation: number }> {
  const { user, now, origin } = input;
  // Ends the sessions and gate cookies, and revokes the person's OpenID grants and tokens.
  const sessions = await endUserSessions(trx, user.id, { reason: 'password_changed' });
  await forgetTrustedBrowsers(trx, user.id);
  await trx('password_reset_tokens').where({ user_id: user.id }).delete();
  await trx('auth_attempts')
    .where({ kind: 'password', account_key: user.emailCanonical, succeeded: false })
    .delete();
  await recordAuditEvent(trx, {
    event: 'password_reset',
    userId: user.id,
    ...origin,
    details: { endedSessions: sessions.ended },
    at: now,
  });
  await queueMail(trx, {
    kind: 'password_reset_done',
    to: user.email,
    userId: user.id,
    at: now,
    origin,
  });
  return sessions;
}

/**
 * Everything that follows a change of password by the person (settings) or an administrator (a
 * temporary password), in the caller's transaction: the other sessions end (all of them when
 * `keepSid` is unset), reset links die, and the event is audited and mailed. Whatever else a
 * password change must revoke is added here (today: trusted browsers, and OpenID grants through endUserSessions).
 */
export async function afterPasswordChange(
  trx: Db,
  input: {
    user: Pick<User, 'id' | 'email'>;
    now: Date;
    origin: RequestOrigin;
    keepSid?: string;
    /** An administrator's temporary password (its own audit event, written by the caller). */
    byAdmin?: { actorId: string | null };
  },
): Promise<{ ended: number; generation: number }> {
  const { user, now, origin } = input;
  const sessions = await endUserSessions(trx, user.id, {
    ...(input.keepSid ? { keepSid: input.keepSid } : {}),
    reason: 'password_changed',
  });
  await forgetTrustedBrowsers(trx, user.id);
  await trx('password_reset_tokens').where({ user_id: user.id }).delete();
  if (!input.byAdmin)
    await recordAuditEvent(trx, {
      event: 'password_changed',
      userId: user.id,
      ...origin,
      details: { endedSessions: sessions.ended },
      at: now,
    });
  await queueMail(trx, {
    kind: input.byAdmin ? 'password_set_by_admin' : 'password_changed',
    to: user.email,
    userId: user.id,
    at: now,
    origin,
  });
  return sessions;
}
