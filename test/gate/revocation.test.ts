/**
 * The gate cookie lives and dies with its portal session: every way a session ends refuses the
 * very next authz call; idle and absolute timeouts hold as for the portal; it never opens
 * Keygate's own pages; a two-factor app is never opened with a password alone; a dead database
 * is a 503.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enableTwoFactor } from '../../src/auth/enrolment.ts';
import request from 'supertest';
import { generateTotpSecret, stepAt } from '../../src/auth/totp.ts';
import { createBrowser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import {
  GATE_ENV,
  addApp,
  allowConnections,
  authRequest,
  cutDatabase,
  gateCookieOf,
} from '../helpers/gate.ts';
import { codeAt, signInWithPassword, startSignIn } from '../helpers/two-factor.ts';

const WIKI = 'https://wiki.example.com/';
let t: TestApp;
let admin: Awaited<ReturnType<typeof makeUser>>;
before(async () => {
  t = await createTestApp(GATE_ENV);
  await addApp(t, { name: 'Wiki', host: 'wiki.example.com' });
  await addApp(t, { name: 'Grafana', host: 'grafana.example.com', policy: 'two-factor' });
  await addApp(t, { name: 'Ops', host: 'ops.example.com', allowedGroups: ['ops'] });
  admin = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
});
after(() => t.close());

async function signedIn() {
  const user = await makeUser(t.db);
  const browser = await signInWithPassword(t, user.email, user.password);
  return { user, browser, cookie: await gateCookieOf(browser) };
}

async function adminDoes(path: string, fields: Record<string, string> = {}) {
  const browser = await signInWithPassword(t, admin.email, admin.password);
  const answer = await browser.submit(path, path, fields);
  assert.equal(answer.status, 303, `${path}: ${answer.text.slice(0, 200)}`);
}

describe('revocation', () => {
  it('#56 when the person signs out, then the next authz call is refused', async () => {
    const { browser, cookie } = await signedIn();
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 200);
    const out = await browser.submit('/logout', '/logout', {});
    assert.equal(out.status, 303);
    assert.match(String(out.headers['set-cookie']), /keygate\.gate=;/);
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 401);
  });

  it('#56 when fifty calls are in flight together (sharing statements) and one person signs out, then each call gets its own person and every call after the sign-out is refused', async () => {
    const people = await Promise.all(Array.from({ length: 5 }, () => signedIn()));
    const round = () =>
      Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const person = people[i % people.length]!;
          const answer = await authRequest(t, WIKI, { cookie: person.cookie });
          return { person, answer };
        }),
      );
    for (const { person, answer } of await round()) {
      assert.equal(answer.status, 200);
      assert.equal(
        answer.headers['remote-user'],
        person.user.email,
        'no call gets another’s answer',
      );
    }
    // Calls keep arriving while the first person signs out; every one sent after it is refused.
    const during = round();
    const out = await people[0]!.browser.submit('/logout', '/logout', {});
    assert.equal(out.status, 303);
    const afterwards = await round();
    await during;
    for (const { person, answer } of afterwards) {
      if (person === people[0]) assert.equal(answer.status, 401);
      else assert.equal(answer.headers['remote-user'], person.user.email);
    }
  });

  it('#56 when another session signs out everywhere else, then this one’s gate cookie is refused', async () => {
    const { user, cookie } = await signedIn();
    const other = await signInWithPassword(t, user.email, user.password);
    const otherCookie = await gateCookieOf(other);
    await other.submit('/settings', '/settings/sessions/end-others', {});
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 401);
    assert.equal(
      (await authRequest(t, WIKI, { cookie: otherCookie })).status,
      200,
      'the one that asked goes on',
    );
  });

  it('#56 when the password is changed, then other sessions’ gate cookies are refused and this one’s goes on', async () => {
    const { user, browser, cookie } = await signedIn();
    const other = await signInWithPassword(t, user.email, user.password);
    const otherCookie = await gateCookieOf(other);
    const changed = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'another long password 2',
      confirmPassword: 'another long password 2',
    });
    assert.equal(changed.status, 303, changed.text.slice(0, 300));
    assert.equal((await authRequest(t, WIKI, { cookie: otherCookie })).status, 401);
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 200);
  });

  it('#56 when an admin signs them out everywhere, deactivates them or resets their 2FA, then the next call is refused', async () => {
    for (const action of ['end-sessions', 'deactivate', 'reset-2fa']) {
      const { user, secret } = await makeTwoFactorUser();
      const cookie = await signInWithCode(user, secret);
      assert.equal((await authRequest(t, WIKI, { cookie })).status, 200, action);
      await adminDoes(`/admin/users/${user.id}/${action}`);
      assert.equal((await authRequest(t, WIKI, { cookie })).status, 401, action);
    }
  });

  it('#56 when a group is taken away, then the next call to an app limited to it is refused', async () => {
    const { user, cookie } = await signedIn();
    assert.equal((await authRequest(t, 'https://ops.example.com/', { cookie })).status, 403);
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const page = `/admin/users/${user.id}`;
    assert.equal((await adminBrowser.submit(page, `${page}/groups`, { group: 'Ops' })).status, 303);
    const allowed = await authRequest(t, 'https://ops.example.com/', { cookie });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['remote-groups'], 'user,ops');
    assert.equal(
      (await adminBrowser.submit(page, `${page}/groups/remove`, { group: 'ops' })).status,
      303,
    );
    assert.equal((await authRequest(t, 'https://ops.example.com/', { cookie })).status, 403);
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id })
      .whereIn('event', ['group_added', 'group_removed'])
      .select('event', 'actor_id');
    assert.deepEqual(
      events.map((e) => [e.event, String(e.actor_id)]),
      [
        ['group_added', admin.id],
        ['group_removed', admin.id],
      ],
    );
  });
});

/** A user with 2FA on (through the domain function), and the secret their app holds. */
async function makeTwoFactorUser() {
  const user = await makeUser(t.db);
  const secret = generateTotpSecret();
  const result = await enableTwoFactor(t.db, {
    userId: user.id,
    secret,
    step: stepAt(t.clock.now()) - 2,
    keys: t.config.totpKeys,
    now: new Date(t.clock.now()),
    origin: { ip: '127.0.0.1', userAgent: null },
  });
  assert.ok(result.ok);
  return { user, secret };
}

