import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import proxyAddr from 'proxy-addr';
import { hashGateToken, recordGateDenial, touchGateSession } from '../auth/gate.ts';
import { lookUpGate } from '../auth/gate-lookup.ts';
import { decideAccess, idleClockDue, type GateDecision } from '../auth/gate-access.ts';
import { countGateDecision } from '../auth/gate-counters.ts';
import type { AppDeps } from '../deps.ts';
import { presentedGateToken } from '../middleware/gate-cookie.ts';
import type { Logger } from '../logger.ts';
import { messagesFor } from '../messages/index.ts';
import { paths } from '../paths.ts';
import { portalUrl } from './gate-return.ts';
import {
  AUTHZ_HEADERS,
  answer,
  endpointFor,
  sendAllowed,
  text,
  type Call,
} from './authz-answers.ts';
import { originalRequest, type OriginalRequest } from './authz-request.ts';

/**
 * Forward-auth for reverse proxies. The proxy asks about each request to a protected app; the
 * only 2xx is an allowed request, always with all three identity headers.
 *
 *   GET  /api/authz/auth-request   fromTrustedProxy → authRequest   (nginx auth_request)
 *   GET  /api/authz/forward-auth   fromTrustedProxy → forwardAuth   (Caddy, Traefik)
 *   any other method or path       not answered here (Express's 404)
 *   a failure                      503 with Retry-After, never 500
 *
 * The call sits in front of every request to every protected app, so it is answered on Node's
 * own request and response, before Express (app.ts hands these two paths here): no session is
 * read or made, no cookie set, no bcrypt run, no per-request log line (denials and refusals log
 * their own), and every answer is no-store. What it costs is the one statement of lookUpGate.
 */
export type AuthzHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Reads the original request, looks the person up (one statement) and decides. */
async function decide(
  { db, config, clock, gate }: AppDeps,
  call: Call,
  clientIp: () => string,
  original: OriginalRequest,
): Promise<GateDecision> {
  const token = presentedGateToken(call.req, config);
  const nowMs = clock.now();
  const { apps, identity } = await lookUpGate(gate.pool, {
    tokenHash: token ? hashGateToken(token) : null,
    hostname: original.url.hostname,
    nowMs: Date.now(),
  });
  const decision = decideAccess({
    apps,
    identity,
    url: original.url,
    nowMs,
    rules: {
      idleTimeoutMs: config.sessionIdleTimeoutMs,
      absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
      require2fa: config.require2fa,
      require2faGraceMs: config.require2faGraceMs,
    },
  });
  if (identity && decision.kind !== 'sign_in' && idleClockDue(identity, nowMs)) {
    await touchGateSession(db, {
      sid: identity.sid,
      lastSeenAt: nowMs,
      expiresAtMs: Date.now() + config.sessionIdleTimeoutMs,
    });
  }
  if (decision.kind === 'deny' && decision.userId) {
    const userAgent = call.req.headers['user-agent'];
    await recordGateDenial(db, {
      userId: decision.userId,
      app: decision.app?.name ?? original.url.hostname,
      reason: decision.reason,
      ip: clientIp(),
      userAgent: typeof userAgent === 'string' ? userAgent : null,
      now: new Date(nowMs),
    });
  }
  if (decision.kind === 'deny')
    call
      .log()
      .info(
        { event: 'authz_denied', reason: decision.reason, userId: decision.userId },
        'authz denied',
      );
  return decision;
}

function badRequest(call: Call, reason: string): void {
  call
    .log()
    .warn({ event: 'authz_refused', reason }, 'authz call without usable forwarded headers');
  countGateDecision(call.endpoint, 'bad_request');
  text(call, 400, call.t.gate.badRequest());
}

/** The portal page a refusal sends the person to, with the original URL to come back to. */
function portalTarget(deps: AppDeps, decision: GateDecision, url: URL): string {
  const path =
    decision.kind === 'enrol'
      ? paths.twoFactorSetup
      : decision.kind === 'deny'
        ? paths.accessDenied
        : paths.signIn;
  return portalUrl(deps.config.baseUrl, path, url.href);
}

