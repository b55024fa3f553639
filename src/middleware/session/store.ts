import connectPgSimple from 'connect-pg-simple';
import type { Request } from 'express';
import session from 'express-session';
import type pg from 'pg';
import { randomToken } from '../../auth/random-tokens.ts';
import { toUser, USER_COLUMNS, type User, type UserRow } from '../../auth/users.ts';
import type { Logger } from '../../logger.ts';

type Done = (error?: unknown) => void;

/** The user a session row named when it was loaded, read by the same statement. */
export interface UserLoadedWithSession {
  /** The session's user id as stored in its row (sessions.user_id), if it had one. */
  userId: string | null;
  /** That user, or null when there is no such user. */
  user: User | null;
}

const loadedUsers = new WeakMap<Request, UserLoadedWithSession>();
const LOADED_USER = Symbol('keygate.loadedUser');
type LoadedSessionData = session.SessionData & { [LOADED_USER]?: UserLoadedWithSession };

const loadFailures = new WeakSet<object>();

/**
 * Whether `error` is the store failing to read a session (the database down, slow or refusing),
 * as opposed to a session that was read and could not be used.
 */
export function isSessionLoadFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && loadFailures.has(error);
}

/**
 * The user this request's session named when the store loaded it, once: undefined if the session
 * was not loaded from a row in this request (a new one), was rotated since, or was already taken.
 * current-user.ts uses it instead of a statement of its own, so a signed-in page reads its session
 * and its user in one round trip.
 */
export function takeUserLoadedWithSession(req: Request): UserLoadedWithSession | undefined {
  const loaded = loadedUsers.get(req);
  loadedUsers.delete(req);
  return loaded;
}

/**
 * connect-pg-simple with these changes. Loading and saving use named (prepared) statements, so
 * PostgreSQL parses and plans them once per connection instead of on every page view. Loading also
 * reads the session's user (see get). And rotating a session id costs one statement, not two.
 *
 * express-session's regenerate deletes the old row at once and inserts the new one when the session
 * is saved, two round trips on every sign-in step. Here the old row's DELETE goes in the same
 * statement as the new row's INSERT, so the rotation is also atomic: a failed save leaves the old
 * session as it was instead of neither. If the new session is never saved, the old row is deleted
 * when the response ends, so an old id never outlives the request that replaced it.
 *
 * And a save never brings back a row that is gone. Ending a session (sign out, "sign out" in the
 * sessions list, an ended pending sign-in) deletes its row; a request that loaded the session
 * before the delete still saves it afterwards, and connect-pg-simple's save is an upsert, so the
 * ended session came back (#48). Here only an id this store just made may insert: a new session
 * (through `generateId`, express-session's `genid`) or a rotated one, and a rotated one only if
 * the row it replaces was still there (or never stored). Every other save is an UPDATE, which
 * changes nothing once the row is deleted.
 */
