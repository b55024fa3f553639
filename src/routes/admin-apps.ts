import { Router, type Request, type RequestHandler, type Response } from 'express';
import { createOidcApp, updateApp } from '../auth/oidc-clients.ts';
import {
  createProtectedApp,
  findAppById,
  listApps,
  removeProtectedApp,
  type ProtectedApp,
} from '../auth/protected-apps.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminAppPath, paths } from '../paths.ts';
import { parseAppFormWithClient } from '../validation/apps.ts';
import type { FieldErrors } from '../validation/forms.ts';
import { keepClientSecret } from './client-secret.ts';

/**
 * Apps (behind app.ts's adminGuards): each with its policy, and a host for the gate, an OpenID
 * Connect client, or both (the client's own pages: admin-app-client.ts). Every change needs a
 * recent authentication and is audited; it takes effect on the next authz call or sign-in, and
 * ends what the app's client was issued.
 *
 *   GET  /admin/apps              showApps
 *   GET  /admin/apps/new          recent → showAppForm
 *   POST /admin/apps/new          recent → saveApp
 *   GET  /admin/apps/:id          recent → loadApp → showAppForm
 *   POST /admin/apps/:id          recent → loadApp → saveApp
 *   GET  /admin/apps/:id/remove   recent → loadApp → showRemoveApp
 *   POST /admin/apps/:id/remove   recent → loadApp → removeApp
 */
export function adminAppsRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  const app = loadApp(deps);
  return Router()
    .get(paths.adminApps, showApps(deps))
    .get(paths.adminNewApp, recent, showAppForm)
    .post(paths.adminNewApp, recent, saveApp(deps))
    .get(paths.adminApp, recent, app, showAppForm)
    .post(paths.adminApp, recent, app, saveApp(deps))
    .get(`${paths.adminApp}/remove`, recent, app, showRemoveApp)
    .post(`${paths.adminApp}/remove`, recent, app, removeApp(deps));
}

/** The app an /admin/apps/:id route acts on, kept in res.locals for the handler and the view. */
export function loadApp({ db }: AppDeps): RequestHandler {
  return async function loadApp(req, res, next) {
    const app = await findAppById(db, String(req.params.id));
    if (!app) return next(new HttpError(404, req.t.gate.noSuchApp()));
    res.locals.app = app;
    next();
  };
}

export function editedApp(res: Response): ProtectedApp | null {
  return (res.locals.app as ProtectedApp | undefined) ?? null;
}

function showApps({ db }: AppDeps): RequestHandler {
  return async function showApps(_req, res) {
    res.render('admin/apps', { apps: await listApps(db) });
  };
}

const FIELDS = [
  'name',
  'host',
  'pathPrefix',
  'policy',
  'groups',
  'oidc',
  'redirectUris',
  'postLogoutRedirectUris',
  'clientType',
  'firstParty',
] as const;
type AppValues = Record<(typeof FIELDS)[number], string>;

function valuesOf(app: ProtectedApp | null): AppValues {
  const client = app?.oidc;
  return {
    name: app?.name ?? '',
    host: app?.host ?? '',
    pathPrefix: app?.pathPrefix ?? '',
    policy: app?.policy ?? 'signed-in',
    groups: app?.allowedGroups.join(', ') ?? '',
    oidc: client ? 'yes' : '',
    redirectUris: client?.redirectUris.join('\n') ?? '',
    postLogoutRedirectUris: client?.postLogoutRedirectUris.join('\n') ?? '',
    clientType: client?.isPublic ? 'public' : 'confidential',
    firstParty: client?.firstParty ? 'yes' : '',
  };
}

function renderAppForm(res: Response, status: number, values: AppValues, errors: FieldErrors) {
  const app = editedApp(res);
  res.status(status).render('admin/app-form', {
    values,
    errors,
    action: app ? adminAppPath(app.id) : paths.adminNewApp,
  });
}

const showAppForm: RequestHandler = (_req, res) =>
  renderAppForm(res, 200, valuesOf(editedApp(res)), {});

/** What the person typed, safe to show again. */
function typedValues(req: Request): AppValues {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const text = (name: string) =>
    typeof body[name] === 'string' ? String(body[name]).slice(0, 10_000) : '';
  return Object.fromEntries(FIELDS.map((name) => [name, text(name)])) as AppValues;
}

function saveApp({ db, clock, config }: AppDeps): RequestHandler {
  return async function saveApp(req, res) {
    const form = parseAppFormWithClient(req.body);
    if (!form.ok) return renderAppForm(res, 400, typedValues(req), form.errors);
    const existing = editedApp(res);
    const input = form.data;
    const actor = {
      actorId: currentUser(req).id,
      origin: originOf(req),
      now: new Date(clock.now()),
    };
    const keys = config.totpKeys;
    const result = existing
      ? await updateApp(db, keys, existing.id, input, actor)
      : input.oidc
        ? await createOidcApp(db, keys, { ...input, oidc: input.oidc }, actor)
        : await createProtectedApp(db, input, actor);
    if (!result.ok && result.reason === 'not_found')
      throw new HttpError(404, req.t.gate.noSuchApp());
    if (!result.ok) {
      const errors: FieldErrors =
        result.reason === 'name_taken'
          ? { name: req.t.gate.appNameTaken() }
          : { host: req.t.gate.appPlaceTaken() };
      return renderAppForm(res, 409, typedValues(req), errors);
    }
    req.log.info(
      { event: existing ? 'app_changed' : 'app_created', appId: result.app.id },
      'protected app saved',
    );
    setFlash(req, 'success', req.t.gate.appSaved(result.app.name, !existing));
    // A new client secret is shown once, on the page this redirects to (Post/Redirect/Get).
    const secret = 'clientSecret' in result ? (result.clientSecret as string | null) : null;
    if (secret) keepClientSecret(req, keys, { appId: result.app.id, secret });
    res.redirect(303, result.app.oidc ? adminAppPath(result.app.id, 'client') : paths.adminApps);
  };
}

const showRemoveApp: RequestHandler = (_req, res) => {
  res.render('admin/app-remove', { app: editedApp(res) });
};

function removeApp({ db, clock }: AppDeps): RequestHandler {
  return async function removeApp(req, res) {
    const app = editedApp(res)!;
    const actor = {
      actorId: currentUser(req).id,
      origin: originOf(req),
      now: new Date(clock.now()),
    };
    await removeProtectedApp(db, app.id, actor);
    req.log.info({ event: 'app_removed', appId: app.id }, 'protected app removed');
    setFlash(req, 'success', req.t.gate.appRemoved(app.name));
    res.redirect(303, paths.adminApps);
  };
}
