import type { Request, RequestHandler, Response } from 'express';
import { cookieValue } from '../cookies.ts';

type Session = Request['session'];

/** Session methods that act on the session: calling one starts it. */
const METHODS = new Set(['regenerate', 'destroy', 'reload', 'save', 'touch', 'resetMaxAge']);

/**
 * A stand-in for the session of a GET or HEAD that brought no session cookie: there is nothing to
 * load, and most such requests (a new visitor's sign-in page, a bot) store nothing either. Making,
 * hashing and comparing an empty session for each of them was a good part of what the sign-in
 * page cost.
 *
 * Until something writes to it, the stand-in reads as an empty session: every field undefined, no
 * keys. The first write, or call of a session method (regenerate, save, …), runs express-session
 * on the spot (without a cookie it loads nothing and calls back at once),
 * and from then on `req.session` is the real, new session and the stand-in forwards to it. So a
 * request that stores something gets exactly the session and cookie it would have had.
 */
function deferredSession(req: Request, res: Response, start: RequestHandler): Session {
  let real: Session | undefined;
  const session = (): Session => {
    if (real) return real;
    // express-session leaves a request that already has a session alone: take the stand-in away.
    delete (req as { session?: Session }).session;
    let failure: unknown;
    void start(req, res, (error?: unknown) => {
      failure = error;
    });
    if (failure !== undefined || !req.session)
      throw failure ?? new Error('express-session did not start a session');
    real = req.session;
    return real;
  };
  const fields = (): Record<PropertyKey, unknown> =>
    (real ?? {}) as unknown as Record<PropertyKey, unknown>;
  return new Proxy({} as Session, {
    get(_target, key) {
      if (real) return Reflect.get(real, key);
      if (typeof key === 'string' && METHODS.has(key))
        return (...args: unknown[]) =>
          (session() as unknown as Record<string, (...a: unknown[]) => unknown>)[key]!(...args);
      if (key === 'cookie' || key === 'id') return Reflect.get(session(), key);
      return undefined;
    },
    set(_target, key, value) {
      return Reflect.set(session(), key, value);
    },
    deleteProperty(_target, key) {
      return real ? Reflect.deleteProperty(real, key) : true;
    },
    has(_target, key) {
      return key in fields();
    },
    ownKeys() {
      return Reflect.ownKeys(fields());
    },
    getOwnPropertyDescriptor(_target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(fields(), key);
      // A proxy may only report a property its target lacks as configurable.
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

/**
 * express-session (`start`, with the cookie `name`) for the requests that may have a session,
 * and the stand-in above for a GET or HEAD that brought no session cookie.
 */
export function deferSessionWithoutCookie(start: RequestHandler, name: string): RequestHandler {
  return (req, res, next) => {
    // Any session cookie, valid or not, is express-session's to read.
    if ((req.method !== 'GET' && req.method !== 'HEAD') || cookieValue(req, name) !== undefined)
      return start(req, res, next);
    req.session = deferredSession(req, res, start);
    next();
  };
}
