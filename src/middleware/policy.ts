import type { RequestHandler } from 'express';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/knex.ts';
import { coveredByPolicy, policyState, startGracePeriod } from '../auth/policy.ts';

/** What a signed-in user may still reach while something must be done first. */
const ENROLMENT_PATHS =
  /^\/(settings\/2fa\/(setup|confirm|recovery-codes(\.txt|\/saved)?)|confirm|logout)$/;
const PASSWORD_CHANGE_PATHS = /^\/(settings\/password|logout)$/;

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
      if (PASSWORD_CHANGE_PATHS.test(req.path)) return next();
      return res.redirect(303, '/settings/password');
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
    if (state.kind === 'enforced' && !ENROLMENT_PATHS.test(req.path)) {
      return res.redirect(303, '/settings/2fa/setup');
    }
    next();
  };
}
