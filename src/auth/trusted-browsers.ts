/**
 * Trusted browsers: after a right code, a person may tick "don't ask for a code on this browser".
 * The browser then holds a random token (256 bits, in a `__Host-` cookie: see
 * middleware/trusted-browser-cookie.ts) and the server keeps its SHA-256 with the user, the
 * device, and when it was made, last used and expires. At the next sign-in from that browser a
 * right password with a live token skips the code step (see completeTrustedBrowserSignIn in
 * sign-in.ts); the password step is never skipped. Unlike a signed cookie, every row can be
 * listed and deleted, and each event that should end them (forgetTrustedBrowsers) does.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import type { RequestOrigin } from './origin.ts';
import type { User } from './users.ts';

/** TRUSTED_BROWSERS and TRUSTED_BROWSER_DURATION (0: off). */
export interface TrustedBrowserRules {
  policy: 'all' | 'users' | 'off';
  durationMs: number;
}

/**
 * Whether `user` may skip the code on a trusted browser: the feature on, 2FA on (without it there
 * is no code to skip), and with policy `users` not an administrator (they always enter a code).
 */
export function mayTrustBrowser(
  rules: TrustedBrowserRules,
  user: Pick<User, 'role' | 'totpEnabledAt' | 'isActive'>,
): boolean {
  if (rules.policy === 'off' || rules.durationMs <= 0) return false;
  if (!user.isActive || !user.totpEnabledAt) return false;
  return rules.policy === 'all' || user.role !== 'admin';
}

export function newTrustedBrowserToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function hashTrustedBrowserToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** A well-formed token (43 base64url characters); anything else is not looked up. */
export function isTrustedBrowserToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** A row of trusted_browsers as inserted. */
export interface TrustedBrowserRow {
  user_id: string;
  token_hash: string;
  user_agent: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
}

/**
 * A new trusted browser: the token for its cookie, and the row to insert. The caller inserts it
 * in the statement that records the sign-in (see markSignIn), so trusting costs no extra write.
 */
export function newTrustedBrowser(input: {
  userId: string;
  userAgent: string | null;
  now: Date;
  durationMs: number;
}): { token: string; row: TrustedBrowserRow } {
  const token = newTrustedBrowserToken();
  return {
    token,
    row: {
      user_id: input.userId,
      token_hash: hashTrustedBrowserToken(token),
      // User agents are attacker-controlled; keep a bounded amount.
      user_agent: input.userAgent ? input.userAgent.slice(0, 512) : null,
      created_at: input.now,
      last_used_at: input.now,
      expires_at: new Date(input.now.getTime() + input.durationMs),
    },
  };
}

/**
 * Using the trusted browser `token` names, if it is `userId`'s and still live: a conditional
 * UPDATE that moves its last use (RETURNING id: a row when it was used), so a browser forgotten
 * meanwhile (a DELETE that holds the row, or committed before) is never used. Not run here: the
 * caller runs it under the account lock, inside the statement that records the sign-in.
 */
export function useTrustedBrowser(trx: Db, input: { userId: string; token: string; now: Date }) {
  return trx('trusted_browsers')
    .where({ user_id: input.userId, token_hash: hashTrustedBrowserToken(input.token) })
    .where('expires_at', '>', input.now)
    .update({ last_used_at: input.now })
    .returning('id');
}

/** A trusted browser as listed in settings and on the admin's user page. */
export interface TrustedBrowser {
  /** Its row id: not a secret (the token is), and forgetting checks the owner too. */
  id: string;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  /** The browser asking (its cookie holds this one's token). */
  current: boolean;
}

/** The user's live trusted browsers, last used first; `currentToken`: the asking browser's. */
export async function listTrustedBrowsers(
  db: Db,
  userId: string,
  now: Date,
  currentToken: string | null = null,
): Promise<TrustedBrowser[]> {
  const currentHash = currentToken ? hashTrustedBrowserToken(currentToken) : null;
  const rows: {
    id: string;
    token_hash: string;
    user_agent: string | null;
    created_at: Date;
    last_used_at: Date;
    expires_at: Date;
  }[] = await db('trusted_browsers')
    .where({ user_id: userId })
    .where('expires_at', '>', now)
    .orderBy('last_used_at', 'desc')
    .select('id', 'token_hash', 'user_agent', 'created_at', 'last_used_at', 'expires_at');
  return rows.map((row) => ({
    id: String(row.id),
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    current: row.token_hash === currentHash,
  }));
}

/**
 * Forgets every trusted browser of the user: THE one way they all end, called inside the
 * transaction of each change that must end them (password changed or reset, 2FA off or reset,
 * new recovery codes, sign out everywhere, deactivation). A sign-in using one locks the user row
 * first and then the browser's row; this takes only the browser rows, so the two cannot deadlock,
 * and a sign-in waiting on a deleted row finds it gone.
 */
export async function forgetTrustedBrowsers(trx: Db, userId: string): Promise<number> {
  return trx('trusted_browsers').where({ user_id: userId }).delete();
}

/**
 * The person (or an administrator: `actorId`) forgets one trusted browser (`browserId`) or all
 * of them; audited. Only the user's own rows are touched, whatever id is sent.
 */
export async function forgetTrustedBrowsersAs(
  db: Db,
  input: {
    userId: string;
    actorId: string;
    browserId: string | 'all';
    origin: RequestOrigin;
    now: Date;
  },
): Promise<number> {
  if (input.browserId !== 'all' && !/^\d{1,18}$/.test(input.browserId)) return 0;
  return db.transaction(async (trx) => {
    const forgotten =
      input.browserId === 'all'
        ? await forgetTrustedBrowsers(trx, input.userId)
        : await trx('trusted_browsers')
            .where({ user_id: input.userId, id: input.browserId })
            .delete();
    if (forgotten > 0)
      await recordAuditEvent(trx, {
        event: 'trusted_browsers_forgotten',
        userId: input.userId,
        actorId: input.actorId,
        ...input.origin,
        details: { count: forgotten, which: input.browserId === 'all' ? 'all' : 'one' },
        at: input.now,
      });
    return forgotten;
  });
}
