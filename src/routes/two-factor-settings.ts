import { Router, type Request, type RequestHandler, type Response } from 'express';
import QRCode from 'qrcode';
import { confirmEnrolment, enrolmentSecret, startEnrolment } from '../auth/enrolment.ts';
import { sealFreshCodes } from '../auth/recovery-codes.ts';
import { formatSecretForHumans, totpUri } from '../auth/totp.ts';
import { disableTwoFactor } from '../auth/two-factor-removal.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireAuth, requireRecentAuth } from '../middleware/guards.ts';
import { refreshAuthentication } from '../middleware/session/state.ts';
import { paths } from '../paths.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { codeForm, disableForm } from '../validation/two-factor.ts';
import { reauthenticateFromForm } from './code-answers.ts';
import { continuePath, gateReturnUrl } from './gate-return.ts';

/**
 * Turning two-factor authentication on and off. Enrolment: start (POST), show the QR code (GET),
 * confirm with a first code (POST). Turning it off needs the password and a current code, on the
 * form itself.
 *
 *   POST /settings/2fa/setup     requireAuth → recent → startSetup
 *   GET  /settings/2fa/setup     requireAuth → recent → showSetup   (rd: a two-factor app, after)
 *   POST /settings/2fa/confirm   requireAuth → recent(back: setup) → confirmSetup
 *   GET  /settings/2fa/confirm   → /settings/2fa/setup   (a reload of a refused code's page)
 *   GET  /settings/2fa/disable   requireAuth → showDisable
 *   POST /settings/2fa/disable   requireAuth → disable
 */
export function twoFactorSettingsRoutes(deps: AppDeps): Router {
  const { config, clock } = deps;
  const recent = requireRecentAuth(config.recentAuthWindowMs, clock);
  const recentThenSetup = requireRecentAuth(config.recentAuthWindowMs, clock, {
    back: paths.twoFactorSetup,
  });
  return Router()
    .use(paths.settings, requireAuth)
    .post(paths.twoFactorSetup, recent, startSetup(deps))
    .get(paths.twoFactorSetup, recent, showSetup(deps))
    .post(paths.twoFactorConfirm, recentThenSetup, confirmSetup(deps))
    .get(paths.twoFactorConfirm, toSetup)
    .get(paths.twoFactorDisable, showDisable)
    .post(paths.twoFactorDisable, disable(deps));
}

/** The secret of the enrolment in progress, or null if there is none (or it expired). */
function secretInSession(req: Request, { config, clock }: AppDeps): string | null {
  const enrolment = req.session.enrolment;
  if (!enrolment) return null;
  const secret = enrolmentSecret(enrolment, currentUser(req).id, config.totpKeys, clock.now());
  if (secret === null) delete req.session.enrolment;
  return secret;
}

const toSetup: RequestHandler = (_req, res) => res.redirect(303, paths.twoFactorSetup);

function startSetup({ config, clock }: AppDeps): RequestHandler {
  return function startSetup(req, res) {
    const user = currentUser(req);
    if (user.totpEnabledAt) {
      setFlash(req, 'info', req.t.twoFactorSettings.alreadyOn());
      return res.redirect(303, paths.settings);
    }
    req.session.enrolment = startEnrolment(user.id, config.totpKeys, clock.now());
    res.redirect(303, paths.twoFactorSetup);
  };
}

async function renderSetup(
  req: Request,
  res: Response,
  appName: string,
  secret: string,
  status: number,
  errors: FieldErrors,
) {
  const uri = totpUri(appName, currentUser(req).email, secret);
  const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
  res
    .status(status)
    .render('settings/setup', { qr, uri, key: formatSecretForHumans(secret), errors });
}

function showSetup(deps: AppDeps): RequestHandler {
  return async function showSetup(req, res) {
    // Sent here by the gate for a two-factor app (rd): on to it once enrolment is done.
    const rd = await gateReturnUrl(deps, req.query.rd);
    if (currentUser(req).totpEnabledAt)
      return res.redirect(303, rd ? continuePath(rd) : paths.settings);
    if (rd) req.session.gateReturn = rd;
    const secret = secretInSession(req, deps);
    if (!secret) return res.render('settings/setup-start');
    await renderSetup(req, res, deps.config.appName, secret, 200, {});
  };
}

