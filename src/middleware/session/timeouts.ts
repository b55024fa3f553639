import type { RequestHandler } from 'express';
import type { Clock } from '../../clock.ts';
import type { Config } from '../../config.ts';
import { LAST_SEEN_PRECISION_MS } from '../../auth/limits.ts';
import { setFlash } from '../flash.ts';
import { resetSession } from './state.ts';

/**
 * Idle and absolute timeouts, enforced here on the server from times kept in the session: the
 * cookie's own expiry is the browser's business and is never trusted (a forged one changes
 * nothing). The store's expire column is a second, coarser bound.
 */
export function enforceSessionTimeouts(config: Config, clock: Clock): RequestHandler {
  return async (req, _res, next) => {
    const data = req.session;
    if (data.createdAt === undefined) return next();
    const now = clock.now();
    const lastSeenAt = data.lastSeenAt ?? data.createdAt;
    const idle = now - lastSeenAt > config.sessionIdleTimeoutMs;
    const tooOld = now - data.createdAt > config.sessionAbsoluteTimeoutMs;
    if (idle || tooOld) {
      const wasSignedIn = data.userId !== undefined;
      await resetSession(req);
      if (wasSignedIn) setFlash(req, 'info', req.t.session.expired());
      return next();
    }
    if (now - lastSeenAt >= LAST_SEEN_PRECISION_MS) data.lastSeenAt = now;
    next();
  };
}
