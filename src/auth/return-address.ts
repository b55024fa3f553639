/**
 * Return addresses to other hosts (`rd` after sign-in or sign-out): only an https URL (http
 * outside production) whose host is the portal's, lies under AUTH_COOKIE_DOMAIN, or is a protected
 * app's; never with user info. Parsed with the WHATWG URL parser, which is what the browser will
 * use on the Location we send, and answered with its serialisation, so what was checked is what
 * the browser gets. Anything else is refused (the caller falls back to the portal's home).
 */
import { isUnderDomain } from '../config.ts';

// Controls, whitespace and backslashes: the URL parser would silently drop or rewrite them, so a
// string that holds any is not what it looks like.
// eslint-disable-next-line no-control-regex
const SUSPICIOUS = /[\u0000-\u0020\u007f-\u00a0\\\u2028\u2029\ufeff]/;

/** The URL, if `value` is well-formed for a return address (scheme, no user info); else null. */
export function parseReturnUrl(value: unknown, options: { allowHttp: boolean }): URL | null {
  if (typeof value !== 'string' || value.length > 2048 || SUSPICIOUS.test(value)) return null;
  if (!(options.allowHttp ? /^https?:\/\/[^/]/i : /^https:\/\/[^/]/i).test(value)) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const schemeOk = url.protocol === 'https:' || (options.allowHttp && url.protocol === 'http:');
  if (!schemeOk || url.username !== '' || url.password !== '' || url.hostname === '') return null;
  return url;
}

export interface ReturnHosts {
  portalHost: string;
  cookieDomain: string | null;
}

/** True when the host needs no look-up: the portal's own, or under the cookie domain. */
export function isTrustedReturnHost(hostname: string, hosts: ReturnHosts): boolean {
  if (hostname === hosts.portalHost) return true;
  return hosts.cookieDomain !== null && isUnderDomain(hostname, hosts.cookieDomain);
}
