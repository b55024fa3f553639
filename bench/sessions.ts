import crypto from 'node:crypto';
import type { Db } from '../src/db/knex.ts';

/**
 * Session rows written straight into the store, exactly as express-session and connect-pg-simple
 * write them, with the cookie that points at each. The bench uses them to start from a state that
 * would otherwise cost a bcrypt comparison per row (a pending sign-in needs a correct password):
 * they are seeds, the requests measured on them go through the real app.
 */
export interface SeededSession {
  cookie: string;
  csrfToken: string;
}

/** `s:<sid>.<HMAC-SHA-256>` as cookie-signature makes it (express-session's cookie value). */
export function signedCookieValue(sid: string, secret: string): string {
  const mac = crypto.createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${sid}.${mac}`);
}

/** A token for `secret` as the csrf package (under csurf) makes it: salt-sha1(salt-secret). */
export function csrfTokenFor(secret: string): string {
  // The salt must not contain '-': the token is split at the first one.
  const salt = crypto.randomBytes(12).toString('hex').slice(0, 8);
  const hash = crypto
    .createHash('sha1')
    .update(`${salt}-${secret}`, 'ascii')
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=/g, '');
  return `${salt}-${hash}`;
}

export const COOKIE_NAME = '__Host-keygate';
export const FORM_COOKIE_NAME = '__Host-keygate-form';

/**
 * The sign-in form's stateless CSRF cookie and a token for it, as middleware/csrf.ts makes them
 * (secret, issue time and an HMAC with the session secret). Valid for ANONYMOUS_FORM_TTL_MS from
 * now: scripts that post the sign-in form without showing it make theirs just before.
 */
export function anonymousForm(sessionSecret: string): SeededSession {
  const secret = crypto.randomBytes(18).toString('base64url');
  const issued = `${secret}.${Date.now()}`;
  const mac = crypto
    .createHmac('sha256', sessionSecret)
    .update(`anonymous-form:${issued}`)
    .digest('base64url');
  return { cookie: `${FORM_COOKIE_NAME}=${issued}.${mac}`, csrfToken: csrfTokenFor(secret) };
}

/**
 * Inserts one session per entry of `contents` (the session's own fields besides the cookie and
 * the CSRF secret) and returns the cookie header and a CSRF token for each.
 */
export async function seedSessions(
  db: Db,
  sessionSecret: string,
  contents: Record<string, unknown>[],
  idleMs = 3_600_000,
): Promise<SeededSession[]> {
  const expires = new Date(Date.now() + idleMs);
  const out: SeededSession[] = [];
  const rows = contents.map((content) => {
    const sid = crypto.randomBytes(24).toString('base64url');
    const csrfSecret = crypto.randomBytes(18).toString('base64url');
    out.push({
      cookie: `${COOKIE_NAME}=${signedCookieValue(sid, sessionSecret)}`,
      csrfToken: csrfTokenFor(csrfSecret),
    });
    const cookie = {
      originalMaxAge: idleMs,
      expires: expires.toISOString(),
      secure: true,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    };
    return { sid, sess: JSON.stringify({ cookie, csrfSecret, ...content }) };
  });
  for (let i = 0; i < rows.length; i += 5000) {
    const batch = rows.slice(i, i + 5000);
    await db.raw(
      `INSERT INTO sessions (sid, sess, expire)
       SELECT sid, sess::json, to_timestamp(?) FROM json_to_recordset(?::json) AS t(sid text, sess text)`,
      [expires.getTime() / 1000, JSON.stringify(batch)],
    );
  }
  return out;
}

/** Pending sign-ins (a correct password was given) for each user id, started now. */
export function pendingSignIns(userIds: number[]): Record<string, unknown>[] {
  const now = Date.now();
  return userIds.map((id) => ({
    pending: {
      ref: crypto.randomBytes(16).toString('base64url'),
      userId: String(id),
      startedAt: now,
      next: '/',
    },
  }));
}
