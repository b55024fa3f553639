/**
 * The trusted-browser cookie ("don't ask for a code on this browser"; see auth/trusted-browsers.ts):
 * named and flagged as the session cookie is (`__Host-`, Secure, in production; a plain name over
 * http in development, where browsers refuse `Secure` cookies), HttpOnly, SameSite=Lax, Path=/,
 * and kept for TRUSTED_BROWSER_DURATION. Only the sign-in step reads it, and only with a right
 * password: on its own it opens nothing.
 */
import type { Request, Response } from 'express';
import type { Config } from '../config.ts';
import { isTrustedBrowserToken } from '../auth/trusted-browsers.ts';

export function trustedBrowserCookieName(config: Config): string {
  // __Host- cookies must be Secure, Path=/ and have no Domain: browsers enforce all three.
  return config.isProduction ? '__Host-keygate-trusted' : 'keygate.trusted';
}

function attributes(config: Config) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.isProduction,
    path: '/',
  };
}

/** The trusted-browser token the request presents, if well-formed. */
export function presentedTrustedBrowserToken(req: Request, config: Config): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  const prefix = `${trustedBrowserCookieName(config)}=`;
  for (const part of header.split(';')) {
    const item = part.trim();
    if (!item.startsWith(prefix)) continue;
    const value = item.slice(prefix.length);
    return isTrustedBrowserToken(value) ? value : null;
  }
  return null;
}

/** Gives the browser its token, for as long as the server keeps the row. */
export function setTrustedBrowserCookie(res: Response, config: Config, token: string): void {
  res.cookie(trustedBrowserCookieName(config), token, {
    ...attributes(config),
    maxAge: config.trustedBrowserDurationMs,
  });
}

/** Removes the cookie (the browser was forgotten); attributes as set, or a browser keeps it. */
export function clearTrustedBrowserCookie(res: Response, config: Config): void {
  res.clearCookie(trustedBrowserCookieName(config), attributes(config));
}

/** TRUSTED_BROWSERS and TRUSTED_BROWSER_DURATION as the domain takes them. */
export function trustedBrowserRules(config: Config) {
  return { policy: config.trustedBrowsers, durationMs: config.trustedBrowserDurationMs };
}
