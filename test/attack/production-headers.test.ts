/**
 * #40 and #45 in production mode, over every kind of response the app gives: anonymous pages,
 * signed-in and admin pages, redirects, refusals, error pages and static files. Behind a trusted
 * proxy that says the connection is HTTPS, as in a real deployment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { csrfTokenIn, encodeForm, type Response } from '../helpers/agent.ts';
import { makeUser } from '../helpers/factories.ts';
import { REQUIRED_CSP_DIRECTIVES } from '../helpers/headers.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp({ NODE_ENV: 'production', TRUST_PROXY: 'loopback' });
});
after(() => t.close());

/**
 * A browser on HTTPS behind the proxy. supertest's cookie jar will not hand a `Secure` cookie to
 * a plain-HTTP test server, so this one keeps the session cookie itself.
 */
function httpsBrowser() {
  // The session cookie and the sign-in form's cookie, by name.
  const jar = new Map<string, string>();
  let cookie: string | undefined;
  const keep = (response: Response) => {
    const set = response.headers['set-cookie'] as unknown as string[] | undefined;
    for (const line of set ?? []) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      if (pair.endsWith('=')) jar.delete(name);
      else jar.set(name, pair);
      if (name === '__Host-keygate' && !pair.endsWith('='))
        rememberSecret(
          'session id',
          decodeURIComponent(pair.split('=')[1]!).slice(2).split('.')[0]!,
        );
    }
    cookie = jar.size ? [...jar.values()].join('; ') : undefined;
    return response;
  };
  const withHeaders = (test: request.Test) => {
    test.set('X-Forwarded-Proto', 'https').set('Sec-Fetch-Site', 'same-origin');
    if (cookie) test.set('Cookie', cookie);
    return test;
  };
  return {
    get: async (path: string) => keep(await withHeaders(request(t.app).get(path))),
    post: async (path: string, body: string, type = 'form') =>
      keep(await withHeaders(request(t.app).post(path)).type(type).send(body)),
  };
}

function checkHeaders(label: string, response: Response, { cacheable = false } = {}) {
  const headers = response.headers;
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${label}: no CSP`);
  for (const directive of REQUIRED_CSP_DIRECTIVES)
    assert.ok(csp.includes(directive), `${label}: CSP lacks ${directive}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, label);
  assert.match(
    headers['strict-transport-security'] ?? '',
    /max-age=\d{8}; includeSubDomains/,
    `${label}: HSTS`,
  );
  assert.equal(headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  assert.equal(headers['referrer-policy'], 'same-origin', `${label}: Referrer-Policy`);
  assert.equal(headers['x-frame-options'], 'DENY', `${label}: frame protection`);
  assert.equal(headers['x-powered-by'], undefined, `${label}: X-Powered-By`);
  if (!cacheable) assert.equal(headers['cache-control'], 'no-store', `${label}: no-store`);
  for (const line of (headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
    assert.match(line, /^__Host-keygate(-form)?=/, `${label}: cookie name`);
    for (const attribute of [/; Path=\/(;|$)/, /; Secure/, /; HttpOnly/, /; SameSite=(Lax|Strict)/])
      assert.match(line, attribute, `${label}: cookie ${attribute}`);
    assert.doesNotMatch(line, /Domain=/i, `${label}: cookie Domain`);
  }
}

describe('#40 #45 production headers on every kind of response', () => {
  it('when anyone fetches pages, errors and refusals, then every response has the strict headers', async () => {
    const browser = httpsBrowser();
    const seen: [string, number][] = [];
    const check = (label: string, response: Response, options?: { cacheable?: boolean }) => {
      seen.push([label, response.status]);
      checkHeaders(label, response, options);
    };

    const login = await browser.get('/login');
    check('GET /login', login);
    check('GET /login?next=//evil.example', await browser.get('/login?next=//evil.example'));
    check('GET /no/such/page', await browser.get('/no/such/page'));
    check('GET /settings signed out', await browser.get('/settings'));
    check('GET /login/2fa without a password step', await browser.get('/login/2fa'));
    check('GET /healthz', await browser.get('/healthz'));
    check('GET /readyz', await browser.get('/readyz'));
    check('GET /public/style.css', await browser.get('/public/style.css'), { cacheable: true });
    check('POST /login without a token', await browser.post('/login', 'email=a&password=b'));
    check('POST /login as JSON', await browser.post('/login', '{"email":"a"}', 'application/json'));
    check(
      'POST /login over the size limit',
      await browser.post('/login', `email=${'a'.repeat(40_000)}`),
    );
    const token = csrfTokenIn((await browser.get('/login')).text);
    check(
      'POST /login with repeated fields',
      await browser.post('/login', encodeForm({ email: ['a', 'b'], password: 'x', _csrf: token })),
    );
    check(
      'POST /login with a wrong password',
      await browser.post(
        '/login',
        encodeForm({ email: 'nobody@example.com', password: 'wrong password!', _csrf: token }),
      ),
    );

    const admin = await makeUser(t.db, { role: 'admin' });
    const other = await makeUser(t.db);
    const signIn = await browser.post(
      '/login',
      encodeForm({
        email: admin.email,
        password: admin.password,
        _csrf: csrfTokenIn((await browser.get('/login')).text),
      }),
    );
    assert.equal(signIn.status, 303, signIn.text);
    check('POST /login that signs in', signIn);
    for (const path of [
      '/',
      '/settings',
      '/settings/password',
      '/settings/2fa/disable',
      '/admin',
      '/admin/users',
      '/admin/users?q=example',
      '/admin/users/new',
      `/admin/users/${other.id}`,
      '/admin/users/not-a-number',
      '/logout',
    ])
      check(`GET ${path} as an admin`, await browser.get(path));
    const setup = await browser.post(
      '/settings/2fa/setup',
      encodeForm({ _csrf: csrfTokenIn((await browser.get('/settings')).text) }),
    );
    check('POST /settings/2fa/setup', setup);
    check('GET /settings/2fa/setup (QR code page)', await browser.get('/settings/2fa/setup'));
    const signOut = await browser.post(
      '/logout',
      encodeForm({ _csrf: csrfTokenIn((await browser.get('/logout')).text) }),
    );
    assert.equal(signOut.status, 303);
    check('POST /logout', signOut);

    // The walk went through every status class the app answers with.
    const statuses = new Set(seen.map(([, status]) => status));
    for (const status of [200, 303, 400, 401, 403, 404, 413])
      assert.ok(statuses.has(status), `no response with status ${status} was checked`);
  });
});
