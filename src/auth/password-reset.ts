import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { afterPasswordReset } from './after-password.ts';
import { associatedData, encrypt, type KeyRing } from './encryption.ts';
import { PASSWORD_RESET_LIMITS } from './limits.ts';
import { outboxRow } from './outbox.ts';
import type { RequestOrigin } from './origin.ts';
import { canonicalEmail, toUser, type User, type UserRow } from './users.ts';

/**
 * Password reset by email (README, "Email"). A link carries 256 random bits; only their SHA-256
 * is stored. A link works once, until it expires, and only while it is the account's newest and
 * the password has not changed since (each of those deletes the account's tokens). With 2FA on,
 * the link leads to the code step first (routes/password-reset.ts): a reset never lowers the
 * account's protection.
 */

export function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** A link's token as it may appear in an address: 43 base64url characters. */
export function isLinkToken(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value);
}

export type ResetRequest = { ok: true } | { ok: false; reason: 'throttled' };

/**
 * "Forgot your password?": counts the request against the limits (per address typed, known or
 * not, and per IP), and for an active account makes a new token (voiding older ones) and queues
 * the mail. The same statements run whether the account exists or not (the token and the mail are
 * rows a statement inserts for each matching account: none, or one), so the answer and its time
 * say nothing about who has an account. The token goes into the outbox encrypted, and leaves it
 * when the mail is sent.
 */
export async function requestPasswordReset(
  db: Db,
  input: {
    email: string;
    origin: RequestOrigin;
    now: Date;
    ttlMs: number;
    keys: KeyRing;
    /** Made by the caller for tests' sake (the log scan); a fresh random one otherwise. */
    token?: string;
  },
): Promise<ResetRequest & { token: string }> {
  const L = PASSWORD_RESET_LIMITS;
  const key = canonicalEmail(input.email);
  const token = input.token ?? crypto.randomBytes(32).toString('base64url');
  const since = new Date(input.now.getTime() - L.windowMs);
  const expiresAt = new Date(input.now.getTime() + input.ttlMs);
  return db.transaction(async (trx) => {
    // Serialised per address and per IP (always in this order), so that under concurrent requests
    // each count sees every earlier request: exactly the limit get through.
    await trx.raw(
      `SELECT pg_advisory_xact_lock(hashtextextended('keygate:reset-account:' || ?, 0)),
              pg_advisory_xact_lock(hashtextextended('keygate:reset-ip:' || ?, 0))`,
      [key, input.origin.ip],
    );
    const mail = outboxRow({
      kind: 'password_reset',
      to: '',
      userId: null,
      at: input.now,
      origin: input.origin,
      data: {
        token: encrypt(token, input.keys, associatedData.mailToken('password_reset', key)),
        expiresAt: expiresAt.toISOString(),
      },
    });
    const { rows } = await trx.raw<{ rows: { allowed: boolean }[] }>(
      `WITH attempt AS (
         INSERT INTO auth_attempts (kind, account_key, ip, succeeded, created_at)
         SELECT 'password_reset', :key, :ip, true, :now
          WHERE (SELECT count(*) FROM auth_attempts WHERE kind = 'password_reset'
                   AND account_key = :key AND created_at > :since) < :perAddress
            AND (SELECT count(*) FROM auth_attempts WHERE kind = 'password_reset'
                   AND ip = :ip AND created_at > :since) < :perIp
         RETURNING id),
       account AS (
         SELECT id, email FROM users
          WHERE email_canonical = :key AND is_active AND EXISTS (SELECT 1 FROM attempt)),
       voided AS (
         DELETE FROM password_reset_tokens WHERE user_id IN (SELECT id FROM account)),
       token AS (
         INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at)
         SELECT id, :hash, :now, :expiresAt FROM account RETURNING id),
       mail AS (
         INSERT INTO mail_outbox (kind, recipient, user_id, data, next_attempt_at, created_at)
         SELECT 'password_reset', account.email, account.id, :data, :now, :now
           FROM account, token)
       SELECT EXISTS (SELECT 1 FROM attempt) AS allowed`,
      {
        key,
        ip: input.origin.ip,
        now: input.now,
        since,
        perAddress: L.perAddress,
        perIp: L.perIp,
        hash: tokenHash(token),
        expiresAt,
        data: mail.data,
      },
    );
    return rows[0]!.allowed ? { ok: true, token } : { ok: false, reason: 'throttled', token };
  });
}

/** A reset link that still works: its token row and the (active) account. */
export interface ResetLink {
  tokenId: string;
  user: User;
  expiresAt: Date;
}

async function findLink(db: Db, where: { token_hash: string } | { id: string }, now: Date) {
  const column = 'token_hash' in where ? 't.token_hash' : 't.id';
  const value = 'token_hash' in where ? where.token_hash : where.id;
  const row = (await db('password_reset_tokens as t')
    .join('users', 'users.id', 't.user_id')
    .where(column, value)
    .whereNull('t.used_at')
    .where('t.expires_at', '>', now)
    .where('users.is_active', true)
    .first('users.*', 't.id as token_id', 't.expires_at as token_expires_at')) as
    (UserRow & { token_id: string; token_expires_at: Date }) | undefined;
  if (!row) return null;
  return { tokenId: String(row.token_id), user: toUser(row), expiresAt: row.token_expires_at };
}

/** The link for a token from an address, or null if it is unknown, used, voided or expired. */
export async function findResetLink(db: Db, token: string, now: Date): Promise<ResetLink | null> {
  if (!isLinkToken(token)) return null;
  return findLink(db, { token_hash: tokenHash(token) }, now);
}

/** A pending reset's link, read again at every step (it may have been voided meanwhile). */
export async function findResetLinkById(
  db: Db,
  tokenId: string,
  now: Date,
): Promise<ResetLink | null> {
  if (!/^[1-9]\d{0,17}$/.test(tokenId)) return null;
  return findLink(db, { id: tokenId }, now);
}

export type ResetResult =
  | { ok: true; user: User; endedSessions: number }
  | { ok: false; reason: 'link_not_valid' | 'code_needed' };

/**
 * Sets the new password: the token is used up (one conditional UPDATE, so one link resets once
 * even under concurrent posts), under a lock on the account that also reads its 2FA state fresh,
 * and with 2FA on only after this reset's own code step (`codeVerified`).
 */
export async function completePasswordReset(
  db: Db,
  input: {
    tokenId: string;
    passwordHash: string;
    codeVerified: boolean;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<ResetResult> {
  return db.transaction(async (trx): Promise<ResetResult> => {
    const link = await trx('password_reset_tokens').where({ id: input.tokenId }).first('user_id');
    if (!link) return { ok: false, reason: 'link_not_valid' };
    const row = await trx<UserRow>('users').where({ id: link.user_id }).forUpdate().first();
    if (!row || !row.is_active) return { ok: false, reason: 'link_not_valid' };
    const user = toUser(row);
    if (user.totpEnabledAt && !input.codeVerified) return { ok: false, reason: 'code_needed' };
    const used = await trx('password_reset_tokens')
      .where({ id: input.tokenId })
      .whereNull('used_at')
      .where('expires_at', '>', input.now)
      .update({ used_at: input.now })
      .returning('id');
    if (used.length === 0) return { ok: false, reason: 'link_not_valid' };
    await trx('users').where({ id: user.id }).update({
      password_hash: input.passwordHash,
      must_change_password: false,
      updated_at: input.now,
    });
    const { ended } = await afterPasswordReset(trx, { user, now: input.now, origin: input.origin });
    return { ok: true, user, endedSessions: ended };
  });
}
