import { Router, type RequestHandler, type Response } from 'express';
import { confirmEmailChange, findEmailChange, requestEmailChange } from '../auth/email-change.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireAuth, requireRecentAuth } from '../middleware/guards.ts';
import { paths } from '../paths.ts';
import { confirmEmailForm, newEmailForm } from '../validation/email-change.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';

/**
 * The person's own email address. Asking for a change needs a recent authentication and sends a
 * link to the new address; the link's page (open to anyone holding the link: it went to that
 * mailbox) has a button that makes the change, so nothing changes on a GET. Mounted before the
 * settings router, whose requireAuth would otherwise cover the link too.
 *
 *   GET  /settings/email                  requireAuth → recent → showEmailForm
 *   POST /settings/email                  requireAuth → recent → askToChangeEmail
 *   GET  /settings/email/confirm/:token   showConfirmation   (Referrer-Policy: no-referrer)
 *   POST /settings/email/confirm          confirmNewEmail
 */
export function emailSettingsRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  const on = mailOn(deps);
  return Router()
    .get(paths.email, on, requireAuth, recent, showEmailForm)
    .post(paths.email, on, requireAuth, recent, askToChangeEmail(deps))
    .get(`${paths.emailConfirmLink}/:token`, on, showConfirmation(deps))
    .post(paths.emailConfirmLink, on, confirmNewEmail(deps));
}

/** Without mail (production, no SMTP_URL) a link cannot be sent: an administrator changes it. */
function mailOn({ config }: AppDeps): RequestHandler {
  return (req, res, next) => {
    res.set('Referrer-Policy', 'no-referrer');
    if (config.mail.transport === 'off') throw new HttpError(404, req.t.errors.notFound());
    next();
  };
}

function renderEmailForm(res: Response, status: number, email: string, errors: FieldErrors) {
  res.status(status).render('settings/email', { values: { email }, errors });
}

const showEmailForm: RequestHandler = (_req, res) => renderEmailForm(res, 200, '', {});

function askToChangeEmail({ db, config, clock }: AppDeps): RequestHandler {
  return async function askToChangeEmail(req, res) {
    const typed = (req.body as { email?: unknown } | undefined)?.email;
    const email = typeof typed === 'string' ? typed.slice(0, 254) : '';
    const form = parseForm(newEmailForm, req.body);
    if (!form.ok) return renderEmailForm(res, 400, email, form.errors);
    const user = currentUser(req);
    const result = await requestEmailChange(db, {
      user,
      newEmail: form.data.email,
      now: new Date(clock.now()),
      origin: originOf(req),
      keys: config.totpKeys,
    });
    if (!result.ok)
      return renderEmailForm(res, 400, email, { email: req.t.emailChange.sameAddress() });
    req.log.info({ event: 'email_change_requested', userId: user.id }, 'email change requested');
    setFlash(req, 'info', req.t.emailChange.sent(form.data.email));
    res.redirect(303, paths.settings);
  };
}

function showConfirmation({ db, clock }: AppDeps): RequestHandler {
  return async function showConfirmation(req, res) {
    const token = String(req.params.token);
    const change = await findEmailChange(db, token, new Date(clock.now()));
    if (!change) throw new HttpError(404, req.t.emailChange.linkPage());
    res.render('settings/email-confirm', { token, newEmail: change.newEmail });
  };
}

function confirmNewEmail({ db, clock }: AppDeps): RequestHandler {
  return async function confirmNewEmail(req, res) {
    const form = parseForm(confirmEmailForm, req.body);
    if (!form.ok) throw new HttpError(400, req.t.emailChange.linkPage());
    const result = await confirmEmailChange(db, {
      token: form.data.token,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    if (!result.ok && result.reason === 'email_taken') {
      setFlash(req, 'error', req.t.emailChange.taken());
      return res.redirect(303, req.user ? paths.settings : paths.signIn);
    }
    if (!result.ok) throw new HttpError(404, req.t.emailChange.linkPage());
    req.log.info({ event: 'email_changed', userId: result.user.id }, 'email address changed');
    setFlash(req, 'success', req.t.emailChange.changed(result.newEmail));
    res.redirect(303, req.user?.id === result.user.id ? paths.settings : paths.signIn);
  };
}