function confirmSetup(deps: AppDeps): RequestHandler {
  const { db, config, clock } = deps;
  return async function confirmSetup(req, res) {
    const user = currentUser(req);
    const secret = secretInSession(req, deps);
    if (user.totpEnabledAt) {
      setFlash(req, 'info', req.t.twoFactorSettings.alreadyOn());
      return res.redirect(303, paths.settings);
    }
    if (!secret) {
      setFlash(req, 'info', req.t.twoFactorSettings.setupExpired());
      return res.redirect(303, paths.twoFactorSetup);
    }
    const form = parseForm(codeForm, req.body);
    if (!form.ok) return renderSetup(req, res, config.appName, secret, 400, form.errors);
    const now = clock.now();
    const result = await confirmEnrolment(db, {
      userId: user.id,
      secret,
      code: form.data.code,
      failures: req.session.enrolment!.failures,
      now: new Date(now),
      window: config.totpWindow,
      keys: config.totpKeys,
      origin: originOf(req),
      keepSid: req.sessionID,
    });
    if (!result.ok && result.reason !== 'already_enabled') {
      if (result.discarded) {
        delete req.session.enrolment;
        setFlash(req, 'error', req.t.twoFactorSettings.tooManyWrongCodes());
        return res.redirect(303, paths.twoFactorSetup);
      }
      req.session.enrolment!.failures = result.failures;
      const code =
        result.reason === 'malformed'
          ? req.t.twoFactorSettings.enterCode()
          : [
              req.t.secondFactor.wrongCode('totp'),
              result.driftMinutes ? req.t.secondFactor.driftNote(result.driftMinutes) : '',
            ]
              .join(' ')
              .trim();
      return renderSetup(req, res, config.appName, secret, 400, { code });
    }
    delete req.session.enrolment;
    if (!result.ok) {
      setFlash(req, 'info', req.t.twoFactorSettings.alreadyOn());
      return res.redirect(303, paths.settings);
    }
    const gateReturn = req.session.gateReturn;
    await refreshAuthentication(req, now, {
      generation: result.generation,
      factors: 'password_and_code',
    });
    if (gateReturn) req.session.gateReturn = gateReturn;
    req.log.info(
      { event: 'two_factor_enabled', userId: user.id },
      'two-factor authentication enabled',
    );
    req.session.freshCodes = sealFreshCodes(result.recoveryCodes, user.id, config.totpKeys, now);
    setFlash(req, 'success', req.t.twoFactorSettings.enabled());
    res.redirect(303, paths.recoveryCodes);
  };
}

function renderDisable(res: Response, status: number, errors: FieldErrors) {
  res.status(status).render('settings/disable', { errors });
}

const showDisable: RequestHandler = (req, res) => {
  if (!currentUser(req).totpEnabledAt) return res.redirect(303, paths.settings);
  renderDisable(res, 200, {});
};

function disable(deps: AppDeps): RequestHandler {
  const { db, clock } = deps;
  return async function disable(req, res) {
    const user = currentUser(req);
    if (!user.totpEnabledAt) return res.redirect(303, paths.settings);
    const form = parseForm(disableForm, req.body);
    if (!form.ok) return renderDisable(res, 400, form.errors);
    const now = new Date(clock.now());
    const origin = originOf(req);
    const failure = await reauthenticateFromForm(req, deps, {
      ...form.data,
      now,
      purpose: 'turn_off_two_factor',
    });
    if (failure) return renderDisable(res, failure.status, failure.errors);
    const { generation } = await disableTwoFactor(db, {
      userId: user.id,
      now,
      origin,
      keepSid: req.sessionID,
    });
    await refreshAuthentication(req, now.getTime(), { generation, factors: 'password' });
    req.log.info(
      { event: 'two_factor_disabled', userId: user.id },
      'two-factor authentication disabled',
    );
    delete req.session.freshCodes;
    setFlash(req, 'success', req.t.twoFactorSettings.disabled());
    res.redirect(303, paths.settings);
  };
}
