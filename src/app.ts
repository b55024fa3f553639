import type { IncomingMessage, ServerResponse } from 'node:http';
import ejs from 'ejs';
import express, { type Express } from 'express';
import {
  FORM_BODY_LIMIT,
  FORM_PARAMETER_LIMIT,
  THROTTLED_RESPONSE_DELAY_MS,
} from './auth/limits.ts';
import type { AppDeps } from './deps.ts';
import { PUBLIC_DIR, VIEWS_DIR } from './dirs.ts';
import * as format from './format.ts';
import { enforceAccountRequirements } from './middleware/account-requirements.ts';
import { csrfProtection, rejectCrossSite } from './middleware/csrf.ts';
import { loadCurrentUser } from './middleware/current-user.ts';
import { errorHandler, notFound } from './middleware/errors.ts';
import { flashMessages } from './middleware/flash.ts';
import { issueGateCookie } from './middleware/gate-cookie.ts';
import { adminGuards } from './middleware/guards.ts';
import { requestContext } from './middleware/request-context.ts';
import { noStore, securityHeaders } from './middleware/security-headers.ts';
import { commitSessionBeforeResponse } from './middleware/session/response.ts';
import { enforceSessionTimeouts } from './middleware/session/timeouts.ts';
import { paths } from './paths.ts';
import { adminAppClientRoutes } from './routes/admin-app-client.ts';
import { adminAppsRoutes } from './routes/admin-apps.ts';
import { adminUserEmailRoutes } from './routes/admin-user-email.ts';
import { adminUserGroupsRoutes } from './routes/admin-user-groups.ts';
import { adminUserRoutes } from './routes/admin-user.ts';
import { authzHandler } from './routes/authz.ts';
import { adminUsersRoutes } from './routes/admin-users.ts';
import { timeRequests } from './metrics.ts';
import { confirmRoutes } from './routes/confirm.ts';
import { recoverExpiredSignInForms } from './routes/expired-forms.ts';
import { gatePagesRoutes } from './routes/gate-pages.ts';
import { healthRoutes } from './routes/health.ts';
import { createOidc } from './oidc/handle.ts';
import { oidcInteractionRoutes } from './routes/oidc-interactions.ts';
import { homeRoutes } from './routes/home.ts';
import { emailSettingsRoutes } from './routes/email-settings.ts';
import { forgotPasswordRoutes, passwordResetRoutes } from './routes/password-reset.ts';
import { recoveryCodesSettingsRoutes } from './routes/recovery-codes-settings.ts';
import { settingsRoutes } from './routes/settings.ts';
import { setupRoutes } from './routes/setup.ts';
import { signInCodeRoutes } from './routes/sign-in-code.ts';
import { signInRoutes, signOutRoutes } from './routes/sign-in.ts';
import { trustedBrowsersSettingsRoutes } from './routes/trusted-browsers-settings.ts';
import { twoFactorSettingsRoutes } from './routes/two-factor-settings.ts';

/**
 * The request flow, in order: forward-auth (before Express, on Node's request: routes/authz.ts) → request id and log
 * line → security headers → static files → health probes (no session) → cross-site refusal → form body → session (load; saved before each
 * response by session/response.ts) → timeouts → the signed-in user → what their account still
 * requires → notices → the anonymous forms' routers (stateless CSRF) → session-bound CSRF → the other routers → 404 → the one error handler.
 */
