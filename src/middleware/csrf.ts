import type { RequestHandler } from 'express';
import csurf from 'csurf';
import { HttpError } from './errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser tells us came from another site, before the
 * token is even looked at (defence in depth next to the token and SameSite=Lax cookies).
 */
export const rejectCrossSite: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const site = req.get('sec-fetch-site');
  const origin = req.get('origin');
  const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
  let foreignOrigin = false;
  // Sec-Fetch-Site cannot be set by a page; when it says same-origin, an opaque "null" Origin (sent
  // under some referrer policies) is our own form.
  if (origin !== undefined && !(origin === 'null' && site === 'same-origin')) {
    try {
      foreignOrigin = new URL(origin).host !== req.get('host');
    } catch {
      foreignOrigin = true; // "null" and anything unparsable
    }
  }
  if (crossSite || foreignOrigin) {
    req.log.warn({ site, origin }, 'cross-site request refused');
    return next(new HttpError(403, req.t.errors.crossSite()));
  }
  next();
};

/**
 * Synchroniser tokens kept in the server-side session (csurf session mode). The token is read from
 * the form's `_csrf` field only: csurf's default also takes it from the query string, where it
 * would sit in access logs, history and Referer headers, and from four headers no form sends.
 */
export const csrfProtection: RequestHandler = csurf({
  cookie: false,
  value: (req) => {
    const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    return typeof token === 'string' ? token : '';
  },
});

/** Forms call csrfToken() in the view; only pages with a form create a token. */
export const exposeCsrfToken: RequestHandler = (req, res, next) => {
  res.locals.csrfToken = () => req.csrfToken();
  next();
};
