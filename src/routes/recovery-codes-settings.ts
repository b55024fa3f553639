import { Router, type Request, type RequestHandler } from 'express';
import {
  countUnusedRecoveryCodes,
  formatRecoveryCode,
  openFreshCodes,
  regenerateRecoveryCodes,
  sealFreshCodes,
} from '../auth/recovery-codes.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { setFlash } from '../middleware/flash.ts';
import { continuePath } from './gate-return.ts';
import { HttpError } from '../middleware/errors.ts';
import { requireAuth, requireRecentAuth } from '../middleware/guards.ts';
import { paths } from '../paths.ts';
import { safeReturnPath } from '../validation/forms.ts';

/**
 * Recovery codes: shown (and downloadable) right after they are made, until the person says they
 * saved them; made anew on request; and the page after a recovery code was used to sign in.
 *
 *   GET  /settings/2fa/recovery-codes              requireAuth → showRecoveryCodes
 *   GET  /settings/2fa/recovery-codes.txt          requireAuth → downloadRecoveryCodes
 *   POST /settings/2fa/recovery-codes/saved        requireAuth → forgetFreshCodes
 *   GET  /settings/2fa/recovery-codes/regenerate   requireAuth → recent → showRegenerate
 *   POST /settings/2fa/recovery-codes/regenerate   requireAuth → recent → regenerate
 *   GET  /settings/2fa/recovery-used               requireAuth → showRecoveryCodeUsed
 */
export function recoveryCodesSettingsRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  return Router()
    .use(paths.settings, requireAuth)
    .get(paths.recoveryCodes, showRecoveryCodes(deps))
    .get(paths.recoveryCodesDownload, downloadRecoveryCodes(deps))
    .post(paths.recoveryCodesSaved, forgetFreshCodes)
    .get(paths.recoveryCodesRegenerate, recent, showRegenerate)
    .post(paths.recoveryCodesRegenerate, recent, regenerate(deps))
    .get(paths.recoveryCodeUsed, showRecoveryCodeUsed(deps));
}

/** The codes just made, while they may still be shown. */
function freshCodes(req: Request, { config, clock }: AppDeps): string[] | null {
  const fresh = req.session.freshCodes;
  if (!fresh) return null;
  const codes = openFreshCodes(fresh, currentUser(req).id, config.totpKeys, clock.now());
  if (codes === null) delete req.session.freshCodes;
  return codes;
}

function showRecoveryCodes(deps: AppDeps): RequestHandler {
  return async function showRecoveryCodes(req, res) {
    const codes = freshCodes(req, deps);
    const codesLeft = await countUnusedRecoveryCodes(deps.db, currentUser(req).id);
    res.render('settings/recovery-codes', {
      codes: codes?.map(formatRecoveryCode) ?? null,
      codesLeft,
    });
  };
}

function downloadRecoveryCodes(deps: AppDeps): RequestHandler {
  const { appName } = deps.config;
  return function downloadRecoveryCodes(req, res) {
    const codes = freshCodes(req, deps);
    if (!codes) throw new HttpError(404, req.t.twoFactorSettings.nothingToDownload());
    const lines = req.t.twoFactorSettings.recoveryCodesFile(
      appName,
      currentUser(req).email,
      codes.map(formatRecoveryCode),
    );
    res.attachment(`${appName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-recovery-codes.txt`);
    res.type('text/plain; charset=utf-8').send(lines.join('\r\n'));
  };
}

const forgetFreshCodes: RequestHandler = (req, res) => {
  delete req.session.freshCodes;
  // Enrolment that the gate asked for (a two-factor app): on to that app now.
  const gateReturn = req.session.gateReturn;
  delete req.session.gateReturn;
  res.redirect(303, gateReturn ? continuePath(gateReturn) : paths.settings);
};

const showRegenerate: RequestHandler = (req, res) => {
  if (!currentUser(req).totpEnabledAt) return res.redirect(303, paths.settings);
  res.render('settings/regenerate');
};

function regenerate({ db, config, clock }: AppDeps): RequestHandler {
  return async function regenerate(req, res) {
    const user = currentUser(req);
    if (!user.totpEnabledAt) return res.redirect(303, paths.settings);
    const now = clock.now();
    const codes = await regenerateRecoveryCodes(db, {
      userId: user.id,
      now: new Date(now),
      origin: originOf(req),
    });
    req.log.info(
      { event: 'recovery_codes_regenerated', userId: user.id },
      'recovery codes regenerated',
    );
    req.session.freshCodes = sealFreshCodes(codes, user.id, config.totpKeys, now);
    setFlash(req, 'success', req.t.twoFactorSettings.regenerated());
    res.redirect(303, paths.recoveryCodes);
  };
}

function showRecoveryCodeUsed({ db }: AppDeps): RequestHandler {
  return async function showRecoveryCodeUsed(req, res) {
    const codesLeft = await countUnusedRecoveryCodes(db, currentUser(req).id);
    res.render('settings/recovery-used', { codesLeft, next: safeReturnPath(req.query.next) });
  };
}
