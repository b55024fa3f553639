import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { RequestOrigin } from '../auth/origin.ts';
import { recordSignOut } from '../auth/sessions.ts';
import {
  checkPassword,
  completePasswordSignIn,
  completeTrustedBrowserSignIn,
} from '../auth/sign-in.ts';
import { mayTrustBrowser } from '../auth/trusted-browsers.ts';
import { findUserById, type User } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { originOf } from '../http.ts';
import { anonymousFormCsrf, clearAnonymousFormCookie } from '../middleware/csrf.ts';
import { setFlash } from '../middleware/flash.ts';
import { gateCookieAttributes, gateCookieName } from '../middleware/gate-cookie.ts';
import { requireAuth } from '../middleware/guards.ts';
import {
  presentedTrustedBrowserToken,
  trustedBrowserRules,
} from '../middleware/trusted-browser-cookie.ts';
import { sessionCookieAttributes, sessionCookieName } from '../middleware/session/setup.ts';
import {
  destroySession,
  startPendingSignIn,
  startSignedInSession,
} from '../middleware/session/state.ts';
import { paths } from '../paths.ts';
import { parseForm, safeReturnPath, type FieldErrors } from '../validation/forms.ts';
import { loginForm } from '../validation/login.ts';
import { endKeygateGrants } from '../oidc/session-grants.ts';
import { continuePath, gateReturnUrl } from './gate-return.ts';

/**
 * The password step: an anonymous form, so its CSRF token needs no session (showing it to a new
 * visitor stores nothing; app.ts mounts this before the session-bound csrfProtection).
 *
 *   GET  /login    anonymousFormCsrf → showSignIn   (?rd=URL of a protected app: back there afterwards)
 *   POST /login    anonymousFormCsrf → signIn       (password; 2FA users go on to /login/2fa,
 *                                                    unless the browser is one they trusted:
 *                                                    see auth/trusted-browsers.ts)
 */
export function signInRoutes(deps: AppDeps): Router {
  const csrf = anonymousFormCsrf(deps.config, deps.clock);
  return Router().get(paths.signIn, csrf, showSignIn(deps)).post(paths.signIn, csrf, signIn(deps));
}

/**
 * Signing out (session-bound CSRF: mounted after csrfProtection).
 *
 *   GET  /logout   requireAuth → showSignOut   (the no-JavaScript way to reach the POST)
 *   POST /logout   signOut        (rd: on to that app afterwards, through /continue)
 */
export function signOutRoutes(deps: AppDeps): Router {
  return Router()
    .get(paths.signOut, requireAuth, showSignOut(deps))
    .post(paths.signOut, signOut(deps));
}

interface SignInValues {
  email: string;
  next: string;
}

/** The values that are safe to put back into the form after a failed attempt (never the password). */
function signInValues(body: unknown, next: string): SignInValues {
  const email = (body as { email?: unknown } | undefined)?.email;
  return { email: typeof email === 'string' ? email.slice(0, 254) : '', next };
}

function renderSignIn(
  res: Response,
  status: number,
  values: SignInValues,
  errors: FieldErrors,
  notice?: string,
) {
  res.status(status).render('auth/login', { values, errors, notice });
}

function showSignIn(deps: AppDeps): RequestHandler {
  return async function showSignIn(req, res) {
    // A protected app's address (rd) goes through /continue, which checks it again.
    const rd = await gateReturnUrl(deps, req.query.rd);
    const next = rd ? continuePath(rd) : safeReturnPath(req.query.next);
    if (req.user) return res.redirect(303, next);
    const notice = req.query.signed_out === '1' ? req.t.signIn.signedOut() : undefined;
    // "Start over" from the code step: the pending sign-in's email is the person's own.
    const pending = req.session.pending;
    const email = pending ? ((await findUserById(deps.db, pending.userId))?.email ?? '') : '';
    renderSignIn(res, 200, { email, next: next === paths.home ? '' : next }, {}, notice);
  };
}

/**
 * A right password from a browser the person trusted: signed in without the code step, if the
 * browser's token is theirs and still live (checked under the account lock); false otherwise.
 */
