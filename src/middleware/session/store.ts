import connectPgSimple from 'connect-pg-simple';
import type { Request } from 'express';
import session from 'express-session';
import type pg from 'pg';
import type { Logger } from '../../logger.ts';

type Done = (error?: unknown) => void;

/**
 * connect-pg-simple with two changes. Loading and saving use named (prepared) statements, so
 * PostgreSQL parses and plans them once per connection instead of on every page view. And rotating
 * a session id costs one statement, not two.
 *
 * express-session's regenerate deletes the old row at once and inserts the new one when the session
 * is saved, two round trips on every sign-in step. Here the old row's DELETE goes in the same
 * statement as the new row's INSERT, so the rotation is also atomic: a failed save leaves the old
 * session as it was instead of neither. If the new session is never saved, the old row is deleted
 * when the response ends, so an old id never outlives the request that replaced it.
 */
export function createPgSessionStore(options: {
  pool: pg.Pool;
  tableName: string;
  logger: Logger;
}): session.Store & { close(): void | Promise<void> } {
  const PgStore = connectPgSimple(session);
  const table = `"${options.tableName}"`;

  class RotatingPgStore extends PgStore {
    /** New session id → the ids it replaces, whose rows go when it is first saved. */
    readonly #retiring = new Map<string, string[]>();

    override regenerate(req: Request, done: Done): void {
      const old = req.sessionID;
      const earlier = this.#retiring.get(old) ?? [];
      this.#retiring.delete(old);
      // express-session puts generate() on the store it is given.
      (this as unknown as { generate(req: Request): void }).generate(req);
      const fresh = req.sessionID;
      this.#retiring.set(fresh, [...earlier, old]);
      req.res?.once('close', () => {
        const left = this.#retiring.get(fresh);
        if (!left) return;
        this.#retiring.delete(fresh);
        options.pool
          .query(`DELETE FROM ${table} WHERE sid = ANY($1)`, [left])
          .catch((error: unknown) =>
            options.logger.error({ err: error }, 'a replaced session was not deleted'),
          );
      });
      done();
    }

    override get(
      sid: string,
      done: (error: unknown, data?: session.SessionData | null) => void,
    ): void {
      options.pool
        .query<{ sess: session.SessionData }>({
          name: 'keygate_session_load',
          text: `SELECT sess FROM ${table} WHERE sid = $1 AND expire >= to_timestamp($2)`,
          values: [sid, Math.ceil(Date.now() / 1000)],
        })
        .then((result) => done(null, result.rows[0]?.sess ?? null), done);
    }

    override set(sid: string, data: session.SessionData, done?: Done): void {
      // As connect-pg-simple computes it: the cookie's expiry (else a day), in seconds.
      const expiresAt = data.cookie?.expires
        ? new Date(data.cookie.expires)
        : new Date(Date.now() + 86_400_000);
      const expires = Math.ceil(expiresAt.getTime() / 1000);
      const retired = this.#retiring.get(sid);
      if (!retired) {
        options.pool
          .query({
            name: 'keygate_session_save',
            text: `INSERT INTO ${table} (sess, expire, sid) SELECT $1, to_timestamp($2), $3
                   ON CONFLICT (sid) DO UPDATE SET sess = $1, expire = to_timestamp($2)`,
            values: [data, expires, sid],
          })
          .then(() => done?.(), done ?? (() => undefined));
        return;
      }
      this.#retiring.delete(sid);
      options.pool
        .query({
          name: 'keygate_session_rotate',
          text: `WITH retired AS (DELETE FROM ${table} WHERE sid = ANY($4))
                 INSERT INTO ${table} (sess, expire, sid) SELECT $1, to_timestamp($2), $3
                 ON CONFLICT (sid) DO UPDATE SET sess = $1, expire = to_timestamp($2)`,
          values: [data, expires, sid, retired],
        })
        .then(
          () => done?.(),
          (error: unknown) => {
            // Not saved: the old rows are still there, and still due to go.
            this.#retiring.set(sid, retired);
            done?.(error);
          },
        );
    }

    override destroy(sid: string, done?: Done): void {
      const retired = this.#retiring.get(sid);
      if (!retired) return super.destroy(sid, done);
      this.#retiring.delete(sid);
      options.pool
        .query(`DELETE FROM ${table} WHERE sid = ANY($1)`, [[sid, ...retired]])
        .then(() => done?.(), done ?? (() => undefined));
    }
  }

  return new RotatingPgStore({
    pool: options.pool,
    tableName: options.tableName,
    createTableIfMissing: false,
    // Expiry is moved only when the session is saved (at most once a minute, see session.ts), so
    // a page view costs no write.
    disableTouch: true,
    // Expired sessions are deleted by our own pruning job (auth/retention.ts).
    pruneSessionInterval: false,
    errorLog: (...args: unknown[]) =>
      options.logger.error({ detail: args.map(String).join(' ') }, 'session store error'),
  });
}
