/**
 * #54: return addresses to other hosts (rd). Every line of oauth2-proxy's open-redirect corpus
 * (test/fixtures/open-redirects.txt) is refused by the checker and by every route that takes rd;
 * fast-check properties say that whatever is accepted stays on the allowed hosts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { isTrustedReturnHost, parseReturnUrl } from '../../src/auth/return-address.ts';
import { isUnderDomain } from '../../src/config.ts';
import { ROOT } from '../../src/dirs.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { addApp } from '../helpers/gate.ts';

const CORPUS = fs
  .readFileSync(path.join(ROOT, 'test', 'fixtures', 'open-redirects.txt'), 'utf8')
  .split('\n');
const DOMAIN = 'whitelisteddomain.tld';
const HOSTS = { portalHost: `auth.${DOMAIN}`, cookieDomain: DOMAIN };

function accepted(value: string, allowHttp: boolean): URL | null {
  const url = parseReturnUrl(value, { allowHttp });
  return url && isTrustedReturnHost(url.hostname, HOSTS) ? url : null;
}

describe('#54 the open-redirect corpus, line by line', () => {
  it('when every line is checked as a return address, then every one is refused (https and http rules)', () => {
    assert.equal(
      CORPUS.length,
      559 + 1,
      'the corpus is complete (559 lines and the final newline)',
    );
    const let_through = CORPUS.filter((line) => accepted(line, false) || accepted(line, true));
    assert.deepEqual(let_through, []);
  });

  describe('through the routes', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        BASE_URL: `http://auth.${DOMAIN}`,
        AUTH_COOKIE_DOMAIN: DOMAIN,
        REQUIRE_2FA: 'off',
      });
      await addApp(t, { host: `www.${DOMAIN}` });
    });
    after(() => t.close());

    it('#54 when each line is given as rd to /continue, /login and /logout, then the browser is kept on the portal', async () => {
      // The sign-in page stores nothing for a visitor, so signing out needs a signed-in session:
      // one, whose sign-out page is asked about every line; the POST itself (the same check of
      // rd) for a few lines below, each on a session of its own.
      const user = await makeUser(t.db);
      const signedIn = createBrowser(t.app);
      await signedIn.submit('/login', '/login', { email: user.email, password: user.password });
      const browser = createBrowser(t.app);
      for (const line of CORPUS) {
        const rd = encodeURIComponent(line);
        const onward = await request(t.app).get(`/continue?rd=${rd}`);
        assert.equal(onward.status, 303, line);
        assert.equal(onward.headers.location, '/', line);
        const login = await browser.get(`/login?rd=${rd}`);
        assert.equal(login.status, 200, line);
        assert.match(login.text, /name="next" value=""/, line);
        const out = await signedIn.get(`/logout?rd=${rd}`);
        assert.equal(out.status, 200, line);
        assert.doesNotMatch(out.text, /name="rd"/, line);
      }
      for (const line of CORPUS.filter((text) => text !== '').slice(0, 3)) {
        const session = createBrowser(t.app);
        await session.submit('/login', '/login', { email: user.email, password: user.password });
        const page = await session.get('/logout');
        const out = await session.post('/logout', { _csrf: csrfTokenIn(page.text), rd: line });
        assert.equal(out.status, 303, line);
        assert.equal(out.headers.location, '/login?signed_out=1', line);
      }
    });

    it('when rd is a real app’s address, then /continue moves on to exactly that address', async () => {
      const target = `http://www.${DOMAIN}/wiki/page?x=1`;
      const page = await request(t.app).get(`/continue?rd=${encodeURIComponent(target)}`);
      assert.equal(page.status, 200);
      assert.match(
        page.text,
        /<meta http-equiv="refresh" content="0;url=http:\/\/www\.whitelisteddomain\.tld\/wiki\/page\?x=1">/,
      );
      const login = await request(t.app).get(`/login?rd=${encodeURIComponent(target)}`);
      assert.match(
        login.text,
        /name="next" value="\/continue\?rd=http%3A%2F%2Fwww\.whitelisteddomain\.tld/,
      );
    });
  });
});

describe('#54 properties of the return-address check', () => {
  const allowedHost = fc.oneof(
    fc.constant(DOMAIN),
    fc.domain().map((d) => `${d.split('.')[0]}.${DOMAIN}`),
  );
  const noise = fc.string({
    unit: fc.constantFrom(
      ...'/\\@:.%#?&=-_ \t\n\u0000\u00a0\u2028\u3002\uff0e'.split(''),
      'https:',
      'http:',
      'evil.com',
      DOMAIN,
      '//',
      '%2f',
      '%5c',
    ),
    maxLength: 20,
  });

  it('when any string is accepted, then it is https, without user info, on an allowed host, and its own serialisation', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          noise.map((n) => `https://${n}`),
          fc.tuple(noise, allowedHost, noise).map((p) => p.join('')),
        ),
        (value) => {
          const url = accepted(value, false);
          if (!url) return;
          assert.equal(url.protocol, 'https:');
          assert.equal(url.username + url.password, '');
          assert.ok(isUnderDomain(url.hostname, DOMAIN) || url.hostname === HOSTS.portalHost);
          assert.equal(new URL(url.href).hostname, url.hostname);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('when the address is an ordinary https URL on an allowed host, then it is accepted (the check is not a wall)', () => {
    fc.assert(
      fc.property(allowedHost, fc.webPath(), (host, pathname) => {
        const value = `https://${host}${pathname.startsWith('/') ? pathname : `/${pathname}`}`;
        assert.ok(accepted(value, false), value);
      }),
      { numRuns: 500 },
    );
  });
});
