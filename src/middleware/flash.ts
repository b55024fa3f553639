import type { Request, RequestHandler } from 'express';
import type { Flash } from '../http.ts';

/** A one-shot notice for the next page the person sees (usually after a redirect). */
export function setFlash(
  req: Request,
  kind: Flash['kind'],
  text: string,
  options: { links?: Flash['links'] } = {},
): void {
  req.session.flash = options.links?.length ? { kind, text, links: options.links } : { kind, text };
}

/**
 * Hands the notice to the page that shows it. `res.locals.flash` takes the notice out of the
 * session when a page is rendered (Express reads the locals then), so a notice set before a
 * redirect, or before a second redirect, waits for the first page that is actually shown.
 */
export const flashMessages: RequestHandler = (req, res, next) => {
  let taken: Flash | null = null;
  Object.defineProperty(res.locals, 'flash', {
    configurable: true,
    enumerable: true,
    get(): Flash | null {
      const waiting = req.session?.flash;
      if (waiting) {
        taken = waiting;
        delete req.session.flash;
      }
      return taken;
    },
  });
  next();
};
