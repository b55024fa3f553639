import { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import type { AppDeps } from '../app.ts';
import { decrypt, encrypt } from '../auth/encryption.ts';
import {
  ENROLMENT_MAX_FAILURES,
  ENROLMENT_TIMEOUT_MS,
  FRESH_CODES_TIMEOUT_MS,
} from '../auth/limits.ts';
import { countUnusedRecoveryCodes, formatRecoveryCode } from '../auth/recovery-codes.ts';
import { reauthenticate } from '../auth/reauthentication.ts';
import { endUserSessions } from '../auth/sessions.ts';
import {
  clockDriftMinutes,
  formatSecretForHumans,
  generateTotpSecret,
  matchingStep,
  parseTotpCode,
  totpUri,
} from '../auth/totp.ts';
import { disableTwoFactor, enableTwoFactor, regenerateRecoveryCodes } from '../auth/two-factor.ts';
import { keyRingOf } from '../config.ts';
import { requireAuth, requireRecentAuth } from '../middleware/auth.ts';
import { HttpError } from '../middleware/errors.ts';
import { refreshAuthentication, setFlash } from '../middleware/session.ts';
import { parseForm, safeReturnPath, type FieldErrors } from '../validation/forms.ts';
import { codeForm, disableForm } from '../validation/two-factor.ts';
import { originOf } from './auth.ts';
import { reauthenticationFailure, secondFactorMessage } from './two-factor.ts';

// Pending secrets and fresh codes live in the session, encrypted and bound to the user and purpose.
const enrolmentData = (userId: string) => `enrolment:${userId}`;
const freshCodesData = (userId: string) => `recovery-codes:${userId}`;

export function settingsRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();
  const keys = keyRingOf(config);
  const recent = (back?: string) => requireRecentAuth(config.recentAuthWindowMs, clock, back);
  router.use('/settings', requireAuth);

  /** The secret of the enrolment in progress, or null if there is none (or it expired). */
  const enrolmentSecret = (req: Request): string | null => {
    const enrolment = req.session.enrolment;
    if (!enrolment) return null;
    if (clock.now() - enrolment.startedAt > ENROLMENT_TIMEOUT_MS) {
      delete req.session.enrolment;
      return null;
    }
    return decrypt(enrolment.secret, keys, enrolmentData(req.user!.id));
  };

  const freshCodes = (req: Request): string[] | null => {
    const fresh = req.session.freshCodes;
    if (!fresh) return null;
    if (clock.now() - fresh.createdAt > FRESH_CODES_TIMEOUT_MS) {
      delete req.session.freshCodes;
      return null;
    }
    const codes = decrypt(fresh.codes, keys, freshCodesData(req.user!.id));
    return codes === null ? null : codes.split(',');
  };

  const keepFreshCodes = (req: Request, codes: string[]) => {
    req.session.freshCodes = {
      codes: encrypt(codes.join(','), keys, freshCodesData(req.user!.id)),
      createdAt: clock.now(),
    };
  };

  // Enrolment: start (POST), show the QR code (GET), confirm with a first code (POST).
  router.post('/settings/2fa/setup', recent(), (req, res) => {
    if (req.user!.totpEnabledAt) {
      setFlash(req, 'info', 'Two-factor authentication is already on.');
      return res.redirect(303, '/settings');
    }
    const secret = generateTotpSecret();
    req.session.enrolment = {
      secret: encrypt(secret, keys, enrolmentData(req.user!.id)),
      startedAt: clock.now(),
      failures: 0,
    };
    res.redirect(303, '/settings/2fa/setup');
  });

  const renderSetup = async (
    req: Request,
    res: Response,
    secret: string,
    status: number,
    errors: FieldErrors,
  ) => {
    const uri = totpUri(config.appName, req.user!.email, secret);
    const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
    res
      .status(status)
      .render('settings/setup', { qr, uri, key: formatSecretForHumans(secret), errors });
  };

  router.get('/settings/2fa/setup', recent(), async (req, res) => {
    if (req.user!.totpEnabledAt) return res.redirect(303, '/settings');
    const secret = enrolmentSecret(req);
    if (!secret) return res.render('settings/setup-start');
    await renderSetup(req, res, secret, 200, {});
  });

  router.post('/settings/2fa/confirm', recent('/settings/2fa/setup'), async (req, res) => {
    const user = req.user!;
    const secret = enrolmentSecret(req);
    if (!secret || user.totpEnabledAt) {
      setFlash(
        req,
        'info',
        user.totpEnabledAt
          ? 'Two-factor authentication is already on.'
          : 'That setup expired. Start again to get a new key.',
      );
      return res.redirect(303, user.totpEnabledAt ? '/settings' : '/settings/2fa/setup');
    }
    const form = parseForm(codeForm, req.body);
    if (!form.ok) return renderSetup(req, res, secret, 400, form.errors);
    const code = parseTotpCode(form.data.code);
    const now = clock.now();
    const step = code ? await matchingStep(secret, code, now, config.totpWindow) : null;
    if (step === null) {
      const enrolment = req.session.enrolment!;
      enrolment.failures += 1;
      if (enrolment.failures >= ENROLMENT_MAX_FAILURES) {
        delete req.session.enrolment;
        setFlash(
          req,
          'error',
          'Too many wrong codes, so that key was discarded. Start again with a new one.',
        );
        return res.redirect(303, '/settings/2fa/setup');
      }
      const drift = code
        ? await clockDriftMinutes(secret, code, now, config.totpWindow, { look: 'both_ways' })
        : null;
      const message = code
        ? secondFactorMessage({ ok: false, reason: 'invalid_code', driftMinutes: drift }, 'totp')
        : 'Enter the 6-digit code your app shows for Keygate.';
      return renderSetup(req, res, secret, 400, { code: message });
    }
    const result = await enableTwoFactor(db, {
      userId: user.id,
      secret,
      step,
      keys,
      now: new Date(now),
      origin: originOf(req),
    });
    delete req.session.enrolment;
    if (!result.ok) {
      setFlash(req, 'info', 'Two-factor authentication is already on.');
      return res.redirect(303, '/settings');
    }
    const { generation } = await endUserSessions(db, user.id, req.sessionID);
    await refreshAuthentication(req, now, generation);
    req.log.info(
      { event: 'two_factor_enabled', userId: user.id },
      'two-factor authentication enabled',
    );
    keepFreshCodes(req, result.recoveryCodes);
    setFlash(req, 'success', 'Two-factor authentication is on. Save your recovery codes now.');
    res.redirect(303, '/settings/2fa/recovery-codes');
  });

  // Recovery codes: shown (and downloadable) until the person says they saved them.
  router.get('/settings/2fa/recovery-codes', async (req, res) => {
    const codes = freshCodes(req);
    const codesLeft = await countUnusedRecoveryCodes(db, req.user!.id);
    res.render('settings/recovery-codes', {
      codes: codes?.map(formatRecoveryCode) ?? null,
      codesLeft,
    });
  });

  router.get('/settings/2fa/recovery-codes.txt', (req, res) => {
    const codes = freshCodes(req);
    if (!codes)
      throw new HttpError(
        404,
        'Nothing to download',
        'Recovery codes can be downloaded only right after they are made. Make a new set from your settings.',
      );
    const body = [
      `${config.appName} recovery codes for ${req.user!.email}`,
      'Each code works once. Keep them somewhere safe.',
      '',
      ...codes.map(formatRecoveryCode),
      '',
    ].join('\r\n');
    res.attachment(
      `${config.appName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-recovery-codes.txt`,
    );
    res.type('text/plain; charset=utf-8').send(body);
  });

  router.post('/settings/2fa/recovery-codes/saved', (req, res) => {
    delete req.session.freshCodes;
    res.redirect(303, '/settings');
  });

  router.get('/settings/2fa/recovery-codes/regenerate', recent(), (req, res) => {
    if (!req.user!.totpEnabledAt) return res.redirect(303, '/settings');
    res.render('settings/regenerate');
  });

  router.post('/settings/2fa/recovery-codes/regenerate', recent(), async (req, res) => {
    const user = req.user!;
    if (!user.totpEnabledAt) return res.redirect(303, '/settings');
    const codes = await regenerateRecoveryCodes(db, {
      userId: user.id,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    req.log.info(
      { event: 'recovery_codes_regenerated', userId: user.id },
      'recovery codes regenerated',
    );
    keepFreshCodes(req, codes);
    setFlash(req, 'success', 'New recovery codes are ready. Your old ones no longer work.');
    res.redirect(303, '/settings/2fa/recovery-codes');
  });

  router.get('/settings/2fa/recovery-used', async (req, res) => {
    const codesLeft = await countUnusedRecoveryCodes(db, req.user!.id);
    res.render('settings/recovery-used', { codesLeft, next: safeReturnPath(req.query.next) });
  });

  // Turning 2FA off needs the password and a current code, on the form itself.
  const renderDisable = (res: Response, status: number, errors: FieldErrors) =>
    res.status(status).render('settings/disable', { errors });

  router.get('/settings/2fa/disable', (req, res) => {
    if (!req.user!.totpEnabledAt) return res.redirect(303, '/settings');
    renderDisable(res, 200, {});
  });

  router.post('/settings/2fa/disable', async (req, res) => {
    const user = req.user!;
    if (!user.totpEnabledAt) return res.redirect(303, '/settings');
    const form = parseForm(disableForm, req.body);
    if (!form.ok) return renderDisable(res, 400, form.errors);
    const now = new Date(clock.now());
    const origin = originOf(req);
    const result = await reauthenticate(db, {
      user,
      password: form.data.password,
      code: form.data.code,
      origin,
      now,
      keys,
      window: config.totpWindow,
      bcryptCost: config.bcryptCost,
    });
    if (!result.ok) {
      const failure = reauthenticationFailure(result);
      return renderDisable(res, failure.status, failure.errors);
    }
    const { generation } = await disableTwoFactor(db, {
      userId: user.id,
      now,
      origin,
      keepSid: req.sessionID,
    });
    await refreshAuthentication(req, now.getTime(), generation);
    req.log.info(
      { event: 'two_factor_disabled', userId: user.id },
      'two-factor authentication disabled',
    );
    delete req.session.freshCodes;
    setFlash(
      req,
      'success',
      'Two-factor authentication is off. Your other sessions were signed out.',
    );
    res.redirect(303, '/settings');
  });

  return router;
}