/** Both sign-in steps, through the real pages; the browser's gate cookie. */
async function signInWithCode(user: { email: string; password: string }, secret: string) {
  const pending = await startSignIn(t, user.email, user.password);
  const answer = await pending.submit('/login/2fa', '/login/2fa', {
    code: await codeAt(t, secret),
  });
  assert.equal(answer.status, 303, answer.text.slice(0, 300));
  t.clock.advance(30_000);
  return gateCookieOf(pending);
}

describe('timeouts', () => {
  it('when the gate is used within the idle timeout, then it stays open; when idle longer, then it is refused', async () => {
    const { cookie } = await signedIn();
    for (let i = 0; i < 3; i++) {
      t.clock.advance(50 * 60_000); // under SESSION_IDLE_TIMEOUT (1 h), over 2 h in all
      assert.equal((await authRequest(t, WIKI, { cookie })).status, 200, `call ${i}`);
    }
    t.clock.advance(61 * 60_000);
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 401);
  });

  it('when the session is older than the absolute timeout, then the gate refuses it however active', async () => {
    const { cookie } = await signedIn();
    for (let i = 0; i < 29; i++) {
      t.clock.advance(50 * 60_000);
      if ((await authRequest(t, WIKI, { cookie })).status !== 200) break;
    }
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 401);
  });
});

describe('what the gate cookie opens', () => {
  it('#55 when only the gate cookie is presented, then Keygate’s settings and admin pages are not opened', async () => {
    const browser = await signInWithPassword(t, admin.email, admin.password);
    const cookie = await gateCookieOf(browser);
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 200);
    for (const path of ['/settings', '/admin/users', '/admin/apps', '/', '/settings/password']) {
      const page = await request(t.app).get(path).set('Cookie', cookie);
      assert.equal(page.status, 303, path);
      assert.match(page.headers.location!, /^\/login/, path);
    }
    const post = await request(t.app)
      .post('/settings/sessions/end-others')
      .set('Cookie', cookie)
      .type('form')
      .send('');
    assert.notEqual(post.status, 303);
  });

  it('#55 when a planted gate cookie is presented to the portal, then it is replaced, never adopted', async () => {
    const planted = 'keygate.gate=' + 'A'.repeat(43);
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    browser.agent.jar.setCookie(planted);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    const home = await browser.get('/');
    const issued = ((home.headers['set-cookie'] as unknown as string[] | undefined) ?? []).find(
      (line) => line.startsWith('keygate.gate='),
    );
    assert.ok(issued, 'a gate cookie of its own');
    const cookie = issued.split(';')[0]!;
    assert.notEqual(cookie, planted);
    assert.equal((await authRequest(t, WIKI, { cookie })).status, 200);
    assert.equal((await authRequest(t, WIKI, { cookie: planted })).status, 401);
  });
});

describe('two-factor apps', () => {
  it('#57 when a person signed in with a password alone opens a two-factor app, then they are sent to enrolment, never let in', async () => {
    const { cookie } = await signedIn();
    const answer = await authRequest(t, 'https://grafana.example.com/d/1', { cookie });
    assert.equal(answer.status, 401);
    const location = new URL(answer.headers.location!);
    assert.equal(location.pathname, '/settings/2fa/setup');
    assert.equal(location.searchParams.get('rd'), 'https://grafana.example.com/d/1');
  });

  it('#57 when the person signed in with their code, then the two-factor app opens', async () => {
    const { user, secret } = await makeTwoFactorUser();
    const cookie = await signInWithCode(user, secret);
    assert.equal((await authRequest(t, 'https://grafana.example.com/', { cookie })).status, 200);
  });
});

describe('a dead database', () => {
  it('when the database is gone, then the authz endpoints answer 503, never 500 or 200', async () => {
    const { cookie } = await signedIn();
    await cutDatabase(t.database.name);
    try {
      const answer = await authRequest(t, WIKI, { cookie });
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['remote-user'], undefined);
      const forward = await forwardAuthCall(cookie);
      assert.equal(forward.status, 503);
    } finally {
      await allowConnections(t.database.name);
    }
  });
});

function forwardAuthCall(cookie: string) {
  return request(t.app)
    .get('/api/authz/forward-auth')
    .set('Cookie', cookie)
    .set('X-Forwarded-Method', 'GET')
    .set('X-Forwarded-Proto', 'https')
    .set('X-Forwarded-Host', 'wiki.example.com')
    .set('X-Forwarded-Uri', '/');
}
