import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * A strict CSP: Keygate ships no script at all, no inline style, and only posts forms to itself.
 * HSTS only in production, where Keygate is served over HTTPS.
 */
export function securityHeaders(isProduction: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        ...(isProduction ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: isProduction ? { maxAge: 63_072_000, includeSubDomains: true } : false,
    // same-origin, not no-referrer: with no-referrer, Chromium sends `Origin: null` on our own
    // form posts, which the cross-site check must then refuse. Other sites still get nothing
    // (a setup link's token never leaks in a Referer).
    referrerPolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
}

/** Pages may hold personal data or one-time secrets: never store them in any cache. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