async function signInOnTrustedBrowser(
  { db, config }: AppDeps,
  req: Request,
  user: User,
  now: Date,
  origin: RequestOrigin,
): Promise<boolean> {
  const token = presentedTrustedBrowserToken(req, config);
  if (!token) return false;
  const rules = trustedBrowserRules(config);
  const result = await completeTrustedBrowserSignIn(db, { user, token, rules, now, origin });
  if (!result.ok) return false;
  await startSignedInSession(req, result.user, now.getTime(), 'password_and_trusted_browser');
  const notice = req.t.signIn.sinceLastVisit(result.sinceLastSignIn);
  if (notice) setFlash(req, 'error', notice.text, { links: notice.links });
  req.log.info(
    { event: 'sign_in', userId: user.id, method: 'trusted_browser' },
    'signed in on a trusted browser',
  );
  return true;
}

function signIn(deps: AppDeps): RequestHandler {
  const { db, config, clock } = deps;
  return async function signIn(req, res) {
    const next = safeReturnPath((req.body as { next?: unknown } | undefined)?.next);
    const form = parseForm(loginForm, req.body);
    if (!form.ok) return renderSignIn(res, 400, signInValues(req.body, next), form.errors);

    const now = new Date(clock.now());
    const origin = originOf(req);
    const result = await checkPassword(db, {
      email: form.data.email,
      password: form.data.password,
      bcryptCost: config.bcryptCost,
      now,
      origin,
    });
    if (!result.ok && result.reason === 'throttled') {
      // Same page whether the password was right or not: it was never checked.
      req.log.info({ event: 'sign_in_throttled' }, 'sign-in refused: too many attempts');
      const waitMs = result.retryAt.getTime() - now.getTime();
      res.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
      return renderSignIn(res, 429, signInValues(req.body, next), {
        form: req.t.signIn.throttled(result.retryAt, now.getTime()),
      });
    }
    if (!result.ok) {
      req.log.info({ event: 'sign_in_failed' }, 'sign-in refused');
      return renderSignIn(res, 401, signInValues(req.body, next), {
        form: req.t.signIn.wrongCredentials(result.triesLeft),
      });
    }
    clearAnonymousFormCookie(res, config);
    if (result.user.totpEnabledAt) {
      const trustOffered = mayTrustBrowser(trustedBrowserRules(config), result.user);
      if (trustOffered && (await signInOnTrustedBrowser(deps, req, result.user, now, origin)))
        return res.redirect(303, next);
      await startPendingSignIn(req, result.user.id, now.getTime(), next, { trustOffered });
      req.log.info(
        { event: 'password_ok', userId: result.user.id },
        'password accepted, second factor next',
      );
      return res.redirect(303, paths.signInCode);
    }
    await startSignedInSession(req, result.user, now.getTime(), 'password');
    const since = await completePasswordSignIn(db, result.user, now, origin);
    const notice = req.t.signIn.sinceLastVisit(since);
    if (notice) setFlash(req, 'error', notice.text, { links: notice.links });
    req.log.info({ event: 'sign_in', userId: result.user.id }, 'signed in');
    res.redirect(303, next);
  };
}

function showSignOut(deps: AppDeps): RequestHandler {
  return async function showSignOut(req, res) {
    res.render('auth/logout', { rd: (await gateReturnUrl(deps, req.query.rd)) ?? '' });
  };
}

function signOut(deps: AppDeps): RequestHandler {
  const { db, config, clock } = deps;
  return async function signOut(req, res) {
    const user = req.user;
    const rd = await gateReturnUrl(deps, (req.body as { rd?: unknown } | undefined)?.rd);
    await endKeygateGrants(db, req);
    await destroySession(req);
    res.clearCookie(sessionCookieName(config), sessionCookieAttributes(config));
    if (config.authCookieDomain)
      res.clearCookie(gateCookieName(config), gateCookieAttributes(config));
    if (user) {
      await recordSignOut(db, {
        userId: user.id,
        origin: originOf(req),
        now: new Date(clock.now()),
      });
      req.log.info({ event: 'sign_out', userId: user.id }, 'signed out');
    }
    res.redirect(303, rd ? continuePath(rd) : `${paths.signIn}?signed_out=1`);
  };
}
