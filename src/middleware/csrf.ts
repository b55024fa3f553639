/**
 * Anti-forgery for every form (SECURITY.md #37, #52), in two kinds:
 *
 * - csrfProtection: forms behind sign-in (and a pending sign-in's code forms). A synchroniser
 *   token whose secret lives in the server-side session, made only when a page shows a form.
 * - anonymousFormCsrf: forms shown to visitors nobody knows yet (sign-in, first-admin setup, and
 *   any further anonymous form a route opts in with it). Showing such a form must store nothing
 *   on the server, so the secret travels in a cookie of its own, signed with SESSION_SECRET and
 *   dated, `__Host-` in production so that no sibling host can plant one. The token in the form
 *   is the same salted hash of that secret as above (the `csrf` package): a forged POST needs
 *   both the victim's cookie and a token made from it, and a page of another site can read
 *   neither. A cookie older than ANONYMOUS_FORM_TTL_MS is refused whatever its browser says.
 *
 * Both read the token from the form body only (never the query string or a header, #52), and
 * refuse with csurf's error code (EBADCSRFTOKEN), which the error handler and
 * routes/expired-forms.ts turn into "this form has expired". rejectCrossSite runs before both.
 */
import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import Tokens from 'csrf';
import { ANONYMOUS_FORM_TTL_MS } from '../auth/limits.ts';
import { randomToken } from '../auth/random-tokens.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { cookieValue } from './cookies.ts';
import { HttpError } from './errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const tokens = new Tokens();
/** A form secret's size: what csrf's own secretSync makes (18 bytes). */
const CSRF_SECRET_BYTES = 18;

/**
 * Refuses state-changing requests that a browser tells us came from another site, before the
 * token is even looked at (defence in depth next to the token and SameSite=Lax cookies).
 */
export const rejectCrossSite: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const site = req.get('sec-fetch-site');
  const origin = req.get('origin');
  const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
  let foreignOrigin = false;
  // Sec-Fetch-Site cannot be set by a page; when it says same-origin, an opaque "null" Origin (sent
  // under some referrer policies) is our own form.
  if (origin !== undefined && !(origin === 'null' && site === 'same-origin')) {
    try {
      foreignOrigin = new URL(origin).host !== req.get('host');
    } catch {
      foreignOrigin = true; // "null" and anything unparsable
    }
  }
  if (crossSite || foreignOrigin) {
    req.log.warn({ site, origin }, 'cross-site request refused');
    return next(new HttpError(403, req.t.errors.crossSite()));
  }
  next();
};

function bodyToken(req: Request): string {
  const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
  return typeof token === 'string' ? token : '';
}

/** The refusal csurf made (its code is what the error handler and expired-forms.ts look for). */
function badToken(): Error {
  return Object.assign(new Error('invalid csrf token'), { status: 403, code: 'EBADCSRFTOKEN' });
}

/** A token function that makes the secret only when first called, and one token per request. */
function lazyToken(secret: () => string): () => string {
  let token: string | undefined;
  return () => (token ??= tokens.create(secret()));
}

/** Session-bound tokens for every form behind sign-in (csurf's session mode, made lazily). */
export const csrfProtection: RequestHandler = (req, res, next) => {
  req.csrfToken = lazyToken(() => (req.session.csrfSecret ??= randomToken(CSRF_SECRET_BYTES)));
  res.locals.csrfToken = req.csrfToken;
  if (SAFE_METHODS.has(req.method)) return next();
  const secret = req.session.csrfSecret;
  if (!secret || !tokens.verify(secret, bodyToken(req))) return next(badToken());
  next();
};

/** The anonymous form cookie's name: `__Host-` needs Secure, so plain HTTP in development cannot. */
export function anonymousFormCookieName(config: Config): string {
  return config.isProduction ? '__Host-keygate-form' : 'keygate.form';
}

function anonymousFormCookieAttributes(config: Config) {
  return { httpOnly: true, sameSite: 'strict' as const, secure: config.isProduction, path: '/' };
}

function mac(key: string, payload: string): string {
  return crypto.createHmac('sha256', key).update(`anonymous-form:${payload}`).digest('base64url');
}

/** `secret.issuedAtMs.mac`, signed with the first session secret, checked against every one. */
function readAnonymousSecret(
  config: Config,
  value: unknown,
  nowMs: number,
): { secret: string; issuedAtMs: number } | null {
  if (typeof value !== 'string' || value.length > 200) return null;
  const [secret, issued, signature, extra] = value.split('.');
  if (!secret || !issued || !signature || extra !== undefined || !/^\d{1,15}$/.test(issued))
    return null;
  const expected = Buffer.from(signature);
  const signed = config.sessionSecrets.some((key) => {
    const candidate = Buffer.from(mac(key, `${secret}.${issued}`));
    return candidate.length === expected.length && crypto.timingSafeEqual(candidate, expected);
  });
  const issuedAtMs = Number(issued);
  if (!signed || issuedAtMs > nowMs + 60_000 || nowMs - issuedAtMs >= ANONYMOUS_FORM_TTL_MS)
    return null;
  return { secret, issuedAtMs };
}

/**
 * Stateless tokens for a form shown to anyone (see the header). A route opts in by putting this
 * in front of both its GET and its POST; app.ts mounts such routers before csrfProtection.
 * A form gets a fresh cookie when it has none, or one past half its lifetime, so that a form
 * just shown can always be sent for at least half of ANONYMOUS_FORM_TTL_MS.
 */
export function anonymousFormCsrf(config: Config, clock: Clock): RequestHandler {
  const name = anonymousFormCookieName(config);
  const attributes = { ...anonymousFormCookieAttributes(config), maxAge: ANONYMOUS_FORM_TTL_MS };
  return function anonymousFormCsrf(req, res, next) {
    const nowMs = clock.now();
    const presented = readAnonymousSecret(config, cookieValue(req, name), nowMs);
    req.csrfToken = lazyToken(() => {
      if (presented && nowMs - presented.issuedAtMs < ANONYMOUS_FORM_TTL_MS / 2)
        return presented.secret;
      const secret = randomToken(CSRF_SECRET_BYTES);
      const issued = `${secret}.${nowMs}`;
      // As express-session does: a Secure cookie is not sent over plain HTTP (a browser would
      // drop it); the form then cannot be sent, as with no session cookie before.
      if (!attributes.secure || req.secure)
        res.cookie(name, `${issued}.${mac(config.sessionSecrets[0]!, issued)}`, attributes);
      return secret;
    });
    res.locals.csrfToken = req.csrfToken;
    if (SAFE_METHODS.has(req.method)) return next();
    if (!presented || !tokens.verify(presented.secret, bodyToken(req))) return next(badToken());
    next();
  };
}

/** After a sign-in the anonymous form's secret has served its purpose: the browser forgets it. */
export function clearAnonymousFormCookie(res: Parameters<RequestHandler>[1], config: Config): void {
  res.clearCookie(anonymousFormCookieName(config), anonymousFormCookieAttributes(config));
}