export function createApp(deps: AppDeps): Express {
  const { db, config, logger, clock, sessions } = deps;
  const app = express();

  app.disable('x-powered-by');
  // Pages are no-store (noStore below), so nobody revalidates them: hashing each body for an
  // ETag would be work for nothing. The static files keep theirs (express.static makes its own).
  app.set('etag', false);
  app.set(
    'trust proxy',
    Array.isArray(config.trustProxy) ? [...config.trustProxy] : config.trustProxy,
  );
  // Templates are indented for people; the pages need none of that whitespace. (ejs 7 no longer
  // reads Express's "view options", so the options are given here.) Includes name their file from
  // the views root ('/partials/head'), which ejs resolves without asking the file system each time.
  app.engine('ejs', (file, data, callback) => {
    ejs.renderFile(
      file,
      data,
      { rmWhitespace: true, cache: config.isProduction, root: VIEWS_DIR },
      callback as (error: Error | null, html?: string) => void,
    );
  });
  app.set('view engine', 'ejs');
  app.set('views', VIEWS_DIR);
  app.locals.appName = config.appName;
  app.locals.baseUrl = config.baseUrl;
  app.locals.format = format;
  // Without a way to send mail (production, no SMTP_URL), "Forgot your password?" says to ask an admin.
  app.locals.resetByEmail = config.mail.transport !== 'off';

  app.use(requestContext(app, logger, clock));
  app.use(timeRequests);
  app.use(securityHeaders(config.isProduction));
  app.use(
    paths.publicFiles,
    express.static(PUBLIC_DIR, { index: false, maxAge: config.isProduction ? '1h' : 0 }),
  );
  // Everything but the static files is no-store, health probes included: a cached "ready" lies.
  app.use(noStore);
  app.use(healthRoutes(db));

  // The OpenID provider parses its own bodies and answers apps' servers as well as browsers, so it
  // comes before the cross-site check and the form parser; it reads Keygate's session (whose
  // person it signs in) but keeps its own CSRF defences (state, PKCE, its xsrf fields).
  const oidc = createOidc(deps);
  app.use(
    paths.oidc,
    sessions.middleware,
    enforceSessionTimeouts(config, clock),
    loadCurrentUser(db),
    oidc.middleware,
  );

  app.use(rejectCrossSite);
  app.use(
    express.urlencoded({
      extended: false,
      limit: FORM_BODY_LIMIT,
      parameterLimit: FORM_PARAMETER_LIMIT,
    }),
  );
  app.use(sessions.middleware);
  app.use(commitSessionBeforeResponse({ throttledDelayMs: THROTTLED_RESPONSE_DELAY_MS }));
  app.use(enforceSessionTimeouts(config, clock));
  app.use(loadCurrentUser(db));
  app.use(issueGateCookie(config));
  app.use(enforceAccountRequirements(db, config, clock));
  app.use(flashMessages);
  // Anonymous forms carry a stateless token (anonymousFormCsrf in their own pipelines), so that
  // showing them to a new visitor stores nothing; every router after csrfProtection has tokens
  // bound to the session. A router with an anonymous form goes in this group, and only such.
  app.use(signInRoutes(deps));
  app.use(forgotPasswordRoutes(deps));
  app.use(setupRoutes(deps));
  app.use(csrfProtection);

  app.use(signOutRoutes(deps));
  app.use(signInCodeRoutes(deps));
  app.use(passwordResetRoutes(deps));
  app.use(confirmRoutes(deps));
  app.use(emailSettingsRoutes(deps));
  app.use(settingsRoutes(deps));
  app.use(twoFactorSettingsRoutes(deps));
  app.use(recoveryCodesSettingsRoutes(deps));
  app.use(trustedBrowsersSettingsRoutes(deps));
  app.use(paths.admin, ...adminGuards(config));
  app.use(adminUsersRoutes(deps));
  app.use(adminUserRoutes(deps));
  app.use(adminUserGroupsRoutes(deps));
  app.use(adminUserEmailRoutes(deps));
  app.use(adminAppsRoutes(deps));
  app.use(adminAppClientRoutes(deps));
  app.use(gatePagesRoutes(deps));
  app.use(oidcInteractionRoutes(deps, oidc));
  app.use(homeRoutes(deps));

  app.use(recoverExpiredSignInForms);
  app.use(notFound);
  app.use(errorHandler);

  // Forward-auth answers proxies first, on Node's own request and response: the call comes before
  // every request to every protected app, and Express's per-request work would be most of its
  // cost. (An Express app is a function that calls app.handle; listen() and supertest both go
  // through it, so this is the one entrance.)
  const authz = authzHandler(deps, app);
  const inner = app as unknown as { handle(...args: unknown[]): void };
  const handle = inner.handle.bind(app);
  Object.assign(app, {
    handle(req: IncomingMessage, res: ServerResponse, callback?: unknown) {
      if (!authz(req, res)) handle(req, res, callback);
    },
  });
  return app;
}
