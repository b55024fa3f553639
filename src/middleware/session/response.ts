/**
 * THE ONE PLACE THAT PATCHES THE RESPONSE. Everything below happens inside `res.render(...)` and
 * `res.redirect(...)`, so a reader of a route should know it:
 *
 * 1. A changed session is saved *before* the page or redirect goes out, instead of express-session's
 *    default of saving while the response is being written. Otherwise a failed save (database down)
 *    would come after a 200 page or a redirect had been sent, with a cookie pointing at nothing;
 *    this way the person gets the "temporarily unavailable" page instead.
 * 2. After that save, express-session's own save at the end of the response is skipped while the
 *    data is unchanged (after a regenerate it cannot tell that the new row is already written).
 * 3. A session that holds no sign-in (only a form's CSRF secret or a notice) gets a short cookie
 *    and row lifetime, so bots fetching the sign-in page leave rows the pruning job soon removes.
 * 4. Every "too many attempts" page (429) is sent `delayMs` late. Refusing a throttled attempt
 *    costs little, but a script that sends its next guess the moment it gets an answer would still
 *    keep the processor busy and slow everyone else's sign-in down. Held back, each of its
 *    connections gets one answer per `delayMs`; nobody else waits.
 *
 * Renders given a callback (the error handler's) send the page themselves: only (4) applies.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, RequestHandler } from 'express';
import { ANONYMOUS_SESSION_TTL_MS } from '../../auth/limits.ts';
import { saveSession } from './state.ts';

/** The session's own data, without the cookie (whose expiry express-session moves by itself). */
function snapshot(data: Request['session'] | undefined): string | undefined {
  if (!data) return undefined;
  return JSON.stringify({ ...data, cookie: undefined });
}

function skipRepeatedSave(req: Request): void {
  const session = req.session;
  const committed = snapshot(session);
  const save = session.save;
  Object.defineProperty(session, 'save', {
    configurable: true,
    enumerable: false,
    writable: true,
    value(this: typeof session, callback?: (error?: unknown) => void) {
      if (req.session === session && snapshot(session) === committed) {
        callback?.();
        return this;
      }
      return save.call(this, callback);
    },
  });
}

export function commitSessionBeforeResponse(options: { throttledDelayMs: number }): RequestHandler {
  // Only a 429 waits; every other page goes on at once, without a turn of the event loop.
  const afterHold = (status: number, go: () => void) => {
    if (status === 429 && options.throttledDelayMs > 0)
      void sleep(options.throttledDelayMs).then(go);
    else go();
  };

  return (req, res, next) => {
    const loaded = snapshot(req.session);
    const changed = () => req.session !== undefined && snapshot(req.session) !== loaded;
    const commit = async () => {
      if (changed()) {
        const { userId, pending, enrolment } = req.session;
        if (userId === undefined && pending === undefined && enrolment === undefined)
          req.session.cookie.maxAge = ANONYMOUS_SESSION_TTL_MS;
        await saveSession(req);
        skipRepeatedSave(req);
      }
    };

    const render = res.render.bind(res);
    res.render = ((
      view: string,
      locals?: object,
      callback?: (error: Error | null, html: string) => void,
    ) => {
      if (callback) {
        afterHold(res.statusCode, () => render(view, locals ?? {}, callback));
        return;
      }
      afterHold(res.statusCode, () =>
        render(view, locals ?? {}, (error: Error | null, html: string) => {
          if (error) return next(error);
          // Most pages change nothing in the session (a new visitor's sign-in page among them).
          if (!changed()) return void res.send(html);
          commit().then(() => res.send(html), next);
        }),
      );
    }) as typeof res.render;

    const redirect = res.redirect.bind(res) as (status: number, url: string) => void;
    res.redirect = ((status: number | string, url?: string) => {
      commit().then(
        () => (typeof status === 'number' ? redirect(status, url!) : redirect(302, status)),
        next,
      );
    }) as typeof res.redirect;
    next();
  };
}
