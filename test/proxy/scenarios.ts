/**
 * The list of cases, run through a real proxy (nginx or Caddy): the same cases for both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enableTwoFactor } from '../../src/auth/enrolment.ts';
import { codeForStep, generateTotpSecret, stepAt } from '../../src/auth/totp.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { addApp, allowConnections, cutDatabase } from '../helpers/gate.ts';
import {
  freePort,
  startEcho,
  startKeygate,
  startProxy,
  type ProxyKind,
  type Running,
} from '../helpers/proxies.ts';
import { secretFromSetupPage } from '../helpers/two-factor.ts';
import { locationOf, ProxyBrowser } from './client.ts';

const AUTH = 'auth.keygate.test';
const APP = 'app.keygate.test';
const OPS = 'ops.keygate.test';
const SECURE = 'secure.keygate.test';

export function proxyScenarios(kind: ProxyKind): void {
  describe(`through ${kind}`, () => {
    let port: number;
    let keygate: Awaited<ReturnType<typeof startKeygate>>;
    let echo: Running;
    let proxy: Running & { log(): string };
    let admin: Awaited<ReturnType<typeof makeUser>>;
    const base = () => `http://${AUTH}:${port}`;
    const t = () => keygate.t;

    before(async () => {
      port = await freePort();
      echo = await startEcho();
      keygate = await startKeygate({
        REQUIRE_2FA: 'off',
        TRUST_PROXY: 'loopback',
        BASE_URL: `http://${AUTH}:${port}`,
        AUTH_COOKIE_DOMAIN: 'keygate.test',
      });
      await addApp(keygate.t, { name: 'Echo', host: APP });
      await addApp(keygate.t, { name: 'Ops board', host: OPS, allowedGroups: ['ops'] });
      await addApp(keygate.t, { name: 'Secure board', host: SECURE, policy: 'two-factor' });
      admin = await makeUser(keygate.t.db, { role: 'admin', email: uniqueEmail('admin') });
      proxy = await startProxy(kind, {
        port,
        keygatePort: keygate.port,
        appPort: echo.port,
        authHost: AUTH,
        appHosts: [APP, OPS, SECURE],
      });
    });
    after(async () => {
      await proxy?.close();
      await allowConnections(keygate.t.database.name).catch(() => undefined);
      await keygate?.close();
      await echo?.close();
    });

    async function signIn(user: { email: string; password: string }, secret?: string) {
      const browser = new ProxyBrowser(port);
      const answer = await browser.submit(AUTH, '/login', '/login', {
        email: user.email,
        password: user.password,
      });
      assert.equal(answer.status, 303, answer.body.slice(0, 300));
      if (secret) {
        const code = await codeForStep(secret, stepAt(t().clock.now()));
        const second = await browser.submit(AUTH, '/login/2fa', '/login/2fa', { code });
        assert.equal(second.status, 303, second.body.slice(0, 300));
        t().clock.advance(30_000);
      }
      assert.equal((await browser.request(AUTH, '/')).status, 200);
      assert.ok(browser.cookies.has('keygate.gate'), 'the portal gave a gate cookie');
      return browser;
    }

    async function makeTwoFactorUser() {
      const user = await makeUser(t().db);
      const secret = generateTotpSecret();
      const done = await enableTwoFactor(t().db, {
        userId: user.id,
        secret,
        step: stepAt(t().clock.now()) - 2,
        keys: t().config.totpKeys,
        now: new Date(t().clock.now()),
        origin: { ip: '127.0.0.1', userAgent: null },
      });
      assert.ok(done.ok);
      return { user, secret };
    }

    async function asAdmin(path: string, action: string, fields: Record<string, string> = {}) {
      const browser = await signIn(admin);
      const answer = await browser.submit(AUTH, path, action, fields);
      assert.equal(answer.status, 303, `${action}: ${answer.body.slice(0, 300)}`);
    }

    function echoed(answer: { status: number; body: string }) {
      assert.equal(answer.status, 200, answer.body.slice(0, 300));
      const body = JSON.parse(answer.body) as { echo: true; headers: Record<string, string> };
      assert.equal(body.echo, true);
      return body.headers;
    }

    it('when nobody is signed in, then a page of the app redirects to the portal carrying the original URL', async () => {
      const browser = new ProxyBrowser(port);
      const answer = await browser.request(APP, '/reports?year=2026');
      assert.equal(answer.status, 302);
      const location = locationOf(answer, base());
      assert.equal(`${location.origin}${location.pathname}`, `${base()}/login`);
      assert.equal(location.searchParams.get('rd'), `http://${APP}:${port}/reports?year=2026`);
      assert.doesNotMatch(answer.body, /"echo"/);
    });

    it('when an XHR or a JSON fetch comes without a sign-in, then it gets 401', async () => {
      const browser = new ProxyBrowser(port);
      const xhr = await browser.request(APP, '/api', {
        headers: { 'x-requested-with': 'XMLHttpRequest' },
      });
      assert.equal(xhr.status, 401);
      const json = await browser.request(APP, '/api', { headers: { accept: 'application/json' } });
      assert.equal(json.status, 401);
    });

    it('#53 when signed in, then the upstream sees Remote-User, -Email and -Groups, and a client’s "Remote-User: mallory" is overwritten', async () => {
      const user = await makeUser(t().db);
      const browser = await signIn(user);
      const headers = echoed(
        await browser.request(APP, '/x', {
          headers: {
            'remote-user': 'mallory',
            'remote-email': 'mallory@evil.example',
            'remote-groups': 'admin',
          },
          cookies: ['keygate.gate'],
        }),
      );
      assert.equal(headers['remote-user'], user.email);
      assert.equal(headers['remote-email'], user.email);
      assert.equal(headers['remote-groups'], 'user');
      // And signing in with rd lands back on the app's page that was asked for.
      const fresh = new ProxyBrowser(port);
      const first = await fresh.request(APP, '/deep/page?q=1');
      const login = locationOf(first, base());
      const posted = await fresh.submit(AUTH, login.pathname + login.search, '/login', {
        email: user.email,
        password: user.password,
      });
      const onward = locationOf(posted, base());
      assert.equal(onward.pathname, '/continue');
      const page = await fresh.request(AUTH, onward.pathname + onward.search);
      assert.equal(page.status, 200);
      assert.ok(
        page.body.includes(`content="0;url=http://${APP}:${port}/deep/page?q=1"`),
        page.body,
      );
      assert.equal(echoed(await fresh.request(APP, '/deep/page?q=1'))['remote-user'], user.email);
    });

    it('#57 when a person without 2FA opens a two-factor app, then they go through enrolment and then on to the app', async () => {
      const user = await makeUser(t().db);
      const browser = await signIn(user);
      const first = await browser.request(SECURE, '/board');
      assert.equal(first.status, 302);
      const enrol = locationOf(first, base());
      assert.equal(enrol.pathname, '/settings/2fa/setup');
      const start = await browser.submit(
        AUTH,
        enrol.pathname + enrol.search,
        '/settings/2fa/setup',
        {},
      );
      assert.equal(start.status, 303);
      const setup = await browser.request(AUTH, '/settings/2fa/setup');
      const secret = secretFromSetupPage(setup.body);
      const code = await codeForStep(secret, stepAt(t().clock.now()));
      const token = /name="_csrf" value="([^"]+)"/.exec(setup.body)![1]!;
      const confirmed = await browser.request(AUTH, '/settings/2fa/confirm', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code, _csrf: token }).toString(),
      });
      assert.equal(confirmed.status, 303, confirmed.body.slice(0, 300));
      const saved = await browser.submit(
        AUTH,
        '/settings/2fa/recovery-codes',
        '/settings/2fa/recovery-codes/saved',
        {},
      );
      const onward = locationOf(saved, base());
      assert.equal(onward.pathname, '/continue');
      assert.equal(onward.searchParams.get('rd'), `http://${SECURE}:${port}/board`);
      assert.equal((await browser.request(AUTH, onward.pathname + onward.search)).status, 200);
      assert.equal(echoed(await browser.request(SECURE, '/board'))['remote-user'], user.email);
    });

    it('when an app is limited to a group, then others get Keygate’s 403 naming the app', async () => {
      const user = await makeUser(t().db);
      const browser = await signIn(user);
      let answer = await browser.request(OPS, '/');
      if (answer.status === 302) {
        // nginx: error_page 403 sends the browser to the portal's page.
        const denied = locationOf(answer, base());
        assert.equal(denied.pathname, '/denied');
        answer = await browser.request(AUTH, denied.pathname + denied.search);
      }
      assert.equal(answer.status, 403);
      assert.match(answer.body, /You may not open Ops board/);
      assert.doesNotMatch(answer.body, /"echo"/);
      const xhr = await browser.request(OPS, '/', { headers: { accept: 'application/json' } });
      assert.equal(xhr.status, 403);
    });

    it('#56 when signed out everywhere, deactivated, or their 2FA reset, then the next request to the app is refused', async () => {
      for (const action of ['end-sessions', 'deactivate', 'reset-2fa']) {
        const { user, secret } = await makeTwoFactorUser();
        const browser = await signIn(user, secret);
        echoed(await browser.request(APP, '/'));
        await asAdmin(`/admin/users/${user.id}/${action}`, `/admin/users/${user.id}/${action}`);
        const after = await browser.request(APP, '/');
        assert.equal(after.status, 302, action);
        assert.equal(locationOf(after, base()).pathname, '/login', action);
      }
    });

    it('#55 when the gate cookie is stolen, then it opens the app but not /settings or /admin on the portal', async () => {
      const browser = await signIn(admin);
      const thief = new ProxyBrowser(port);
      thief.cookies.set('keygate.gate', browser.cookies.get('keygate.gate')!);
      echoed(await thief.request(APP, '/'));
      for (const path of ['/settings', '/admin/users', '/admin/apps']) {
        const answer = await thief.request(AUTH, path);
        assert.equal(answer.status, 303, path);
        assert.match(answer.headers.location!, /^\/login/, path);
      }
    });

    it('when the database is dead, then the proxy shows an error, never the app', async () => {
      const user = await makeUser(t().db);
      const browser = await signIn(user);
      echoed(await browser.request(APP, '/'));
      await cutDatabase(t().database.name);
      try {
        const answer = await browser.request(APP, '/');
        assert.ok(answer.status >= 500, `status ${answer.status}`);
        assert.doesNotMatch(answer.body, /"echo"/);
      } finally {
        await allowConnections(t().database.name);
      }
    });
  });
}
