/// <reference lib="dom" />
/**
 * Sign in with Keygate through a real OpenID Connect relying party: Debian's Apache with
 * mod_auth_openidc protecting a CGI page that prints the claims it received. Chromium with
 * JavaScript off opens the app, lands on Keygate's sign-in, signs in with password and code,
 * arrives back at the app's page showing who they are and how they signed in (acr, amr), then
 * signs out through the app (RP-initiated logout), chooses to sign out of Keygate too, and
 * lands on the app's signed-out page; opening the app again asks for a sign-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { codeForStep, stepAt } from '../../src/auth/totp.ts';
import {
  relyingPartyUrls,
  startApacheRelyingParty,
  type RelyingParty,
} from '../helpers/apache-rp.ts';
import { addOidcApp, createOidcTestApp, type OidcTestApp } from '../helpers/oidc.ts';
import { freePort } from '../helpers/proxies.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { makeUserWithTwoFactor } from '../helpers/two-factor.ts';
import { launchChromium, openVisitor, VIEWPORTS, type Site, type ViewportName } from './harness.ts';

let browser: Browser;
let t: OidcTestApp;
let site: Site;
let rp: RelyingParty;

before(async () => {
  const rpPort = await freePort();
  t = await createOidcTestApp();
  site = { t, url: t.baseUrl, close: async () => undefined };
  const urls = relyingPartyUrls(rpPort);
  const client = await addOidcApp(t, {
    name: 'Claims page',
    oidc: { redirectUris: [urls.redirectUri], postLogoutRedirectUris: [urls.signedOutUrl] },
  });
  assert.ok(client.secret, 'a confidential client has a secret');
  rp = await startApacheRelyingParty({
    port: rpPort,
    issuer: t.issuer,
    clientId: client.clientId,
    clientSecret: client.secret,
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await rp?.close();
  await t?.close();
});

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off, through Apache with mod_auth_openidc`, () => {
    it('when a person opens an app that signs in with Keygate, then they sign in with password and code, the app receives who they are and that it was two-factor, and signing out through the app ends both', async () => {
      const { user, secret } = await makeUserWithTwoFactor(t);
      const visitor = await openVisitor(browser, site, viewport, 'oidc');
      const { page } = visitor;
      try {
        await page.goto(rp.claimsUrl);
        assert.equal(new URL(page.url()).origin, site.url, `at ${page.url()}`);
        assert.equal(new URL(page.url()).pathname, '/login');
        await visitor.check('sign-in for an OpenID app');
        await visitor.signIn(user, 'code step for an OpenID app');
        assert.equal(visitor.path(), '/login/2fa');
        const code = await codeForStep(secret, stepAt(t.clock.now()));
        rememberSecret('typed in a browser', code);
        await page.getByLabel('Authentication code', { exact: true }).fill(code);
        await Promise.all([
          page.waitForURL(rp.claimsUrl, { timeout: 15_000 }),
          page.getByRole('button', { name: 'Continue', exact: true }).click(),
        ]);
        const claim = async (name: string) =>
          (await page.locator(`[id="OIDC_CLAIM_${name}"]`).textContent())?.trim();
        assert.equal(await claim('email'), user.email, rp.log().slice(-2000));
        assert.equal(await claim('sub'), String(user.id));
        assert.notEqual(await claim('sub'), user.email, 'sub is never the email');
        assert.equal(await claim('acr'), 'urn:keygate:2fa');
        assert.deepEqual((await claim('amr'))?.split(',').sort(), ['otp', 'pwd']);
        assert.equal(await claim('iss'), `${site.url}/oidc`);

        // Sign out through the app: mod_auth_openidc ends its session and sends the browser to
        // Keygate's end-session page, where the person also signs out of Keygate.
        await page.goto(rp.logoutUrl);
        assert.equal(new URL(page.url()).origin, site.url, `at ${page.url()}`);
        await visitor.check('sign out from an OpenID app');
        await page.getByLabel(/Also sign out of/).check();
        await Promise.all([
          page.waitForURL(`${rp.signedOutUrl}**`, { timeout: 15_000 }),
          page.getByRole('button', { name: 'Sign out', exact: true }).click(),
        ]);
        assert.match((await page.locator('h1').textContent()) ?? '', /Signed out of the app/);
        await page.goto(rp.claimsUrl);
        assert.equal(new URL(page.url()).pathname, '/login', 'Keygate asks for a sign-in again');
      } finally {
        await visitor.close();
      }
    });
  });
}
