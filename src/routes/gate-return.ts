import { isProtectedHost } from '../auth/protected-apps.ts';
import { isTrustedReturnHost, parseReturnUrl } from '../auth/return-address.ts';
import type { AppDeps } from '../deps.ts';
import { paths, withQuery } from '../paths.ts';

/**
 * `rd` as the routes use it: the checked, re-serialised URL to return to on another host, or
 * null (then the portal's home is used). A host outside AUTH_COOKIE_DOMAIN costs one look-up
 * among the protected apps.
 */
export async function gateReturnUrl(
  { db, config }: AppDeps,
  value: unknown,
): Promise<string | null> {
  const url = parseReturnUrl(value, { allowHttp: !config.isProduction });
  if (!url) return null;
  const hosts = {
    portalHost: new URL(config.baseUrl).hostname,
    cookieDomain: config.authCookieDomain,
  };
  if (isTrustedReturnHost(url.hostname, hosts) || (await isProtectedHost(db, url.hostname)))
    return url.href;
  return null;
}

/** The same-origin page that takes the browser on to `rd` (see routes/gate-pages.ts). */
export function continuePath(rd: string): string {
  return withQuery(paths.continueToApp, { rd });
}

/** An absolute address on the portal, for answers given to proxies on another host's behalf. */
export function portalUrl(baseUrl: string, path: string, rd: string): string {
  return `${baseUrl}${withQuery(path, { rd })}`;
}
