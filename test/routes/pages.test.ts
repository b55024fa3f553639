import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser } from '../helpers/agent.ts';
import { REQUIRED_CSP_DIRECTIVES } from '../helpers/headers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

describe('error pages', () => {
  it('when a page does not exist, then a 404 page says so', async () => {
    const response = await request(t.app).get('/no/such/page');
    assert.equal(response.status, 404);
    assert.match(response.text, /Page not found/);
    assert.match(response.headers['content-type']!, /text\/html/);
  });

  it('when something unexpected breaks, then a 500 page shows a reference and no stack trace', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    // A real fault: the table the page needs is missing (not a connection problem).
    await t.db.raw('ALTER TABLE users RENAME TO users_moved');
    try {
      const response = await browser.get('/');
      assert.equal(response.status, 500);
      assert.match(response.text, /Something went wrong/);
      const reference = /reference <code>([0-9a-f-]{36})<\/code>/.exec(response.text)?.[1];
      assert.ok(reference, 'the page shows the request id');
      assert.equal(response.headers['x-request-id'], reference);
      assert.doesNotMatch(response.text, /at .*\.ts:\d+|node_modules|users_moved|relation/);
      const logged = t
        .logs()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      assert.ok(
        logged.some(
          (entry) =>
            entry.reqId === reference &&
            entry.level === 50 &&
            /users/.test(entry.err?.message ?? ''),
        ),
        'the error is logged with the request id',
      );
    } finally {
      await t.db.raw('ALTER TABLE users_moved RENAME TO users');
    }
  });

  it('when the query string is odd, then pages still answer cleanly', async () => {
    for (const path of ['/login?next[a]=b', '/login?%zz', '/login?next=%00', '/setup?token[]=x']) {
      const response = await request(t.app).get(path);
      assert.ok(response.status < 500, `${path} answered ${response.status}`);
    }
  });
});

describe('health probes', () => {
  it('when the process is up, then /healthz answers ok without a session cookie', async () => {
    const response = await request(t.app).get('/healthz');
    assert.equal(response.status, 200);
    assert.equal(response.text, 'ok');
    assert.equal(response.headers['set-cookie'], undefined);
  });

  it('when the database answers, then /readyz is ready', async () => {
    const response = await request(t.app).get('/readyz');
    assert.equal(response.status, 200);
  });
});

describe('#45 security headers', () => {
  for (const path of ['/login', '/no/such/page', '/healthz', '/public/style.css']) {
    it(`when ${path} is fetched, then the strict headers are present`, async () => {
      const response = await request(t.app).get(path);
      const csp = response.headers['content-security-policy']!;
      for (const directive of REQUIRED_CSP_DIRECTIVES) {
        assert.ok(csp.includes(directive), `${path}: CSP lacks ${directive}`);
      }
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['referrer-policy'], 'same-origin');
      assert.equal(response.headers['x-frame-options'], 'DENY');
      assert.equal(response.headers['x-powered-by'], undefined);
      assert.equal(
        response.headers['strict-transport-security'],
        undefined,
        'no HSTS outside production',
      );
    });
  }

  it('when a page is an auth form or behind sign-in, then it is never cached', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    assert.equal((await browser.get('/login')).headers['cache-control'], 'no-store');
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    assert.equal((await browser.get('/')).headers['cache-control'], 'no-store');
    assert.equal((await browser.get('/logout')).headers['cache-control'], 'no-store');
  });

  it('when a page is rendered, then it has no script at all', async () => {
    const response = await request(t.app).get('/login');
    assert.doesNotMatch(response.text, /<script|\son[a-z]+=/i);
    assert.doesNotMatch(response.text, /\sstyle=/);
  });
});
