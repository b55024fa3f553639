import { Router, type RequestHandler } from 'express';
import { newClientSecret } from '../auth/oidc-clients.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminAppPath, oidcIssuer, paths } from '../paths.ts';
import { editedApp, loadApp } from './admin-apps.ts';
import { keepClientSecret, takeClientSecret } from './client-secret.ts';

/**
 * An app's OpenID Connect client, for its admin: what to enter in the app (issuer, client id,
 * redirect URIs), the client secret once right after it was made (kept encrypted in the admin's
 * session until this page takes it; a reload shows it no more), and a new secret on request.
 *
 *   GET  /admin/apps/:id/client       recent → loadApp → showClient
 *   POST /admin/apps/:id/new-secret   recent → loadApp → makeNewSecret
 */
export function adminAppClientRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  const app = loadApp(deps);
  return Router()
    .get(`${paths.adminApp}/client`, recent, app, showClient(deps))
    .post(`${paths.adminApp}/new-secret`, recent, app, makeNewSecret(deps));
}

function showClient({ config }: AppDeps): RequestHandler {
  return function showClient(req, res) {
    const app = editedApp(res)!;
    if (!app.oidc) throw new HttpError(404, req.t.gate.noSuchApp());
    res.render('admin/app-client', {
      app,
      issuer: oidcIssuer(config.baseUrl),
      secret: takeClientSecret(req, config.totpKeys, app.id),
    });
  };
}

function makeNewSecret({ db, config, clock }: AppDeps): RequestHandler {
  return async function makeNewSecret(req, res) {
    const app = editedApp(res)!;
    const secret = await newClientSecret(db, config.totpKeys, app.id, {
      actorId: currentUser(req).id,
      origin: originOf(req),
      now: new Date(clock.now()),
    });
    if (!secret) throw new HttpError(404, req.t.gate.noSuchApp());
    req.log.info({ event: 'app_changed', appId: app.id }, 'new client secret');
    keepClientSecret(req, config.totpKeys, { appId: app.id, secret });
    res.redirect(303, adminAppPath(app.id, 'client'));
  };
}