/** nginx: 401 (sign in or enrol first) and 403 carry the portal page in Location; 200 the identity. */
async function authRequest(deps: AppDeps, call: Call, clientIp: () => string): Promise<void> {
  const original = originalRequest(call.req, 'auth-request');
  if (!original.ok) return badRequest(call, original.reason);
  const decision = await decide(deps, call, clientIp, original.request);
  if (decision.kind === 'allow') {
    countGateDecision('auth-request', 'allowed');
    return sendAllowed(call, decision.headers);
  }
  const location = { Location: portalTarget(deps, decision, original.request.url) };
  if (decision.kind === 'deny') {
    countGateDecision('auth-request', 'denied');
    return text(call, 403, call.t.gate.deniedPlain(decision.app?.name ?? null), location);
  }
  countGateDecision(
    'auth-request',
    decision.kind === 'enrol' ? 'enrolment_redirect' : 'sign_in_redirect',
  );
  text(
    call,
    401,
    decision.kind === 'enrol' ? call.t.gate.enrolmentRequired() : call.t.gate.signInRequired(),
    location,
  );
}

/** Caddy and Traefik copy a non-2xx answer to the browser: redirects for navigations, else 401. */
async function forwardAuth(
  deps: AppDeps,
  app: Express,
  call: Call,
  clientIp: () => string,
): Promise<void> {
  const original = originalRequest(call.req, 'forward-auth');
  if (!original.ok) return badRequest(call, original.reason);
  const { url, method, navigation } = original.request;
  const decision = await decide(deps, call, clientIp, original.request);
  if (decision.kind === 'allow') {
    countGateDecision('forward-auth', 'allowed');
    return sendAllowed(call, decision.headers);
  }
  if (decision.kind === 'deny') {
    countGateDecision('forward-auth', 'denied');
    const denied = decision.app;
    if (!navigation) return text(call, 403, call.t.gate.deniedPlain(denied?.name ?? null));
    const html = await new Promise<string>((resolve, reject) =>
      app.render(
        'gate/denied',
        {
          ...call.t.gate.denied(denied?.name ?? null, denied?.allowedGroups ?? []),
          portal: deps.config.baseUrl,
          t: call.t,
        },
        (error, page) => (error ? reject(error) : resolve(page)),
      ),
    );
    return answer(call, 403, { 'Content-Type': 'text/html; charset=utf-8' }, html);
  }
  if (!navigation) {
    countGateDecision('forward-auth', 'sign_in_required');
    return text(call, 401, call.t.gate.signInRequired());
  }
  countGateDecision(
    'forward-auth',
    decision.kind === 'enrol' ? 'enrolment_redirect' : 'sign_in_redirect',
  );
  // GET and HEAD are sent on as they were; anything else is turned into a GET of the portal page.
  const status = method === 'GET' || method === 'HEAD' ? 302 : 303;
  answer(call, status, { Location: portalTarget(deps, decision, url) });
}

/** Nothing here answers 500: a dead database (or anything else) is a 503 the proxy can show. */
function unavailable(call: Call, error: unknown): void {
  call.log().error({ err: error }, 'authz call failed');
  countGateDecision(call.endpoint, 'unavailable');
  if (call.res.headersSent) {
    call.req.socket.destroy();
    return;
  }
  text(call, 503, call.t.gate.unavailable(), { 'Retry-After': '5' });
}

/**
 * The handler app.ts puts in front of Express: answers the two authz endpoints (true) and leaves
 * every other request to Express (false). TRUST_PROXY is read as Express compiled it.
 */
export function authzHandler(deps: AppDeps, app: Express): AuthzHandler {
  const trust = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  return function authz(req, res) {
    const endpoint = endpointFor(req);
    if (!endpoint) return false;
    let child: Logger | undefined;
    const call: Call = {
      req,
      res,
      endpoint,
      t: messagesFor(
        typeof req.headers['accept-language'] === 'string'
          ? req.headers['accept-language']
          : undefined,
      ),
      log: () =>
        (child ??= deps.logger.child({ reqId: crypto.randomUUID(), path: req.url?.split('?')[0] })),
    };
    for (const [name, value] of Object.entries(AUTHZ_HEADERS)) res.setHeader(name, value);
    const peer = req.socket.remoteAddress ?? '';
    if (!trust(peer, 0)) {
      call
        .log()
        .warn(
          { event: 'authz_refused', reason: 'untrusted_proxy', peer },
          'authz call from an untrusted address',
        );
      countGateDecision(endpoint, 'untrusted_proxy');
      text(call, 403, call.t.gate.untrustedProxy());
      return true;
    }
    const clientIp = () => proxyAddr(req, trust);
    const handling =
      endpoint === 'auth-request'
        ? authRequest(deps, call, clientIp)
        : forwardAuth(deps, app, call, clientIp);
    handling.catch((error: unknown) => unavailable(call, error));
    return true;
  };
}
