import { Router, type RequestHandler, type Response } from 'express';
import type { AppDeps } from '../deps.ts';
import { currentUser } from '../http.ts';
import { requireAuth } from '../middleware/guards.ts';
import { refreshAuthentication } from '../middleware/session/state.ts';
import { paths } from '../paths.ts';
import { parseForm, safeReturnPath, type FieldErrors } from '../validation/forms.ts';
import { confirmForm } from '../validation/two-factor.ts';
import { reauthenticateFromForm } from './code-answers.ts';

/**
 * "Confirm it's you": re-enter the password (and a code when 2FA is on) before a sensitive
 * action. Success starts a new session id with a fresh authentication time, then continues.
 *
 *   GET  /confirm   requireAuth → showConfirm
 *   POST /confirm   requireAuth → confirm
 */
export function confirmRoutes(deps: AppDeps): Router {
  return Router()
    .get(paths.confirm, requireAuth, showConfirm)
    .post(paths.confirm, requireAuth, confirm(deps));
}

function renderConfirm(res: Response, status: number, next: string, errors: FieldErrors) {
  res.status(status).render('auth/confirm', { next, errors });
}

const showConfirm: RequestHandler = (req, res) => {
  renderConfirm(res, 200, safeReturnPath(req.query.next), {});
};

function confirm(deps: AppDeps): RequestHandler {
  const { clock } = deps;
  return async function confirm(req, res) {
    const next = safeReturnPath((req.body as { next?: unknown } | undefined)?.next);
    const form = parseForm(confirmForm, req.body);
    const user = currentUser(req);
    if (!form.ok) return renderConfirm(res, 400, next, form.errors);
    if (user.totpEnabledAt !== null && !form.data.code)
      return renderConfirm(res, 400, next, { code: req.t.reauthentication.enterCode() });

    const now = new Date(clock.now());
    const failure = await reauthenticateFromForm(req, deps, {
      ...form.data,
      now,
      purpose: 'confirm',
    });
    if (failure) return renderConfirm(res, failure.status, next, failure.errors);
    await refreshAuthentication(req, now.getTime(), {
      factors: user.totpEnabledAt ? 'password_and_code' : 'password',
    });
    res.redirect(303, next);
  };
}
