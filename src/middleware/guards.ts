import type { RequestHandler } from 'express';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { coveredByPolicy } from '../auth/policy.ts';
import { paths, withQuery } from '../paths.ts';
import { HttpError } from './errors.ts';

/** Pages behind sign-in: anonymous visitors go to /login and come back here afterwards. */
export const requireAuth: RequestHandler = (req, res, next) => {
  if (req.user) return next();
  if (req.session.pending) return res.redirect(303, paths.signInCode);
  if (req.method === 'GET' || req.method === 'HEAD') {
    const back = req.originalUrl === paths.home ? undefined : req.originalUrl;
    return res.redirect(303, withQuery(paths.signIn, { next: back }));
  }
  res.redirect(303, paths.signIn);
};

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (req.user?.role === 'admin') return next();
  next(new HttpError(403, req.t.admin.adminsOnly()));
};

/** Admins covered by the 2FA policy administer only with their own 2FA on. */
export function requireOwnTwoFactor(config: Config): RequestHandler {
  return (req, _res, next) => {
    const user = req.user;
    if (user && coveredByPolicy(config.require2fa, user) && !user.totpEnabledAt)
      return next(new HttpError(403, req.t.admin.ownTwoFactorFirst()));
    next();
  };
}

/** Every /admin page: a signed-in administrator, with their own 2FA where the policy says so. */
export function adminGuards(config: Config): RequestHandler[] {
  return [requireAuth, requireAdmin, requireOwnTwoFactor(config)];
}

/**
 * Sensitive actions need a full authentication within the last few minutes (ASVS 7.5.1). Without
 * one, the person confirms it is them first and comes back to `back` (by default the page at
 * this path: every sensitive POST has a GET page offering it).
 */
export function requireRecentAuth(
  windowMs: number,
  clock: Clock,
  options: { back?: string } = {},
): RequestHandler {
  return (req, res, next) => {
    const authAt = req.session.authAt ?? 0;
    if (clock.now() - authAt <= windowMs) return next();
    const target = req.method === 'GET' ? req.originalUrl : (options.back ?? req.path);
    res.redirect(303, withQuery(paths.confirm, { next: target }));
  };
}
