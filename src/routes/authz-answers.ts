/**
 * How the authz endpoints answer, on Node's own request and response (routes/authz.ts runs
 * before Express): which endpoint a request is for, and plain answers with fixed headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IdentityHeaders } from '../auth/gate-access.ts';
import type { GateEndpoint } from '../auth/gate-counters.ts';
import type { Logger } from '../logger.ts';
import type { Messages } from '../messages/index.ts';
import { paths } from '../paths.ts';

// The answers are plain text, redirects and (Caddy, Traefik) the denied page: no script, nothing
// framed, nothing cached.
export const AUTHZ_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** What one call carries through the handler: wording, a logger made on first use, the peer. */
export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  endpoint: GateEndpoint;
  t: Messages;
  log(): Logger;
}

/** The endpoint a request is for (case and one trailing slash aside, as Express would match). */
export function endpointFor(req: IncomingMessage): GateEndpoint | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  const url = req.url ?? '';
  if (url.slice(0, paths.authz.length).toLowerCase() !== paths.authz) return null;
  const query = url.indexOf('?');
  let path = (query === -1 ? url : url.slice(0, query)).toLowerCase();
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === paths.authzAuthRequest) return 'auth-request';
  if (path === paths.authzForwardAuth) return 'forward-auth';
  return null;
}

export function answer(
  call: Call,
  status: number,
  headers: Record<string, string>,
  body: string | null = null,
): void {
  const { res } = call;
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === null) {
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const bytes = Buffer.from(body, 'utf8');
  res.setHeader('Content-Length', String(bytes.length));
  res.end(call.req.method === 'HEAD' ? undefined : bytes);
}

export const text = (
  call: Call,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) => answer(call, status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body);

/** The one way to answer 2xx: every identity header set, each non-empty (checked again here). */
export function sendAllowed(call: Call, headers: IdentityHeaders): void {
  const values = Object.values(headers);
  if (values.length !== 3 || values.some((value) => typeof value !== 'string' || value === ''))
    throw new Error('an allowed answer without its identity headers');
  answer(call, 200, { ...headers });
}
