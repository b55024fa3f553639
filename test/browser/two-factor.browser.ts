/// <reference lib="dom" />
/**
 * The two-factor journeys in a real browser with JavaScript off: enrol by scanning the QR code
 * from the screen, sign in with a code and with a recovery code (and fail to reuse either),
 * confirm it's you, make new recovery codes, turn 2FA off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { makeUser } from '../helpers/factories.ts';
import { codeAt } from '../helpers/two-factor.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import {
  launchChromium,
  openVisitor,
  VIEWPORTS,
  withSite,
  type Visitor,
  type ViewportName,
} from './harness.ts';
import { scanQrCode } from './qr.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

async function recoveryCodesOn(visitor: Visitor): Promise<string[]> {
  const codes = await visitor.page.locator('ol.codes code').allTextContents();
  for (const code of codes) rememberSecret('recovery code', code);
  return codes;
}

async function signInWithPassword(visitor: Visitor, email: string, password: string) {
  await visitor.visit('/login', 'sign-in form');
  await visitor.submit({ 'Email address': email, Password: password }, 'Sign in', 'code step');
  assert.equal(visitor.path(), '/login/2fa');
}

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off`, () => {
    it('when a person turns on 2FA by scanning the QR code, then codes and recovery codes sign them in, once each', async () => {
      await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
        const { t } = site;
        const user = await makeUser(t.db);
        const visitor = await openVisitor(browser, site, viewport, '2fa');
        await visitor.visit('/login', 'sign-in form');
        await visitor.signIn(user, 'home');
        await visitor.follow('Settings', 'settings with 2FA off');

        // Enrol: the secret comes from the pixels of the QR code, as a phone reads it.
        await visitor.page
          .getByRole('button', { name: 'Turn on two-factor authentication' })
          .click();
        await visitor.page.waitForURL(/\/settings\/2fa\/setup$/);
        await visitor.check('QR code');
        const { uri, secret } = await scanQrCode(visitor.page);
        assert.match(uri, /^otpauth:\/\/totp\/Keygate:[^?]+\?secret=[A-Z2-7]{32}&issuer=Keygate/);
        assert.equal(
          await visitor.page
            .locator('.secret-key code')
            .textContent()
            .then((text) => text!.replace(/\s/g, '')),
          secret,
          'the key shown as text is the one in the QR code',
        );
        await visitor.submit(
          { 'Code from your app': await codeAt(t, secret, 20) },
          'Turn on',
          'wrong confirmation code',
        );
        assert.equal(visitor.status(), 400);
        assert.equal(
          await visitor.page.getByLabel('Code from your app').getAttribute('aria-invalid'),
          'true',
        );
        await visitor.submit(
          { 'Code from your app': await codeAt(t, secret) },
          'Turn on',
          'recovery codes',
        );
        const recoveryCodes = await recoveryCodesOn(visitor);
        assert.equal(recoveryCodes.length, 10);
        // Printed, the page is the codes and whose they are: no header, buttons or banners.
        await visitor.page.emulateMedia({ media: 'print' });
        for (const hidden of ['.site-header', '.flash', 'form', '.no-print'])
          assert.equal(await visitor.page.locator(hidden).first().isVisible(), false, hidden);
        await visitor.page.getByText(`For ${user.email} on Keygate`).waitFor();
        await visitor.page.screenshot({
          path: `${process.env.KEYGATE_TEST_OUTPUT_DIR ?? 'test-output/browser'}/screenshots/${viewport}-print/recovery-codes.png`,
          fullPage: true,
        });
        await visitor.page.emulateMedia({ media: null });
        await visitor.page.getByRole('button', { name: 'I have saved them' }).click();
        await visitor.page.waitForURL(/\/settings$/);
        await visitor.check('settings with 2FA on');
        assert.equal(
          await visitor.page.locator('#two-factor-title ~ p strong').first().textContent(),
          '10',
        );

        // Sign out, then in with password and code.
        await visitor.page.getByRole('button', { name: 'Sign out' }).click();
        await visitor.page.waitForURL(/\/login/);
        t.clock.advance(30_000);
        await signInWithPassword(visitor, user.email, user.password);
        await visitor.submit(
          { 'Authentication code': await codeAt(t, secret, 5) },
          'Continue',
          'wrong code',
        );
        assert.equal(visitor.status(), 401);
        const code = await codeAt(t, secret);
        await visitor.submit({ 'Authentication code': code }, 'Continue', 'signed in with a code');
        assert.equal(visitor.path(), '/');

        // The same code again, in a new sign-in: refused.
        await visitor.page.getByRole('button', { name: 'Sign out' }).click();
        await visitor.page.waitForURL(/\/login/);
        await signInWithPassword(visitor, user.email, user.password);
        await visitor.submit({ 'Authentication code': code }, 'Continue', 'code reused');
        assert.equal(visitor.status(), 401);
        assert.equal(visitor.path(), '/login/2fa');

        // A recovery code instead, then the same recovery code again.
        await visitor.follow('Use a recovery code instead', 'recovery code form');
        await visitor.submit(
          { 'Recovery code': recoveryCodes[0]!.toLowerCase() },
          'Continue',
          'signed in with a recovery code',
        );
        await visitor.page.getByText('You have 9 recovery codes left').waitFor();
        await visitor.follow('Continue', 'home after recovery');
        await visitor.page.getByRole('button', { name: 'Sign out' }).click();
        await visitor.page.waitForURL(/\/login/);
        await signInWithPassword(visitor, user.email, user.password);
        await visitor.follow('Use a recovery code instead', 'recovery code form again');
        await visitor.submit(
          { 'Recovery code': recoveryCodes[0]! },
          'Continue',
          'recovery code reused',
        );
        assert.equal(visitor.status(), 401);
        t.clock.advance(30_000);
        await visitor.follow('Use a code from your app instead', 'code form again');
        await visitor.submit(
          { 'Authentication code': await codeAt(t, secret) },
          'Continue',
          'signed in again',
        );
        assert.equal(visitor.path(), '/');

        // New recovery codes after the recent-authentication window: confirm it's you first.
        t.clock.advance(11 * 60_000);
        await visitor.visit('/settings', 'settings later');
        await visitor.follow('Make new recovery codes', 'confirm it is you');
        assert.equal(visitor.path().split('?')[0], '/confirm');
        await visitor.submit(
          {
            Password: user.password,
            'Code from your app, or a recovery code': await codeAt(t, secret),
          },
          'Confirm',
          'make new codes?',
        );
        await visitor.page.getByRole('button', { name: 'Make new codes' }).click();
        await visitor.page.waitForURL(/recovery-codes$/);
        await visitor.check('new recovery codes');
        const newCodes = await recoveryCodesOn(visitor);
        assert.equal(newCodes.length, 10);
        assert.ok(!newCodes.includes(recoveryCodes[1]!), 'a new set');
        await visitor.page.getByRole('button', { name: 'I have saved them' }).click();
        await visitor.page.waitForURL(/\/settings$/);

        // Turn it off: password and a code on the form itself.
        await visitor.follow('Turn off two-factor authentication', 'turn off?');
        await visitor.submit(
          { Password: user.password, 'Code from your app, or a recovery code': newCodes[0]! },
          'Turn off',
          'settings with 2FA turned off',
        );
        await visitor.page.locator('.badge-off').first().waitFor();
        await visitor.close();
      });
    });
  });
}
