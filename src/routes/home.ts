import { Router, type RequestHandler } from 'express';
import { listUserGroups } from '../auth/groups.ts';
import { appsOpenTo } from '../auth/protected-apps.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser } from '../http.ts';
import { requireAuth } from '../middleware/guards.ts';
import { paths } from '../paths.ts';

/**
 * The signed-in start page, with the protected apps the person may open.
 *
 *   GET  /   requireAuth → showHome
 */
export function homeRoutes(deps: AppDeps): Router {
  return Router().get(paths.home, requireAuth, showHome(deps));
}

function showHome({ db, config }: AppDeps): RequestHandler {
  return async function showHome(req, res) {
    const groups = await listUserGroups(db, currentUser(req).id);
    const scheme = config.isProduction ? 'https' : 'http';
    const apps = (await appsOpenTo(db, groups)).map((app) => ({
      name: app.name,
      href: `${scheme}://${app.host}${app.pathPrefix}/`,
      twoFactor: app.policy === 'two-factor',
    }));
    res.render('home/index', { apps, groups });
  };
}
