import type { IncomingMessage } from 'node:http';

/** What the proxy says was asked for: the full URL, the method, and whether a browser navigates. */
export interface OriginalRequest {
  url: URL;
  method: string;
  /** A page load, to be redirected; an XHR or a non-HTML fetch gets a 401 instead. */
  navigation: boolean;
}

const METHOD = /^[A-Z]{1,16}$/;
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** A header sent exactly once (Node joins repeated ones with ", ", which no value here contains). */
function single(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return typeof value === 'string' && value !== '' ? value : null;
}

function absoluteUrl(text: string): URL | null {
  // eslint-disable-next-line no-control-regex
  if (text.length > 8192 || /[\u0000-\u0020\u007f\\]/.test(text)) return null;
  try {
    const url = new URL(text);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') return null;
    if (url.username !== '' || url.password !== '') return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * The original request from the forwarded headers: X-Original-URL and X-Original-Method (nginx),
 * or X-Forwarded-Method, -Proto, -Host and -Uri (Caddy, Traefik). Any missing, repeated or
 * malformed header makes the whole call a bad request: never a guess.
 */
export function originalRequest(
  req: IncomingMessage,
  endpoint: 'auth-request' | 'forward-auth',
): { ok: true; request: OriginalRequest } | { ok: false; reason: string } {
  let url: URL | null;
  let method: string | null;
  if (endpoint === 'auth-request') {
    const text = single(req, 'X-Original-URL');
    method = single(req, 'X-Original-Method');
    url = text ? absoluteUrl(text) : null;
  } else {
    method = single(req, 'X-Forwarded-Method');
    const proto = single(req, 'X-Forwarded-Proto');
    const host = single(req, 'X-Forwarded-Host');
    const uri = single(req, 'X-Forwarded-Uri');
    const usable =
      (proto === 'http' || proto === 'https') &&
      host !== null &&
      HOST.test(host) &&
      uri?.startsWith('/');
    url = usable ? absoluteUrl(`${proto}://${host}${uri}`) : null;
  }
  if (!url) return { ok: false, reason: 'original_url' };
  if (!method || !METHOD.test(method)) return { ok: false, reason: 'original_method' };
  const accept = single(req, 'accept') ?? '';
  const xhr = (single(req, 'x-requested-with') ?? '').toLowerCase() === 'xmlhttprequest';
  return { ok: true, request: { url, method, navigation: !xhr && /text\/html/i.test(accept) } };
}
