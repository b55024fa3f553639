/**
 * The gate cookie: what a protected app's requests carry to the authz endpoints. It is separate
 * from the portal's `__Host-` session cookie (which never leaves the portal's host), set for the
 * whole AUTH_COOKIE_DOMAIN, and only the authz endpoints read it: a leaked gate cookie opens the
 * protected apps, never Keygate's own pages (the session middleware knows only its own cookie).
 *
 * It is issued (only when AUTH_COOKIE_DOMAIN is set) lazily to any signed-in session that lacks a matching one, so every way of
 * signing in (password, code, setup, a refreshed authentication) is covered by one rule; a
 * planted gate cookie is never adopted, since only a token whose hash the session holds counts.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Config } from '../config.ts';
import { hashGateToken, isGateToken, newGateToken } from '../auth/gate.ts';

export function gateCookieName(config: Config): string {
  // __Secure- (not __Host-): the cookie needs a Domain, which __Host- forbids.
  return config.isProduction ? '__Secure-keygate-gate' : 'keygate.gate';
}

export function gateCookieAttributes(config: Config) {
  return {
    httpOnly: true,
    secure: config.isProduction,
    sameSite: 'lax' as const,
    path: '/',
    ...(config.authCookieDomain ? { domain: config.authCookieDomain } : {}),
  };
}

/** The gate token the request presents, if well-formed (the first one: a browser's own first). */
export function presentedGateToken(req: IncomingMessage, config: Config): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  const prefix = `${gateCookieName(config)}=`;
  for (const part of header.split(';')) {
    const item = part.trim();
    if (!item.startsWith(prefix)) continue;
    const value = item.slice(prefix.length);
    return isGateToken(value) ? value : null;
  }
  return null;
}

export function issueGateCookie(config: Config): RequestHandler {
  return (req, res, next) => {
    // AUTH_COOKIE_DOMAIN turns the gate on; without it nobody gets a gate cookie.
    if (!config.authCookieDomain || !req.user) return next();
    const presented = presentedGateToken(req, config);
    if (presented && req.session.gateHash === hashGateToken(presented)) return next();
    const token = newGateToken();
    req.session.gateHash = hashGateToken(token);
    res.cookie(gateCookieName(config), token, {
      ...gateCookieAttributes(config),
      maxAge: config.sessionAbsoluteTimeoutMs,
    });
    next();
  };
}
