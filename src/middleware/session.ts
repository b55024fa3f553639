import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../clock.ts';
import { ANONYMOUS_SESSION_TTL_MS } from '../auth/limits.ts';
import { createPgSessionStore } from './session-store.ts';

export interface Flash {
  kind: 'success' | 'info' | 'error';
  text: string;
}

declare module 'express-session' {
  interface SessionData {
    /** Set only once sign-in is complete (both factors when 2FA is on). */
    userId: string;
    /** When this signed-in session began: the absolute timeout counts from here. */
    createdAt: number;
    /** Last request seen, at one-minute precision: the idle timeout counts from here. */
    lastSeenAt: number;
    /** Last full authentication (password, plus a code with 2FA): "recent authentication". */
    authAt: number;
    /** The user's session generation when this session was issued (see auth/sessions.ts). */
    generation: number;
    /** Where the sign-in came from, for the person's list of their sessions. */
    ip: string;
    userAgent: string;
    flash: Flash;
    /** A correct password waiting for its second factor (no userId yet: nothing is reachable). */
    pending: { ref: string; userId: string; startedAt: number; next: string };
    /** 2FA enrolment in progress: the new secret, encrypted, until a first code confirms it. */
    enrolment: { secret: string; startedAt: number; failures: number };
    /** Recovery codes just made, encrypted, viewable until the person says they saved them. */
    freshCodes: { codes: string; createdAt: number };
  }
}

/** How stale lastSeenAt may get before we save it: bounds session writes to one a minute. */
const LAST_SEEN_PRECISION_MS = 60_000;

export function sessionCookieName(config: Config): string {
  // __Host- cookies must be Secure, Path=/ and have no Domain: browsers enforce all three.
  return config.isProduction ? '__Host-keygate' : 'keygate.sid';
}

/**
 * The session cookie's attributes, for setting it and for clearing it: a browser ignores a
 * `__Host-` cookie without `Secure`, so a clearing cookie without them would clear nothing.
 */
export function sessionCookieAttributes(config: Config) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.isProduction,
    path: '/',
  };
}

export interface SessionStore {
  middleware: RequestHandler;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createSessionMiddleware(
  config: Config,
  databaseUrl: string,
  logger: Logger,
): SessionStore {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    application_name: 'keygate-sessions',
    statement_timeout: config.dbStatementTimeoutMs,
    connectionTimeoutMillis: 5000,
  });
  // An idle connection killed by the server must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error }, 'session pool connection lost'));

  const store = createPgSessionStore({ pool, tableName: 'sessions', logger });

  const middleware = session({
    name: sessionCookieName(config),
    secret: [...config.sessionSecrets],
    store,
    // The store makes new ids, so that it knows which sessions may be inserted (see its header).
    genid: (req) => store.generateId(req),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    proxy: config.trustProxy !== false,
    cookie: { ...sessionCookieAttributes(config), maxAge: config.sessionIdleTimeoutMs },
  });

  return {
    middleware,
    pool,
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => (error ? reject(error) : resolve())),
  );
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.destroy((error) => (error ? reject(error) : resolve())),
  );
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.save((error) => (error ? reject(error) : resolve())),
  );
}

/** Starts a fresh signed-in session for `userId`: a new id, so a planted id is never promoted. */
export async function startSignedInSession(
  req: Request,
  user: { id: string; sessionGeneration: number },
  now: number,
): Promise<void> {
  await regenerateSession(req);
  Object.assign(req.session, {
    userId: user.id,
    generation: user.sessionGeneration,
    createdAt: now,
    lastSeenAt: now,
    authAt: now,
    ip: req.ip ?? 'unknown',
    userAgent: (req.get('user-agent') ?? '').slice(0, 300),
  });
}

/** A correct password for a 2FA user: a new session that holds only the pending sign-in. */
export async function startPendingSignIn(
  req: Request,
  userId: string,
  now: number,
  next: string,
): Promise<void> {
  await regenerateSession(req);
  req.session.pending = {
    ref: crypto.randomBytes(16).toString('base64url'),
    userId,
    startedAt: now,
    next,
  };
}

/**
 * After "confirm it's you" or a change that ended the user's other sessions: a new session id,
 * same sign-in, fresh authentication time, and (if given) the user's new session generation.
 */
