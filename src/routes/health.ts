import { Router, type RequestHandler } from 'express';
import type { Db } from '../db/knex.ts';
import { paths } from '../paths.ts';

/**
 * Probes for orchestrators: mounted before sessions, so they never touch the session store.
 *
 *   GET  /healthz   alive
 *   GET  /readyz    ready (the database answers)
 */
export function healthRoutes(db: Db): Router {
  return Router().get(paths.health, alive).get(paths.ready, ready(db));
}

const alive: RequestHandler = (_req, res) => {
  res.type('text/plain').send('ok');
};

function ready(db: Db): RequestHandler {
  return async function ready(req, res) {
    try {
      await db.raw('SELECT 1');
      res.type('text/plain').send('ready');
    } catch (error) {
      req.log.warn({ err: error }, 'readiness check failed: database unreachable');
      res.status(503).type('text/plain').send('database unavailable');
    }
  };
}
