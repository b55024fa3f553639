import { Router, type RequestHandler } from 'express';
import { hashPassword } from '../auth/passwords.ts';
import { createFirstAdmin, isSetupTokenValid } from '../auth/setup-tokens.ts';
import { hasAnyUser } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { originOf } from '../http.ts';
import { anonymousFormCsrf, clearAnonymousFormCookie } from '../middleware/csrf.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { startSignedInSession } from '../middleware/session/state.ts';
import { paths } from '../paths.ts';
import { parseForm, textField } from '../validation/forms.ts';
import { setupForm } from '../validation/setup.ts';

/**
 * The first administrator, from the one-time link Keygate prints while it has no user. An
 * anonymous form (stateless CSRF token; app.ts mounts this before csrfProtection).
 *
 *   GET  /setup   anonymousFormCsrf → showSetup
 *   POST /setup   anonymousFormCsrf → createAdmin   (then signed in, on to /)
 */
export function setupRoutes(deps: AppDeps): Router {
  const csrf = anonymousFormCsrf(deps.config, deps.clock);
  return Router()
    .get(paths.setup, csrf, showSetup(deps))
    .post(paths.setup, csrf, createAdmin(deps));
}

const tokenParam = textField('Setup token', { max: 200 });

function showSetup({ db }: AppDeps): RequestHandler {
  return async function showSetup(req, res) {
    if (await hasAnyUser(db)) throw new HttpError(410, req.t.setup.done());
    const token = tokenParam.safeParse(req.query.token);
    if (!token.success || !token.data || !(await isSetupTokenValid(db, token.data)))
      throw new HttpError(403, req.t.setup.badLink());
    res.render('setup/index', { values: { token: token.data, email: '' }, errors: {} });
  };
}

function createAdmin({ db, config, clock }: AppDeps): RequestHandler {
  return async function createAdmin(req, res) {
    if (await hasAnyUser(db)) throw new HttpError(410, req.t.setup.done());
    const form = parseForm(setupForm, req.body);
    const body = (req.body ?? {}) as { token?: unknown; email?: unknown };
    const values = {
      token: typeof body.token === 'string' ? body.token.slice(0, 200) : '',
      email: typeof body.email === 'string' ? body.email.slice(0, 254) : '',
    };
    if (!form.ok) {
      if (form.errors.token) throw new HttpError(403, req.t.setup.badLink());
      return res.status(400).render('setup/index', { values, errors: form.errors });
    }
    const passwordHash = await hashPassword(form.data.password, config.bcryptCost);
    const now = clock.now();
    const result = await createFirstAdmin(db, form.data.token, {
      email: form.data.email,
      passwordHash,
      origin: originOf(req),
      now: new Date(now),
    });
    if (!result.ok) throw new HttpError(403, req.t.setup.badLink());
    req.log.info(
      { event: 'first_admin_created', userId: result.user.id },
      'first administrator created',
    );
    clearAnonymousFormCookie(res, config);
    await startSignedInSession(req, result.user, now, 'password');
    const welcome = req.t.signIn.welcome(config.appName);
    setFlash(req, 'success', welcome.text, { links: welcome.links });
    res.redirect(303, paths.home);
  };
}
