/// <reference lib="dom" />
/**
 * "Don't ask for a code on this browser", in a real Chromium with a profile on disk and
 * JavaScript off: tick the box, close the browser and launch it again, sign in with the password
 * alone, forget the browser in settings, and be asked for a code again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { codeAt, makeUserWithTwoFactor } from '../helpers/two-factor.ts';
import { launchChromium, launchPersistentProfile, openVisitor, withSite } from './harness.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

const TRUST_LABEL = "Don't ask for a code on this browser for 30 days";

describe('a trusted browser, across a restart of the browser', () => {
  it('when the box is ticked and Chromium restarts, then the password alone signs in, until the browser is forgotten in settings', async () => {
    await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
      const { t } = site;
      const { user, secret } = await makeUserWithTwoFactor(t);
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keygate-profile-'));
      try {
        // First run of the browser: password, code, and the box ticked.
        const first = await openVisitor(browser, site, 'desktop', 'trusted-browser', {
          context: await launchPersistentProfile(profile, site, 'desktop'),
        });
        await first.visit('/login', 'sign-in form');
        await first.signIn(user, 'code step with the box');
        assert.equal(first.path(), '/login/2fa');
        const box = first.page.getByLabel(TRUST_LABEL);
        assert.equal(await box.isChecked(), false, 'unticked by default');
        await box.check();
        await first.submit(
          { 'Authentication code': await codeAt(t, secret) },
          'Continue',
          'signed in, browser trusted',
        );
        assert.equal(first.path(), '/');
        t.clock.advance(30_000);
        await first.page.getByRole('button', { name: 'Sign out', exact: true }).click();
        await first.page.waitForURL(/\/login/);
        await first.close();

        // The browser again, from the same profile: the password alone is enough.
        const again = await openVisitor(browser, site, 'desktop', 'trusted-browser-restarted', {
          context: await launchPersistentProfile(profile, site, 'desktop'),
        });
        const kept = (await again.context.cookies()).map((cookie) => cookie.name);
        assert.ok(kept.includes('keygate.trusted'), 'the cookie survived the restart');
        await again.visit('/login', 'sign-in form after restart');
        await again.signIn(user, 'signed in without a code');
        assert.equal(again.path(), '/', 'no code step');
        await again.follow('Settings', 'settings with a trusted browser');
        const section = again.page.locator('#trusted-browsers');
        await section.getByText('This browser').waitFor();
        await Promise.all([
          again.page.waitForEvent('load'),
          section
            .getByRole('button', { name: /^Forget/ })
            .first()
            .click(),
        ]);
        await again.check('browser forgotten');
        await again.page.getByText('That browser was forgotten').waitFor();
        await again.page.getByRole('button', { name: 'Sign out', exact: true }).click();
        await again.page.waitForURL(/\/login/);

        // Forgotten: the code is asked for again.
        await again.visit('/login', 'sign-in form after forgetting');
        await again.signIn(user, 'code step again');
        assert.equal(again.path(), '/login/2fa');
        await again.submit(
          { 'Authentication code': await codeAt(t, secret) },
          'Continue',
          'signed in with a code',
        );
        assert.equal(again.path(), '/');
        await again.close();
      } finally {
        fs.rmSync(profile, { recursive: true, force: true });
      }
    });
  });
});
