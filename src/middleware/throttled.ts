import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestHandler } from 'express';

/**
 * Sends every "too many attempts" page (429) `delayMs` late. Refusing a throttled attempt costs
 * little, but a script that sends its next guess the moment it gets an answer would still keep
 * the processor busy at full speed and slow everyone else's sign-in down. Held back, each of its
 * connections gets one answer per `delayMs`. Nobody else waits: only the 429 itself is held.
 */
export function holdThrottledResponses(delayMs: number): RequestHandler {
  return (_req, res, next) => {
    const render = res.render.bind(res) as (...args: unknown[]) => void;
    res.render = ((...args: unknown[]) => {
      if (res.statusCode !== 429 || delayMs <= 0) return render(...args);
      void sleep(delayMs).then(() => render(...args));
    }) as typeof res.render;
    next();
  };
}
