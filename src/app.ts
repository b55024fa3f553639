import ejs from 'ejs';
import express, { type Express } from 'express';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Db } from './db/knex.ts';
import type { Logger } from './logger.ts';
import { THROTTLED_RESPONSE_DELAY_MS } from './auth/limits.ts';
import { loadCurrentUser } from './middleware/auth.ts';
import { csrfProtection, exposeCsrfToken, rejectCrossSite } from './middleware/csrf.ts';
import { errorHandler, notFound } from './middleware/errors.ts';
import { enforceAccountRequirements } from './middleware/policy.ts';
import { requestContext } from './middleware/request-context.ts';
import { noStore, securityHeaders } from './middleware/security-headers.ts';
import { holdThrottledResponses } from './middleware/throttled.ts';
import {
  commitSessionBeforeResponse,
  enforceSessionTimeouts,
  type SessionStore,
} from './middleware/session.ts';
import { timeRequests } from './metrics.ts';
import { PUBLIC_DIR, VIEWS_DIR } from './paths.ts';
import { accountRoutes } from './routes/account.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { confirmRoutes } from './routes/confirm.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.ts';
import { settingsRoutes } from './routes/settings.ts';
import { setupRoutes } from './routes/setup.ts';
import { twoFactorRoutes } from './routes/two-factor.ts';

export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  sessions: SessionStore;
}

/** Largest form body accepted: far above any real form, far below anything that costs memory. */
const BODY_LIMIT = '32kb';

export function createApp(deps: AppDeps): Express {
  const { db, config, logger, clock, sessions } = deps;
  const app = express();

  app.disable('x-powered-by');
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

  app.use(requestContext(logger));
  app.use(timeRequests);
  app.use(securityHeaders(config.isProduction));
  app.use(holdThrottledResponses(THROTTLED_RESPONSE_DELAY_MS));
  app.use(
    '/public',
    express.static(PUBLIC_DIR, { index: false, maxAge: config.isProduction ? '1h' : 0 }),
  );
  // Everything but the static files is no-store, health probes included: a cached "ready" lies.
  app.use(noStore);
  app.use(healthRoutes(db));

  app.use(rejectCrossSite);
  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 50 }));
  app.use(sessions.middleware);
  app.use(commitSessionBeforeResponse);
  app.use(enforceSessionTimeouts(config, clock));
  app.use(loadCurrentUser(db));
  app.use(enforceAccountRequirements(db, config, clock));
  app.use(csrfProtection);
  app.use(exposeCsrfToken);

  app.use(authRoutes(deps));
  app.use(twoFactorRoutes(deps));
  app.use(confirmRoutes(deps));
  app.use(accountRoutes(deps));
  app.use(settingsRoutes(deps));
  app.use(adminRoutes(deps));
  app.use(setupRoutes(deps));
  app.use(homeRoutes());

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
