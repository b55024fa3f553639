import type { RequestHandler } from 'express';
import session from 'express-session';
import pg from 'pg';
import type { Config } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import { deferSessionWithoutCookie } from './deferred.ts';
import { createPgSessionStore, isSessionLoadFailure } from './store.ts';

/** The session middleware and the pool behind its store, closed together at shutdown. */
export interface SessionStore {
  middleware: RequestHandler;
  /** The store's own pool, for the metrics of its use. */
  pool: pg.Pool;
  close(): Promise<void>;
}

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

/**
 * express-session on our PostgreSQL store (store.ts), with its own small pool so that a burst of
 * page views cannot starve the domain's queries of connections. Sessions are saved by
 * response.ts before each response, never by express-session's own resave or touch.
 */
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

  const express = session({
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

  // A session the store could not read (the database failed or was too slow) is left as it is.
  // express-session would delete its row when the response ends, since the request has no session
  // (its `unset: 'destroy'`), signing the person out because of a hiccup. Without an id it leaves
  // the row and the cookie alone, and the person gets the "temporarily unavailable" page. Any
  // other error (a row read but unusable) is left to express-session, which deletes the row.
  const loadOrKeep: RequestHandler = (req, res, next) =>
    express(req, res, (error?: unknown) => {
      if (isSessionLoadFailure(error)) delete (req as { sessionID?: string }).sessionID;
      next(error);
    });

  // A GET or HEAD without a session cookie gets a stand-in that starts the session only if the
  // request writes to it (deferred.ts); every other request goes to express-session directly.
  const middleware = deferSessionWithoutCookie(loadOrKeep, sessionCookieName(config));

  return {
    middleware,
    pool,
    async close() {
      await store.close();
      await pool.end();
    },
  };
}
