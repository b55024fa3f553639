import { Router, type RequestHandler } from 'express';
import { requireAuth } from '../middleware/guards.ts';
import { paths } from '../paths.ts';

/**
 * The signed-in start page.
 *
 *   GET  /   requireAuth → showHome
 */
export function homeRoutes(): Router {
  return Router().get(paths.home, requireAuth, showHome);
}

const showHome: RequestHandler = (_req, res) => {
  res.render('home/index');
};
