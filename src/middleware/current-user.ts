import type { RequestHandler } from 'express';
import type { Db } from '../db/knex.ts';
import { findUserById } from '../auth/users.ts';
import { resetSession } from './session/state.ts';

/**
 * Loads the signed-in user. A session whose user is gone or deactivated is ended on the spot, so
 * deactivation takes effect on the very next request even before its sessions are deleted.
 */
export function loadCurrentUser(db: Db): RequestHandler {
  return async (req, res, next) => {
    res.locals.user = null;
    const userId = req.session.userId;
    if (userId === undefined) return next();
    const user = await findUserById(db, userId);
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
