/**
 * The authz endpoints through the real app: status codes, identity headers, what a proxy may and
 * may not make Keygate believe, and that a call creates nothing (no session, no cookie, no write).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { gateDecisionCounts } from '../../src/auth/gate-counters.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { GATE_ENV, addApp, authRequest, forwardAuth, gateCookieOf } from '../helpers/gate.ts';
import { statementCalls } from '../helpers/statements.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp(GATE_ENV);
  await addApp(t, { name: 'Wiki', host: 'wiki.example.com' });
  await addApp(t, {
    name: 'Wiki admin',
    host: 'wiki.example.com',
    pathPrefix: '/admin',
    allowedGroups: ['wiki-admins'],
  });
  await addApp(t, { name: 'Vault', host: 'vault.example.com', policy: 'nobody' });
});
after(() => t.close());

async function signedIn() {
  const user = await makeUser(t.db);
  const browser = await signInWithPassword(t, user.email, user.password);
  return { user, browser, cookie: await gateCookieOf(browser) };
}

describe('auth-request (nginx)', () => {
  it('#53 when a signed-in person may open the app, then 200 with Remote-User, Remote-Email and Remote-Groups', async () => {
    const { user, cookie } = await signedIn();
    const answer = await authRequest(t, 'https://wiki.example.com/page?x=1', {
      cookie,
      headers: { 'Remote-User': 'mallory', 'Remote-Groups': 'admin' },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['remote-user'], user.email);
    assert.equal(answer.headers['remote-email'], user.email);
    assert.equal(answer.headers['remote-groups'], 'user');
    assert.equal(answer.headers['cache-control'], 'no-store');
  });

  it('when nobody is signed in, then 401 with Location to the portal carrying the original URL', async () => {
    const answer = await authRequest(t, 'https://wiki.example.com/a%20b?q=1&r=2');
    assert.equal(answer.status, 401);
    const location = new URL(answer.headers.location!);
    assert.equal(location.origin + location.pathname, `${t.config.baseUrl}/login`);
    assert.equal(location.searchParams.get('rd'), 'https://wiki.example.com/a%20b?q=1&r=2');
    assert.equal(answer.headers['remote-user'], undefined);
  });

  it('when the rules are read, then the most specific one decides and an unknown host or a "nobody" app is 403', async () => {
    const { cookie } = await signedIn();
    assert.equal(
      (await authRequest(t, 'https://wiki.example.com/administrator', { cookie })).status,
      200,
    );
    const admin = await authRequest(t, 'https://wiki.example.com/admin/users', { cookie });
    assert.equal(admin.status, 403);
    assert.match(admin.headers.location!, /\/denied\?rd=/);
    assert.equal((await authRequest(t, 'https://other.example.com/', { cookie })).status, 403);
    assert.equal((await authRequest(t, 'https://vault.example.com/', { cookie })).status, 403);
    // Unknown hosts are refused before anyone is asked to sign in.
    assert.equal((await authRequest(t, 'https://other.example.com/')).status, 403);
  });

  it('when the forwarded headers are missing, repeated or malformed, then 400 and a log line, never 200', async () => {
    const { cookie } = await signedIn();
    const bare = await request(t.app).get('/api/authz/auth-request').set('Cookie', cookie);
    assert.equal(bare.status, 400);
    for (const url of [
      '/relative',
      'ftp://wiki.example.com/',
      'https://user:pw@wiki.example.com/',
      'https://wiki.example.com/\\x',
      'javascript:alert(1)',
    ]) {
      assert.equal((await authRequest(t, url, { cookie })).status, 400, url);
    }
    assert.equal(
      (await authRequest(t, 'https://wiki.example.com/', { cookie, method: 'G E T' })).status,
      400,
    );
    assert.match(t.logs(), /"event":"authz_refused","reason":"original_url"/);
  });
});

describe('forward-auth (Caddy, Traefik)', () => {
  it('when nobody is signed in, then a navigation is redirected (302 for GET and HEAD, 303 otherwise) and anything else is 401', async () => {
    const get = await forwardAuth(t, 'https://wiki.example.com/page?x=1');
    assert.equal(get.status, 302);
    assert.equal(
      new URL(get.headers.location!).searchParams.get('rd'),
      'https://wiki.example.com/page?x=1',
    );
    assert.equal(
      (await forwardAuth(t, 'https://wiki.example.com/', { method: 'HEAD' })).status,
      302,
    );
    assert.equal(
      (await forwardAuth(t, 'https://wiki.example.com/', { method: 'POST' })).status,
      303,
    );
    const xhr = await forwardAuth(t, 'https://wiki.example.com/', {
      headers: { 'X-Requested-With': 'XMLHttpRequest' },
    });
    assert.equal(xhr.status, 401);
    assert.equal(xhr.headers.location, undefined);
    assert.equal(
      (await forwardAuth(t, 'https://wiki.example.com/api', { accept: 'application/json' })).status,
      401,
    );
  });

  it('#53 when signed in, then 200 with the identity headers; when denied, then a 403 page naming the app', async () => {
    const { user, cookie } = await signedIn();
    const ok = await forwardAuth(t, 'https://wiki.example.com/', { cookie });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['remote-user'], user.email);
    const denied = await forwardAuth(t, 'https://wiki.example.com/admin', { cookie });
    assert.equal(denied.status, 403);
    assert.match(denied.text, /You may not open Wiki admin/);
    assert.match(denied.text, /members of wiki-admins/);
  });

  it('when the forwarded parts are missing or odd, then 400', async () => {
    const { cookie } = await signedIn();
    for (const [name, value] of [
      ['X-Forwarded-Proto', 'gopher'],
      ['X-Forwarded-Host', 'wiki.example.com/evil'],
      ['X-Forwarded-Uri', 'no-slash'],
      ['X-Forwarded-Method', ''],
    ] as const) {
      const answer = await forwardAuth(t, 'https://wiki.example.com/', { cookie }).set(name, value);
      assert.equal(answer.status, 400, `${name}: ${value}`);
    }
  });
});

describe('what a call costs and leaves behind', () => {
  it('when any authz call is made, then no session row and no cookie are made, and the answer is no-store', async () => {
    const { cookie } = await signedIn();
    const before = await t.db('sessions').count<{ n: string }[]>('* as n');
    const answers = [
      await authRequest(t, 'https://wiki.example.com/'),
      await authRequest(t, 'https://wiki.example.com/', { cookie }),
      await forwardAuth(t, 'https://wiki.example.com/'),
      await forwardAuth(t, 'https://wiki.example.com/admin', { cookie }),
      await request(t.app).get('/api/authz/auth-request'),
    ];
    for (const answer of answers) {
      assert.equal(answer.headers['set-cookie'], undefined);
      assert.equal(answer.headers['cache-control'], 'no-store');
    }
    const after = await t.db('sessions').count<{ n: string }[]>('* as n');
    assert.deepEqual(after, before);
  });

  it('when an allowed call is made, then it costs one database statement and no write', async () => {
    const { cookie } = await signedIn();
    await authRequest(t, 'https://wiki.example.com/', { cookie }); // the idle clock is fresh now
    // pg_stat_statements sees every statement, prepared or not (knex's query events do not).
    await t.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const counts = () => statementCalls(t.db);
    const before = await counts();
    for (let i = 0; i < 5; i++)
      assert.equal((await authRequest(t, 'https://wiki.example.com/x', { cookie })).status, 200);
    const after = await counts();
    const ran = [...after]
      .map(([query, calls]) => ({ query, calls: calls - (before.get(query) ?? 0) }))
      .filter((entry) => entry.calls > 0);
    assert.equal(
      ran.reduce((sum, entry) => sum + entry.calls, 0),
      5,
      JSON.stringify(ran),
    );
    assert.ok(
      ran.every((entry) => /^SELECT/.test(entry.query.trim())),
      'no write',
    );
  });

  it('when decisions are made, then each denial and redirect is counted in process', async () => {
    const before =
      gateDecisionCounts().find(
        (c) => c.endpoint === 'auth-request' && c.outcome === 'sign_in_redirect',
      )?.count ?? 0;
    await authRequest(t, 'https://wiki.example.com/');
    const after = gateDecisionCounts().find(
      (c) => c.endpoint === 'auth-request' && c.outcome === 'sign_in_redirect',
    )?.count;
    assert.equal(after, before + 1);
  });

  it('when a signed-in person is denied again and again, then the audit log has it once per app and minute', async () => {
    const { user, cookie } = await signedIn();
    for (let i = 0; i < 5; i++) await authRequest(t, 'https://wiki.example.com/admin', { cookie });
    await authRequest(t, 'https://vault.example.com/', { cookie });
    const rows = () =>
      t.db('audit_events').where({ user_id: user.id, event: 'gate_denied' }).select('details');
    assert.equal((await rows()).length, 2);
    t.clock.advance(61_000);
    await authRequest(t, 'https://wiki.example.com/admin', { cookie });
    assert.equal((await rows()).length, 3);
  });
});

describe('who may call', () => {
  it('#53 when the caller is not in TRUST_PROXY, then 403 and a log line, whatever it sends', async () => {
    const strict = await createTestApp({ ...GATE_ENV, TRUST_PROXY: '10.0.0.0/8' }, undefined);
    try {
      await addApp(strict, { host: 'wiki.example.com' });
      const user = await makeUser(strict.db);
      const browser = await signInWithPassword(strict, user.email, user.password);
      const cookie = await gateCookieOf(browser);
      for (const call of [
        authRequest(strict, 'https://wiki.example.com/', { cookie }),
        forwardAuth(strict, 'https://wiki.example.com/', { cookie }),
        authRequest(strict, 'https://wiki.example.com/', {
          cookie,
          headers: { 'X-Forwarded-For': '10.0.0.1' },
        }),
      ]) {
        const answer = await call;
        assert.equal(answer.status, 403);
        assert.equal(answer.headers['remote-user'], undefined);
      }
      assert.match(strict.logs(), /"reason":"untrusted_proxy"/);
    } finally {
      await strict.close();
    }
  });
});
