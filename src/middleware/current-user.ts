import type { RequestHandler } from 'express';
import type { Db } from '../db/knex.ts';
import { findUserById } from '../auth/users.ts';
import { resetSession } from './session/state.ts';
import { takeUserLoadedWithSession } from './session/store.ts';

/**
 * Loads the signed-in user, read by the session store in the statement that loaded the session
 * (store.ts) when it can be. A session whose user is gone or deactivated is ended on the spot, so
 * deactivation takes effect on the very next request even before its sessions are deleted.
 */
export function loadCurrentUser(db: Db): RequestHandler {
  return async (req, res, next) => {
    res.locals.user = null;
    const userId = req.session.userId;
    if (userId === undefined) return next();
    // Read with the session when it was loaded (one round trip), unless the session was rotated
    // or names another user since (then the user is read again).
    const loaded = takeUserLoadedWithSession(req);
    const user = loaded && loaded.userId === userId ? loaded.user : await findUserById(db, userId);
    // Gone, deactivated, or all their sessions were ended since this one was issued.
    if (!user || !user.isActive || (req.session.generation ?? 0) !== user.sessionGeneration) {
      await resetSession(req);
      return next();
    }
    req.user = user;
    res.locals.user = user;
    next();
  };
}
