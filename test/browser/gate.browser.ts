/// <reference lib="dom" />
/**
 * Forward-auth in a real browser with JavaScript off, across two host names, through nginx
 * terminating TLS with a certificate made here (openssl), Keygate in production mode behind it:
 * open the app, land on the portal's sign-in, sign in with password and code, arrive back at
 * the page asked for; change the password (a portal form behind the TLS proxy); sign out from
 * the app's link and land on sign-in again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { enableTwoFactor } from '../../src/auth/enrolment.ts';
import { codeForStep, generateTotpSecret, stepAt } from '../../src/auth/totp.ts';
import { makeUser } from '../helpers/factories.ts';
import { addApp } from '../helpers/gate.ts';
import { freePort, startEcho, startKeygate, startProxy } from '../helpers/proxies.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { launchChromium, openVisitor, VIEWPORTS, type ViewportName } from './harness.ts';

const AUTH = 'auth.keygate.test';
const APP = 'app.keygate.test';

let browser: Browser;
let port: number;
let keygate: Awaited<ReturnType<typeof startKeygate>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let proxy: Awaited<ReturnType<typeof startProxy>>;
let certDir: string;

before(async () => {
  port = await freePort();
  certDir = fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), 'tls-'));
  fs.chmodSync(certDir, 0o755);
  const cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=keygate.test',
      '-addext',
      'subjectAltName=DNS:*.keygate.test,DNS:keygate.test',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  fs.chmodSync(key, 0o644);
  echo = await startEcho({
    signOutUrl: () =>
      `https://${AUTH}:${port}/logout?rd=${encodeURIComponent(`https://${APP}:${port}/`)}`,
  });
  keygate = await startKeygate({
    NODE_ENV: 'production',
    BASE_URL: `https://${AUTH}:${port}`,
    AUTH_COOKIE_DOMAIN: 'keygate.test',
    TRUST_PROXY: 'loopback',
    REQUIRE_2FA: 'off',
  });
  await addApp(keygate.t, { name: 'Echo', host: APP });
  proxy = await startProxy('nginx', {
    port,
    keygatePort: keygate.port,
    appPort: echo.port,
    authHost: AUTH,
    appHosts: [APP],
    tls: { cert, key },
  });
  browser = await launchChromium([
    `--host-resolver-rules=MAP *.keygate.test 127.0.0.1`,
    '--ignore-certificate-errors',
  ]);
});
after(async () => {
  await browser?.close();
  await proxy?.close();
  await keygate?.close();
  await echo?.close();
  fs.rmSync(certDir, { recursive: true, force: true });
});

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off, behind nginx with TLS`, () => {
    it('when a person opens a protected app, then they sign in on the portal with password and code, land on the page they asked for, and sign out from the app', async () => {
      const t = keygate.t;
      const user = await makeUser(t.db);
      const secret = generateTotpSecret();
      rememberSecret('totp secret', secret);
      assert.ok(
        (
          await enableTwoFactor(t.db, {
            userId: user.id,
            secret,
            step: stepAt(t.clock.now()) - 2,
            keys: t.config.totpKeys,
            now: new Date(t.clock.now()),
            origin: { ip: '127.0.0.1', userAgent: null },
          })
        ).ok,
      );
      const site = { t, url: `https://${AUTH}:${port}`, close: async () => undefined };
      const visitor = await openVisitor(browser, site, viewport, 'gate');
      const { page } = visitor;
      const asked = `https://${APP}:${port}/reports/2026?view=full`;

      await page.goto(asked);
      assert.equal(new URL(page.url()).host, `${AUTH}:${port}`);
      assert.equal(new URL(page.url()).pathname, '/login');
      await visitor.check('sign-in for an app');
      await visitor.signIn(user, 'code step');
      assert.equal(visitor.path(), '/login/2fa');
      const code = await codeForStep(secret, stepAt(t.clock.now()));
      // Not visitor.submit: the page after the code is /continue, which moves on by itself (a
      // meta refresh), so there is nothing to check there but where the browser arrives.
      await page.getByLabel('Authentication code', { exact: true }).fill(code);
      rememberSecret('typed in a browser', code);
      await Promise.all([
        page.waitForURL(asked),
        page.getByRole('button', { name: 'Continue', exact: true }).click(),
      ]);
      assert.equal(await page.locator('#who').textContent(), user.email);

      const cookies = await visitor.context.cookies();
      const gate = cookies.find((c) => c.name === '__Secure-keygate-gate');
      assert.ok(gate, 'the gate cookie is set');
      assert.equal(gate.domain, '.keygate.test');
      assert.ok(gate.secure && gate.httpOnly && gate.sameSite === 'Lax');
      const portal = cookies.find((c) => c.name === '__Host-keygate');
      assert.ok(
        portal && portal.domain === AUTH && portal.secure,
        'the portal keeps its own __Host- cookie',
      );

      // A portal form behind the TLS proxy, in production mode: the password change.
      t.clock.advance(60_000);
      await visitor.visit(`https://${AUTH}:${port}/settings/password`, 'password form behind TLS');
      await visitor.submit(
        {
          'Current password': user.password,
          'New password': 'a new long password 1',
          'New password again': 'a new long password 1',
        },
        'Change password',
        'password changed behind TLS',
      );
      assert.equal(visitor.path(), '/settings');
      await page.goto(asked);
      assert.equal(await page.locator('#who').textContent(), user.email, 'the app stays open');

      await Promise.all([
        page.waitForEvent('load'),
        page.getByRole('link', { name: 'Sign out' }).click(),
      ]);
      await visitor.check('sign out from the app');
      await Promise.all([
        page.waitForURL(/\/login\?rd=/),
        page.locator('main').getByRole('button', { name: 'Sign out', exact: true }).click(),
      ]);
      assert.equal(new URL(page.url()).host, `${AUTH}:${port}`);
      assert.equal(new URL(page.url()).searchParams.get('rd'), `https://${APP}:${port}/`);
      await visitor.check('back to sign-in');
      await visitor.close();
    });
  });
}
