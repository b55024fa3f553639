import { Router } from 'express';
import type { Db } from '../db/knex.ts';

/** Probes for orchestrators: mounted before sessions, so they never touch the session store. */
export function healthRoutes(db: Db): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  router.get('/readyz', async (req, res) => {
    try {
      await db.raw('SELECT 1');
      res.type('text/plain').send('ready');
    } catch (error) {
      req.log.warn({ err: error }, 'readiness check failed: database unreachable');
      res.status(503).type('text/plain').send('database unavailable');
    }
  });
  return router;
}
