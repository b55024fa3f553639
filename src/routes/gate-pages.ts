import { Router, type RequestHandler } from 'express';
import { mostSpecificApp, listAppsOnHost } from '../auth/protected-apps.ts';
import { parseReturnUrl } from '../auth/return-address.ts';
import type { AppDeps } from '../deps.ts';
import { paths } from '../paths.ts';
import { gateReturnUrl } from './gate-return.ts';

/**
 * The portal's pages around forward-auth.
 *
 *   GET  /continue?rd=URL   continueToApp   (a same-origin stop on the way to a protected app)
 *   GET  /denied?rd=URL     showDenied      (403 naming the app; nginx's error_page 403 lands here)
 *
 * Why /continue: Chromium applies the sign-in page's `form-action 'self'` to every redirect that
 * follows the form's POST, however many same-origin hops come first, and whatever CSP the
 * redirects carry. So POST /login answers 303 to /continue, a page of its own (200) that moves on
 * with <meta http-equiv="refresh"> and a link: a new navigation, not the form's, so the CSP stays
 * `form-action 'self'` everywhere and no script is needed.
 */
export function gatePagesRoutes(deps: AppDeps): Router {
  return Router()
    .get(paths.continueToApp, continueToApp(deps))
    .get(paths.accessDenied, showDenied(deps));
}

function continueToApp(deps: AppDeps): RequestHandler {
  return async function continueToApp(req, res) {
    const target = await gateReturnUrl(deps, req.query.rd);
    if (!target) return res.redirect(303, paths.home);
    res.render('gate/continue', { target, host: new URL(target).host });
  };
}

function showDenied({ db, config }: AppDeps): RequestHandler {
  return async function showDenied(req, res) {
    const url = parseReturnUrl(req.query.rd, { allowHttp: !config.isProduction });
    const apps = url ? await listAppsOnHost(db, url.hostname) : [];
    const app = url ? mostSpecificApp(apps, url.hostname, url.pathname) : null;
    res.status(403).render('gate/denied', {
      ...req.t.gate.denied(
        app?.name ?? null,
        app?.policy === 'nobody' ? [] : (app?.allowedGroups ?? []),
      ),
      portal: '',
    });
  };
}
