import type { RequestHandler } from 'express';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/knex.ts';
import { findUserById, type User } from '../auth/users.ts';
import { HttpError } from './errors.ts';
import { regenerateSession } from './session.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The signed-in user, loaded fresh from the database on every request. */
    user?: User;
  }
}

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
      await regenerateSession(req);
      return next();
    }
    req.user = user;
    res.locals.user = user;
    next();
  };
}

/** Pages behind sign-in: anonymous visitors go to /login and come back here afterwards. */
export const requireAuth: RequestHandler = (req, res, next) => {
  if (req.user) return next();
  if (req.session.pending) return res.redirect(303, '/login/2fa');
  if (req.method === 'GET' || req.method === 'HEAD') {
    const back = req.originalUrl === '/' ? '' : `?next=${encodeURIComponent(req.originalUrl)}`;
    return res.redirect(303, `/login${back}`);
  }
  res.redirect(303, '/login');
};

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (req.user?.role === 'admin') return next();
  next(new HttpError(403, 'Not allowed', 'This page is for administrators only.'));
};

/**
 * Sensitive actions need a full authentication within the last few minutes (ASVS 7.5.1). Without
 * one, the person confirms it is them first and comes back to `back` (by default the page at
 * this path: every sensitive POST has a GET page offering it).
 */
export function requireRecentAuth(windowMs: number, clock: Clock, back?: string): RequestHandler {
  return (req, res, next) => {
    const authAt = req.session.authAt ?? 0;
    if (clock.now() - authAt <= windowMs) return next();
    const target = req.method === 'GET' ? req.originalUrl : (back ?? req.path);
    res.redirect(303, `/confirm?next=${encodeURIComponent(target)}`);
  };
}
