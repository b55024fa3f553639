import type { ErrorRequestHandler, RequestHandler } from 'express';
import { en, type PageText } from '../messages/index.ts';

/** An expected HTTP failure: its page text (from messages/) is safe to show to the person. */
export class HttpError extends Error {
  readonly status: number;
  readonly title: string;
  readonly link: PageText['link'];
  constructor(status: number, page: PageText) {
    super(page.message);
    this.status = status;
    this.title = page.title;
    this.link = page.link;
  }
}

const PG_UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown (backend terminated)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up or shutting down)
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '55000', // object_not_in_prerequisite_state (database not accepting connections)
  '3D000', // invalid_catalog_name (database gone)
]);
const NODE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/** True when an error means "the database cannot be used right now" rather than a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && (PG_UNAVAILABLE_CODES.has(code) || code.startsWith('08')))
    return true;
  if (typeof code === 'string' && NODE_NET_CODES.has(code)) return true;
  if (name === 'KnexTimeoutError') return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection|not accepting connections/i.test(
      message,
    )
  );
}

/** Errors that body-parser and csurf raise for bad requests, mapped to a page a person can act on. */
function describeClientError(
  error: { type?: string; code?: string; status?: number },
  t: typeof en,
): HttpError | null {
  if (error.code === 'EBADCSRFTOKEN') return new HttpError(403, t.errors.formExpired());
  switch (error.type) {
    case 'entity.too.large':
      return new HttpError(413, t.errors.tooLarge());
    case 'parameters.too.many':
      return new HttpError(413, t.errors.tooManyFields());
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError(415, t.errors.unsupportedEncoding());
    case 'entity.parse.failed':
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpError(400, t.errors.unreadable());
  }
  if (
    error.status === 400 ||
    error.status === 404 ||
    error.status === 405 ||
    error.status === 414
  ) {
    return new HttpError(error.status, t.errors.badRequest());
  }
  return null;
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, req.t.errors.notFound()));
};

/**
 * The one error path. Expected failures show their own message; the database being down shows a
 * "temporarily unavailable" page (503); everything else is logged with the request id and shows a
 * generic page. No stack trace ever reaches the response.
 */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const t = req.t ?? en;
  let page: HttpError;
  if (error instanceof HttpError) {
    page = error;
  } else if (isDatabaseUnavailable(error)) {
    req.log.error({ err: error }, 'database unavailable');
    page = new HttpError(503, t.errors.databaseUnavailable({ sentAForm: req.method === 'POST' }));
    res.set('Retry-After', '30');
  } else {
    page = describeClientError(error, t) ?? new HttpError(500, t.errors.unexpected());
    if (page.status >= 500) req.log.error({ err: error }, 'unhandled error');
    else
      req.log.warn(
        { status: page.status, reason: error.type ?? error.code ?? error.message },
        'bad request',
      );
  }
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.status(page.status);
  res.set('Cache-Control', 'no-store');
  // A form that failed (expired token, too large) links back to itself: every POST route here has
  // a GET page at the same path.
  const back = req.method === 'POST' && page.status < 500 && page.status !== 404 ? req.path : null;
  res.render(
    'errors/error',
    {
      title: page.title,
      message: page.message,
      link: page.link ?? null,
      status: page.status,
      requestId: req.id,
      back,
    },
    (renderError, html) => {
      if (renderError) {
        req.log.error({ err: renderError }, 'error page failed to render');
        res.type('text/plain').send(t.errors.plain(page, req.id));
        return;
      }
      res.send(html);
    },
  );
};
