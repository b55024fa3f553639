import { Router } from 'express';
import { requireAuth } from '../middleware/auth.ts';

export function homeRoutes(): Router {
  const router = Router();
  router.get('/', requireAuth, (_req, res) => {
    res.render('home/index');
  });
  return router;
}
