import crypto from 'node:crypto';
import {
  Router,
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { hashGateToken, lookUpGate, recordGateDenial, touchGateSession } from '../auth/gate.ts';
import {
  decideAccess,
  idleClockDue,
  type GateDecision,
  type IdentityHeaders,
} from '../auth/gate-access.ts';
import { countGateDecision, type GateEndpoint } from '../auth/gate-counters.ts';
import type { AppDeps } from '../deps.ts';
import { presentedGateToken } from '../middleware/gate-cookie.ts';
import type { Logger } from '../logger.ts';
import { messagesFor } from '../messages/index.ts';
import { paths } from '../paths.ts';
import { portalUrl } from './gate-return.ts';
import { originalRequest, type OriginalRequest } from './authz-request.ts';

/**
 * Forward-auth for reverse proxies (mounted before the session middleware: no session is read or
 * made, no cookie set, no bcrypt run; every answer is no-store). The proxy asks about each request
 * to a protected app; the only 2xx is an allowed request, always with all three identity headers.
 *
 *   *    /api/authz/*              authzContext (wording, lazy logger, fixed headers)
 *   GET  /api/authz/auth-request   fromTrustedProxy → authRequest   (nginx auth_request)
 *   GET  /api/authz/forward-auth   fromTrustedProxy → forwardAuth   (Caddy, Traefik)
 *   *    /api/authz/*              authzErrors (503, never 500)
 *
 * app.ts mounts this first, before the request logger and helmet: the call sits in front of
 * every request to every protected app, so it gets a context of its own that costs nothing
 * until used (no per-request log line: denials and refusals log their own).
 */
export function authzRoutes(deps: AppDeps): Router {
  return Router()
    .use(paths.authz, authzContext(deps.logger))
    .get(paths.authzAuthRequest, fromTrustedProxy('auth-request'), authRequest(deps))
    .get(paths.authzForwardAuth, fromTrustedProxy('forward-auth'), forwardAuth(deps))
    .use(paths.authz, authzErrors);
}

// The answers are plain text, redirects and (Caddy, Traefik) the denied page: no script, nothing
// framed, nothing cached.
const AUTHZ_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

function authzContext(logger: Logger): RequestHandler {
  return function authzContext(req, res, next) {
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: true,
      get: () => {
        if (!child) {
          req.id = crypto.randomUUID();
          child = logger.child({ reqId: req.id, path: req.path });
        }
        return child;
      },
    });
    req.t = messagesFor(req.get('accept-language'));
    res.locals.t = req.t;
    res.set(AUTHZ_HEADERS);
    next();
  };
}

function endpointOf(req: Request): GateEndpoint {
  return req.path === paths.authzAuthRequest ? 'auth-request' : 'forward-auth';
}

/** Forwarded headers are believed only from TRUST_PROXY's addresses; anyone else gets a 403. */
function fromTrustedProxy(endpoint: GateEndpoint): RequestHandler {
  return function fromTrustedProxy(req, res, next) {
    const trust = req.app.get('trust proxy fn') as (address: string, hop: number) => boolean;
    if (trust(req.socket.remoteAddress ?? '', 0)) return next();
    req.log.warn(
      { event: 'authz_refused', reason: 'untrusted_proxy', peer: req.socket.remoteAddress },
      'authz call from an untrusted address',
    );
    countGateDecision(endpoint, 'untrusted_proxy');
    res.status(403).type('text/plain').send(req.t.gate.untrustedProxy());
  };
}

/** The one way to answer 2xx: every identity header set, each non-empty (checked again here). */
function sendAllowed(res: Response, headers: IdentityHeaders): void {
  const values = Object.values(headers);
  if (values.length !== 3 || values.some((value) => typeof value !== 'string' || value === ''))
    throw new Error('an allowed answer without its identity headers');
  res.status(200).set(headers).end();
}

