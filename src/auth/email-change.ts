import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { associatedData, encrypt, type KeyRing } from './encryption.ts';
import { EMAIL_CHANGE_TTL_MS } from './limits.ts';
import { queueMail } from './outbox.ts';
import type { RequestOrigin } from './origin.ts';
import { isLinkToken, tokenHash } from './password-reset.ts';
import { canonicalEmail, toUser, type User, type UserRow } from './users.ts';

/**
 * Changing an account's email address. The person asks from their settings (after confirming it
 * is them), a link goes to the new address, and only opening it changes the address; an
 * administrator changes it directly. Either way the old address is told. Only a hash of a link's
 * token is stored; a newer request voids the older link.
 */

export type EmailChangeRequest = { ok: true } | { ok: false; reason: 'same_address' };

/**
 * Sends a confirmation link to `newEmail`. An address that another account uses gets no link,
 * and the answer is the same (a signed-in person cannot find out who has an account).
 */
export async function requestEmailChange(
  db: Db,
  input: { user: User; newEmail: string; now: Date; origin: RequestOrigin; keys: KeyRing },
): Promise<EmailChangeRequest> {
  const key = canonicalEmail(input.newEmail);
  if (key === input.user.emailCanonical) return { ok: false, reason: 'same_address' };
  const token = crypto.randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + EMAIL_CHANGE_TTL_MS);
  await db.transaction(async (trx) => {
    await trx('email_change_tokens').where({ user_id: input.user.id }).delete();
    const taken = await trx('users').where({ email_canonical: key }).first('id');
    if (taken) return;
    await trx('email_change_tokens').insert({
      user_id: input.user.id,
      new_email: input.newEmail,
      token_hash: tokenHash(token),
      created_at: input.now,
      expires_at: expiresAt,
    });
    await queueMail(trx, {
      kind: 'email_change_confirm',
      to: input.newEmail,
      userId: input.user.id,
      at: input.now,
      origin: input.origin,
      data: {
        token: encrypt(token, input.keys, associatedData.mailToken('email_change_confirm', key)),
        expiresAt: expiresAt.toISOString(),
      },
    });
  });
  return { ok: true };
}

/** The address a confirmation link would set, or null if the link does not work. */
export async function findEmailChange(
  db: Db,
  token: string,
  now: Date,
): Promise<{ newEmail: string } | null> {
  if (!isLinkToken(token)) return null;
  const row = await db('email_change_tokens')
    .where({ token_hash: tokenHash(token) })
    .where('expires_at', '>', now)
    .first('new_email');
  return row ? { newEmail: String(row.new_email) } : null;
}

export type EmailChangeResult =
  | { ok: true; user: User; oldEmail: string; newEmail: string }
  | { ok: false; reason: 'link_not_valid' | 'email_taken' };

/** Confirms a link: the token is used up (one DELETE … RETURNING) and the address changes. */
export async function confirmEmailChange(
  db: Db,
  input: { token: string; now: Date; origin: RequestOrigin },
): Promise<EmailChangeResult> {
  if (!isLinkToken(input.token)) return { ok: false, reason: 'link_not_valid' };
  return db.transaction(async (trx): Promise<EmailChangeResult> => {
    const [link] = (await trx('email_change_tokens')
      .where({ token_hash: tokenHash(input.token) })
      .where('expires_at', '>', input.now)
      .delete()
      .returning(['user_id', 'new_email'])) as { user_id: string; new_email: string }[];
    if (!link) return { ok: false, reason: 'link_not_valid' };
    return changeEmail(trx, {
      userId: String(link.user_id),
      newEmail: link.new_email,
      actorId: String(link.user_id),
      now: input.now,
      origin: input.origin,
    });
  });
}

/**
 * Sets a user's address (an administrator's change, or a confirmed link), in one transaction:
 * the address, the end of every reset link (they went to the old address), the audit event, and
 * a notice to the old address.
 */
export async function changeEmail(
  db: Db,
  input: {
    userId: string;
    newEmail: string;
    actorId: string | null;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<EmailChangeResult> {
  try {
    return await setEmail(db, input);
  } catch (error) {
    // Two changes to one address at once: the unique index decides, and the loser is told.
    if ((error as { constraint?: string }).constraint === 'users_email_canonical_unique')
      return { ok: false, reason: 'email_taken' };
    throw error;
  }
}

function setEmail(
  db: Db,
  input: {
    userId: string;
    newEmail: string;
    actorId: string | null;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<EmailChangeResult> {
  return db.transaction(async (trx): Promise<EmailChangeResult> => {
    const row = await trx<UserRow>('users').where({ id: input.userId }).forUpdate().first();
    if (!row) return { ok: false, reason: 'link_not_valid' };
    const before = toUser(row);
    const key = canonicalEmail(input.newEmail);
    const taken = await trx('users')
      .where({ email_canonical: key })
      .whereNot({ id: input.userId })
      .first('id');
    if (taken) return { ok: false, reason: 'email_taken' };
    const [updated] = await trx<UserRow>('users')
      .where({ id: input.userId })
      .update({ email: input.newEmail, email_canonical: key, updated_at: input.now })
      .returning('*');
    await trx('password_reset_tokens').where({ user_id: input.userId }).delete();
    await trx('email_change_tokens').where({ user_id: input.userId }).delete();
    const byAdmin = input.actorId !== input.userId;
    await recordAuditEvent(trx, {
      event: 'email_changed',
      userId: input.userId,
      actorId: input.actorId,
      ...input.origin,
      details: { from: before.email, to: input.newEmail },
      at: input.now,
    });
    await queueMail(trx, {
      kind: 'email_changed',
      to: before.email,
      userId: input.userId,
      at: input.now,
      origin: input.origin,
      data: { newEmail: input.newEmail, byAdmin },
    });
    return { ok: true, user: toUser(updated!), oldEmail: before.email, newEmail: input.newEmail };
  });
}
