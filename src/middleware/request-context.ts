import crypto from 'node:crypto';
import type { Express, Request, RequestHandler } from 'express';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { messagesFor } from '../messages/index.ts';
import { paths } from '../paths.ts';

/**
 * Gives every request an id (sent back as X-Request-Id and shown on error pages) and a logger that
 * stamps it on every line, and logs one line per response: method, path (never the query string,
 * which can carry a setup token; a mailed link's token is cut off the path), status and duration. The per-request child logger is made on
 * first use: most requests log only their one response line, which needs no child. It also picks
 * the wording the request's pages and messages use (`req.t`, `res.locals.t`).
 */
/** A mailed link's token is a credential: the logged path keeps only where it led. */
const LINK_WITH_TOKEN = new RegExp(
  `^(${[paths.passwordResetLink, paths.emailConfirmLink].join('|')})/[^/]+/?$`,
);
function loggedPath(path: string): string {
  return path.replace(LINK_WITH_TOKEN, '$1/…');
}

const CHILD_LOGGER = Symbol('request logger');
type WithChild = Request & { [CHILD_LOGGER]?: Logger };

export function requestContext(app: Express, logger: Logger, clock: Clock): RequestHandler {
  // `req.log` is a getter of Express's request prototype (app.request), defined once: defining it
  // on each request would turn every request object into a slow dictionary of properties.
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: WithChild): Logger {
      return (this[CHILD_LOGGER] ??= logger.child({ reqId: this.id }));
    },
  });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const id = crypto.randomUUID();
    req.id = id;
    req.t = messagesFor(req.get('accept-language'));
    res.locals.t = req.t;
    // Pages say how far off a date is from the app's own clock (a test's clock in tests).
    res.locals.now = clock.now();
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          reqId: id,
          method: req.method,
          path: loggedPath(req.path),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    next();
  };
}