/** Reads the original request, looks the person up (one statement) and decides. */
async function decide(
  { db, config, clock }: AppDeps,
  req: Request,
  original: OriginalRequest,
): Promise<GateDecision> {
  const token = presentedGateToken(req, config);
  const nowMs = clock.now();
  const { apps, identity } = await lookUpGate(db, {
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
    await recordGateDenial(db, {
      userId: decision.userId,
      app: decision.app?.name ?? original.url.hostname,
      reason: decision.reason,
      ip: req.ip ?? 'unknown',
      userAgent: req.get('user-agent') ?? null,
      now: new Date(nowMs),
    });
  }
  if (decision.kind === 'deny')
    req.log.info(
      { event: 'authz_denied', reason: decision.reason, userId: decision.userId },
      'authz denied',
    );
  return decision;
}

function badRequest(req: Request, res: Response, endpoint: GateEndpoint, reason: string) {
  req.log.warn({ event: 'authz_refused', reason }, 'authz call without usable forwarded headers');
  countGateDecision(endpoint, 'bad_request');
  res.status(400).type('text/plain').send(req.t.gate.badRequest());
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
function authRequest(deps: AppDeps): RequestHandler {
  return async function authRequest(req, res) {
    const original = originalRequest(req, 'auth-request');
    if (!original.ok) return badRequest(req, res, 'auth-request', original.reason);
    const decision = await decide(deps, req, original.request);
    if (decision.kind === 'allow') {
      countGateDecision('auth-request', 'allowed');
      return sendAllowed(res, decision.headers);
    }
    res.set('Location', portalTarget(deps, decision, original.request.url)).type('text/plain');
    if (decision.kind === 'deny') {
      countGateDecision('auth-request', 'denied');
      return res.status(403).send(req.t.gate.deniedPlain(decision.app?.name ?? null));
    }
    countGateDecision(
      'auth-request',
      decision.kind === 'enrol' ? 'enrolment_redirect' : 'sign_in_redirect',
    );
    res
      .status(401)
      .send(
        decision.kind === 'enrol' ? req.t.gate.enrolmentRequired() : req.t.gate.signInRequired(),
      );
  };
}

/** Caddy and Traefik copy a non-2xx answer to the browser: redirects for navigations, else 401. */
function forwardAuth(deps: AppDeps): RequestHandler {
  return async function forwardAuth(req, res) {
    const original = originalRequest(req, 'forward-auth');
    if (!original.ok) return badRequest(req, res, 'forward-auth', original.reason);
    const { url, method, navigation } = original.request;
    const decision = await decide(deps, req, original.request);
    if (decision.kind === 'allow') {
      countGateDecision('forward-auth', 'allowed');
      return sendAllowed(res, decision.headers);
    }
    if (decision.kind === 'deny') {
      countGateDecision('forward-auth', 'denied');
      const app = decision.app;
      if (!navigation)
        return res
          .status(403)
          .type('text/plain')
          .send(req.t.gate.deniedPlain(app?.name ?? null));
      return res.status(403).render('gate/denied', {
        ...req.t.gate.denied(app?.name ?? null, app?.allowedGroups ?? []),
        portal: deps.config.baseUrl,
      });
    }
    if (!navigation) {
      countGateDecision('forward-auth', 'sign_in_required');
      return res.status(401).type('text/plain').send(req.t.gate.signInRequired());
    }
    countGateDecision(
      'forward-auth',
      decision.kind === 'enrol' ? 'enrolment_redirect' : 'sign_in_redirect',
    );
    const status = method === 'GET' || method === 'HEAD' ? 302 : 303;
    res.redirect(status, portalTarget(deps, decision, url));
  };
}

/** Nothing here answers 500: a dead database (or anything else) is a 503 the proxy can show. */
const authzErrors: ErrorRequestHandler = (error, req, res, _next) => {
  req.log.error({ err: error }, 'authz call failed');
  countGateDecision(endpointOf(req), 'unavailable');
  if (res.headersSent) return req.socket.destroy();
  res.status(503).set('Retry-After', '5').type('text/plain').send(req.t.gate.unavailable());
};