export async function refreshAuthentication(
  req: Request,
  now: number,
  generation?: number,
): Promise<void> {
  const { userId, createdAt, ip, userAgent } = req.session;
  const kept = generation ?? req.session.generation;
  await regenerateSession(req);
  Object.assign(req.session, {
    userId,
    createdAt,
    ip,
    userAgent,
    generation: kept,
    lastSeenAt: now,
    authAt: now,
  });
}

export function setFlash(req: Request, kind: Flash['kind'], text: string): void {
  req.session.flash = { kind, text };
}

/**
 * Idle and absolute timeouts, enforced here on the server from times kept in the session: the
 * cookie's own expiry is the browser's business and is never trusted (a forged one changes
 * nothing). The store's expire column is a second, coarser bound.
 */
export function enforceSessionTimeouts(config: Config, clock: Clock): RequestHandler {
  return async (req, _res, next) => {
    const data = req.session;
    if (data.createdAt === undefined) return next();
    const now = clock.now();
    const lastSeenAt = data.lastSeenAt ?? data.createdAt;
    const idle = now - lastSeenAt > config.sessionIdleTimeoutMs;
    const tooOld = now - data.createdAt > config.sessionAbsoluteTimeoutMs;
    if (idle || tooOld) {
      const wasSignedIn = data.userId !== undefined;
      await regenerateSession(req);
      if (wasSignedIn)
        setFlash(
          req,
          'info',
          'You were signed out because your session expired. Please sign in again.',
        );
      return next();
    }
    if (now - lastSeenAt >= LAST_SEEN_PRECISION_MS) data.lastSeenAt = now;
    next();
  };
}

/** The session's own data, without the cookie (whose expiry express-session moves by itself). */
function snapshot(data: Request['session'] | undefined): string | undefined {
  if (!data) return undefined;
  return JSON.stringify({ ...data, cookie: undefined });
}

/**
 * After a regenerate, express-session cannot tell that we already saved the new session (its
 * bookkeeping only follows sessions it made itself), so at the end of the response it would write
 * the same row a second time. Once committed, its save skips the write while the data is unchanged;
 * any later change is still saved.
 */
function skipRepeatedSave(req: Request): void {
  const session = req.session;
  const committed = snapshot(session);
  const save = session.save;
  Object.defineProperty(session, 'save', {
    configurable: true,
    enumerable: false,
    writable: true,
    value(this: typeof session, callback?: (error?: unknown) => void) {
      if (req.session === session && snapshot(session) === committed) {
        callback?.();
        return this;
      }
      return save.call(this, callback);
    },
  });
}

/**
 * Saves a changed session *before* the response goes out, instead of express-session's default of
 * saving while the response is being written. Otherwise a failed save (database down) would come
 * after a 200 page or a redirect had already been sent, with a cookie pointing at nothing; this
 * way the person gets the "temporarily unavailable" page instead. It also hands one-shot flash
 * messages to the page being rendered (a redirect keeps them for the next page).
 */
export const commitSessionBeforeResponse: RequestHandler = (req, res, next) => {
  const loaded = snapshot(req.session);
  const commit = async () => {
    if (req.session && snapshot(req.session) !== loaded) {
      const { userId, pending, enrolment } = req.session;
      if (userId === undefined && pending === undefined && enrolment === undefined)
        req.session.cookie.maxAge = ANONYMOUS_SESSION_TTL_MS;
      await saveSession(req);
      skipRepeatedSave(req);
    }
  };

  const render = res.render.bind(res);
  res.render = ((
    view: string,
    locals?: object,
    callback?: (error: Error | null, html: string) => void,
  ) => {
    // With a callback the caller sends the page itself (the error handler does): no commit.
    if (callback) return render(view, locals ?? {}, callback);
    const options: Record<string, unknown> = typeof locals === 'object' ? { ...locals } : {};
    if (req.session?.flash) {
      options.flash = req.session.flash;
      delete req.session.flash;
    }
    render(view, options, (error: Error | null, html: string) => {
      if (error) return next(error);
      commit().then(() => res.send(html), next);
    });
  }) as typeof res.render;

  const redirect = res.redirect.bind(res) as (status: number, url: string) => void;
  res.redirect = ((status: number | string, url?: string) => {
    commit().then(
      () => (typeof status === 'number' ? redirect(status, url!) : redirect(302, status)),
      next,
    );
  }) as typeof res.redirect;
  next();
};
