import { Router, type RequestHandler } from 'express';
import { changeEmail } from '../auth/email-change.ts';
import { findUserById, isUserId } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminUserPath, paths } from '../paths.ts';
import { newEmailForm } from '../validation/email-change.ts';
import { parseForm } from '../validation/forms.ts';

/**
 * An administrator changes a user's email address, from the user's page (behind app.ts's
 * adminGuards). Audited with the admin; the old address is told (src/auth/email-change.ts).
 *
 *   POST /admin/users/:id/email   recent(back: user page) → changeUserEmail
 */
export function adminUserEmailRoutes(deps: AppDeps): Router {
  const { config, clock } = deps;
  const recent: RequestHandler = (req, res, next) =>
    requireRecentAuth(config.recentAuthWindowMs, clock, {
      back: adminUserPath(String(req.params.id)),
    })(req, res, next);
  return Router().post(paths.adminUserEmail, recent, changeUserEmail(deps));
}

function changeUserEmail({ db, clock }: AppDeps): RequestHandler {
  return async function changeUserEmail(req, res) {
    const id = String(req.params.id);
    const target = isUserId(id) ? await findUserById(db, id) : null;
    if (!target) throw new HttpError(404, req.t.admin.noSuchUser());
    const back = `${adminUserPath(target.id)}#email-address`;
    const form = parseForm(newEmailForm, req.body);
    if (!form.ok) {
      setFlash(req, 'error', Object.values(form.errors)[0]!);
      return res.redirect(303, back);
    }
    const result = await changeEmail(db, {
      userId: target.id,
      newEmail: form.data.email,
      actorId: currentUser(req).id,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    if (!result.ok) {
      setFlash(req, 'error', req.t.emailChange.takenByAdmin());
      return res.redirect(303, back);
    }
    req.log.info(
      { event: 'email_changed', userId: target.id },
      'email address changed by an admin',
    );
    setFlash(req, 'success', req.t.emailChange.changedByAdmin(form.data.email));
    res.redirect(303, back);
  };
}