export function createPgSessionStore(options: {
  pool: pg.Pool;
  tableName: string;
  logger: Logger;
}): session.Store & { close(): void | Promise<void>; generateId(req: Request): string } {
  const PgStore = connectPgSimple(session);
  const table = `"${options.tableName}"`;
  const userColumns = USER_COLUMNS.map((column) => `u.${column}`).join(', ');

  class RotatingPgStore extends PgStore {
    /**
     * New session id → the ids it replaces, whose rows go when it is first saved, and whether one
     * of them was never stored (then there is no row to find, and the new one may be inserted).
     */
    readonly #retiring = new Map<string, { ids: string[]; fromUnsaved: boolean }>();
    /** Ids of brand-new sessions, not stored yet: the only ones a plain save may insert. */
    readonly #unsaved = new Set<string>();

    /** express-session's `genid`: a new session's id (192 random bits), allowed one insert. */
    generateId(req: Request): string {
      const sid = randomToken(24);
      this.#unsaved.add(sid);
      const forget = () => this.#unsaved.delete(sid);
      if (req.res) req.res.once('close', forget);
      else setTimeout(forget, 60_000).unref();
      return sid;
    }

    override regenerate(req: Request, done: Done): void {
      loadedUsers.delete(req);
      const old = req.sessionID;
      const earlier = this.#retiring.get(old);
      this.#retiring.delete(old);
      const fromUnsaved = this.#unsaved.delete(old) || (earlier?.fromUnsaved ?? false);
      // express-session puts generate() on the store it is given.
      (this as unknown as { generate(req: Request): void }).generate(req);
      const fresh = req.sessionID;
      this.#unsaved.delete(fresh);
      this.#retiring.set(fresh, { ids: [...(earlier?.ids ?? []), old], fromUnsaved });
      req.res?.once('close', () => {
        const left = this.#retiring.get(fresh);
        if (!left) return;
        this.#retiring.delete(fresh);
        options.pool
          .query(`DELETE FROM ${table} WHERE sid = ANY($1)`, [left.ids])
          .catch((error: unknown) =>
            options.logger.error({ err: error }, 'a replaced session was not deleted'),
          );
      });
      done();
    }

    /**
     * The session and, in the same statement, the user its row names (sessions.user_id, set from
     * the session's userId by a trigger). The user travels to createSession on the data under a
     * symbol, which neither express-session's copy of the data nor its change hash sees.
     */
    override get(
      sid: string,
      done: (error: unknown, data?: session.SessionData | null) => void,
    ): void {
      options.pool
        .query<{ sess: LoadedSessionData; session_user_id: string | null } & UserRow>({
          name: 'keygate_session_load',
          text: `SELECT s.sess, s.user_id AS session_user_id, ${userColumns}
                   FROM ${table} s LEFT JOIN users u ON u.id = s.user_id
                  WHERE s.sid = $1 AND s.expire >= to_timestamp($2)`,
          values: [sid, Math.ceil(Date.now() / 1000)],
        })
        .then(
          (result) => {
            const row = result.rows[0];
            // A row whose data is not an object (JSON null) is no session: a new one starts.
            if (!row || typeof row.sess !== 'object' || row.sess === null) return done(null, null);
            const { sess, session_user_id: userId } = row;
            sess[LOADED_USER] = {
              userId: userId === null ? null : String(userId),
              user: row.id === null ? null : toUser(row),
            };
            done(null, sess);
          },
          (error: unknown) => {
            if (typeof error === 'object' && error !== null) loadFailures.add(error);
            done(error);
          },
        );
    }

    override createSession(
      req: Request,
      data: session.SessionData,
    ): session.Session & session.SessionData {
      const loaded = (data as LoadedSessionData)[LOADED_USER];
      delete (data as LoadedSessionData)[LOADED_USER];
      if (loaded) loadedUsers.set(req, loaded);
      else loadedUsers.delete(req);
      return super.createSession(req, data);
    }

    override set(sid: string, data: session.SessionData, done?: Done): void {
      // As connect-pg-simple computes it: the cookie's expiry (else a day), in seconds.
      const expiresAt = data.cookie?.expires
        ? new Date(data.cookie.expires)
        : new Date(Date.now() + 86_400_000);
      const expires = Math.ceil(expiresAt.getTime() / 1000);
      const retired = this.#retiring.get(sid);
      if (!retired && this.#unsaved.has(sid)) {
        options.pool
          .query({
            name: 'keygate_session_insert',
            text: `INSERT INTO ${table} (sess, expire, sid) SELECT $1, to_timestamp($2), $3
                   ON CONFLICT (sid) DO UPDATE SET sess = $1, expire = to_timestamp($2)`,
            values: [data, expires, sid],
          })
          .then(
            () => {
              this.#unsaved.delete(sid);
              done?.();
            },
            done ?? (() => undefined),
          );
        return;
      }
      if (!retired) {
        // A session loaded from its row: if the row was deleted meanwhile, it stays deleted.
        options.pool
          .query({
            name: 'keygate_session_update',
            text: `UPDATE ${table} SET sess = $1, expire = to_timestamp($2) WHERE sid = $3`,
            values: [data, expires, sid],
          })
          .then(() => done?.(), done ?? (() => undefined));
        return;
      }
      this.#retiring.delete(sid);
      options.pool
        .query({
          name: 'keygate_session_rotate',
          // The new row only replaces a row that still exists: rotating a session that was ended
          // meanwhile (a sign-out racing "confirm it's you") must not start a new one.
          text: `WITH retired AS (DELETE FROM ${table} WHERE sid = ANY($4) RETURNING sid)
                 INSERT INTO ${table} (sess, expire, sid) SELECT $1, to_timestamp($2), $3
                 WHERE $5::boolean OR EXISTS (SELECT 1 FROM retired)
                 ON CONFLICT (sid) DO UPDATE SET sess = $1, expire = to_timestamp($2)`,
          values: [data, expires, sid, retired.ids, retired.fromUnsaved],
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
      this.#unsaved.delete(sid);
      const retired = this.#retiring.get(sid);
      if (!retired) return super.destroy(sid, done);
      this.#retiring.delete(sid);
      options.pool
        .query(`DELETE FROM ${table} WHERE sid = ANY($1)`, [[sid, ...retired.ids]])
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
