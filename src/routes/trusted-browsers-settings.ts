import { Router, type RequestHandler } from 'express';
import { forgetTrustedBrowsersAs } from '../auth/trusted-browsers.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireAuth } from '../middleware/guards.ts';
import { clearTrustedBrowserCookie } from '../middleware/trusted-browser-cookie.ts';
import { paths } from '../paths.ts';
import { forgetBrowserForm } from '../validation/account.ts';
import { parseForm } from '../validation/forms.ts';

/**
 * The person's trusted browsers (listed on /settings, see settings.ts): forgetting one, or all.
 *
 *   POST /settings/trusted-browsers/forget   requireAuth → forgetBrowser   (browser=<id> or all)
 */
export function trustedBrowsersSettingsRoutes(deps: AppDeps): Router {
  return Router()
    .use(paths.settings, requireAuth)
    .post(paths.forgetTrustedBrowser, forgetBrowser(deps));
}

function forgetBrowser({ db, config, clock }: AppDeps): RequestHandler {
  return async function forgetBrowser(req, res) {
    const form = parseForm(forgetBrowserForm, req.body);
    const user = currentUser(req);
    const which = form.ok && form.data.browser === 'all' ? 'all' : 'one';
    const forgotten = form.ok
      ? await forgetTrustedBrowsersAs(db, {
          userId: user.id,
          actorId: user.id,
          browserId: form.data.browser,
          origin: originOf(req),
          now: new Date(clock.now()),
        })
      : 0;
    // This browser's cookie names a row that is gone now (with "all"): no use keeping it.
    if (which === 'all') clearTrustedBrowserCookie(res, config);
    setFlash(
      req,
      forgotten ? 'success' : 'info',
      req.t.settings.trustedBrowsersForgotten(forgotten, which),
    );
    res.redirect(303, `${paths.settings}#trusted-browsers`);
  };
}
