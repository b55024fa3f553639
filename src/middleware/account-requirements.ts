import type { RequestHandler } from 'express';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/knex.ts';
import { coveredByPolicy, policyState, startGracePeriod } from '../auth/policy.ts';
import {
  paths,
  withQuery,
  REACHABLE_WHILE_ENROLMENT_REQUIRED,
  REACHABLE_WHILE_PASSWORD_MUST_CHANGE,
} from '../paths.ts';

/**
 * Two things can stand between a signed-in person and the rest of Keygate: a password an admin
 * set that must be changed, and the 2FA policy once its grace period is over. Either way only the
 * pages that resolve it (and signing out) are reachable. During the grace period, every page
 * shows a banner with the deadline.
 */
export function enforceAccountRequirements(db: Db, config: Config, clock: Clock): RequestHandler {
  return async (req, res, next) => {
    res.locals.policy = null;
    const user = req.user;
    if (!user) return next();
    if (user.mustChangePassword) {
      if (REACHABLE_WHILE_PASSWORD_MUST_CHANGE.has(req.path)) return next();
      return res.redirect(303, paths.password);
    }
    const now = clock.now();
    if (
      coveredByPolicy(config.require2fa, user) &&
      !user.totpEnabledAt &&
      !user.twoFactorGraceStartedAt
    ) {
      user.twoFactorGraceStartedAt = await startGracePeriod(db, user.id, new Date(now));
    }
    const state = policyState(config.require2fa, config.require2faGraceMs, user, now);
    res.locals.policy = state;
    if (state.kind === 'enforced' && !REACHABLE_WHILE_ENROLMENT_REQUIRED.has(req.path)) {
      // An app's sign-in request (OpenID Connect) goes on once 2FA is on, as the gate's do.
      const fromApp = req.method === 'GET' && req.path.startsWith(`${paths.oidcInteraction}/`);
      const rd = fromApp ? `${config.baseUrl}${req.originalUrl}` : null;
      return res.redirect(303, rd ? withQuery(paths.twoFactorSetup, { rd }) : paths.twoFactorSetup);
    }
    next();
  };
}
