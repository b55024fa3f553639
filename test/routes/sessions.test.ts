import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { ANONYMOUS_FORM_TTL_MS } from '../../src/auth/limits.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('session timeouts (defaults: 1 h idle, 24 h absolute)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  async function signedIn() {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    assert.equal((await browser.get('/')).status, 200);
    return browser;
  }

  it('#42 when the session sits idle for over an hour, then it is over', async () => {
    const browser = await signedIn();
    t.clock.advance(HOUR + MINUTE);
    const response = await browser.get('/');
    assert.equal(response.status, 303);
    const login = await browser.get(response.headers.location!);
    assert.match(login.text, /signed out because your session expired/);
  });

  it('#42 when the session is used every 50 minutes, then it lives on until the absolute limit', async () => {
    const browser = await signedIn();
    for (let elapsed = 50 * MINUTE; elapsed < 24 * HOUR; elapsed += 50 * MINUTE) {
      t.clock.advance(50 * MINUTE);
      assert.equal(
        (await browser.get('/')).status,
        200,
        `still signed in after ${elapsed / MINUTE} minutes`,
      );
    }
    t.clock.advance(50 * MINUTE);
    assert.equal((await browser.get('/')).status, 303, 'signed out after 24 hours');
  });

  it('#42 when the cookie is replayed with a forged far-future expiry, then the server still ends it', async () => {
    const browser = await signedIn();
    const cookie = browser.sessionCookie()!;
    t.clock.advance(HOUR + MINUTE);
    const response = await request(t.app)
      .get('/')
      .set('Cookie', `${cookie}; Expires=Fri, 31 Dec 9999 23:59:59 GMT`);
    assert.equal(response.status, 303);
  });

  it('when a signed-in page is viewed many times in a minute, then the session row is written at most once', async () => {
    const browser = await signedIn();
    const sid = decodeURIComponent(browser.sessionCookie()!.split('=')[1]!).slice(2).split('.')[0];
    const row = async () =>
      (await t.db('sessions').where({ sid }).first()) as { sess: { lastSeenAt: number } };
    const before = await row();
    for (let i = 0; i < 5; i++) {
      t.clock.advance(10_000);
      await browser.get('/');
    }
    assert.deepEqual(await row(), before, 'no write for page views within the minute');
    t.clock.advance(20_000);
    await browser.get('/');
    assert.equal((await row()).sess.lastSeenAt, t.clock.now(), 'activity after a minute is saved');
  });

  it('when a user is deactivated, then their open session stops working on the next request', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    await t.db('users').where({ id: user.id }).update({ is_active: false });
    assert.equal((await browser.get('/')).status, 303);
  });

  it('when a session is saved, then the database links it to its user', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    const rows = await t.db('sessions').where({ user_id: user.id });
    assert.equal(rows.length, 1);
  });
});

describe('#40 production cookies and headers', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ NODE_ENV: 'production', TRUST_PROXY: 'loopback' });
  });
  after(() => t.close());

  it('when served behind HTTPS, then the session cookie is __Host-, Secure, HttpOnly, SameSite and has no Domain', async () => {
    const user = await makeUser(t.db);
    const page = await request(t.app).get('/login').set('X-Forwarded-Proto', 'https');
    const form = (page.headers['set-cookie'] as unknown as string[])[0]!;
    assert.match(form, /^__Host-keygate-form=[A-Za-z0-9_-]{24}\.\d+\.[A-Za-z0-9_-]{43};/);
    const response = await request(t.app)
      .post('/login')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', form.split(';')[0]!)
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    const session = (response.headers['set-cookie'] as unknown as string[]).find((line) =>
      line.startsWith('__Host-keygate='),
    )!;
    assert.match(
      session,
      /^__Host-keygate=s%3A[A-Za-z0-9_-]{32}\./,
      '32 base64url characters: 192 random bits',
    );
    for (const [cookie, sameSite] of [
      [session, /; SameSite=Lax/],
      [form, /; SameSite=Strict/],
    ] as const) {
      assert.match(cookie, /; Path=\//);
      assert.match(cookie, /; Secure/);
      assert.match(cookie, /; HttpOnly/);
      assert.match(cookie, sameSite);
      assert.doesNotMatch(cookie, /Domain=/i);
    }
  });

  it('#45 when in production, then HSTS is sent', async () => {
    const response = await request(t.app).get('/login').set('X-Forwarded-Proto', 'https');
    assert.match(
      response.headers['strict-transport-security']!,
      /max-age=\d{8}; includeSubDomains/,
    );
  });

  it('when the connection is plain HTTP, then no session cookie is ever sent', async () => {
    const response = await request(t.app).get('/login');
    assert.equal(response.headers['set-cookie'], undefined);
  });

  it('when a full sign-in runs behind HTTPS, then it works with the __Host- cookie', async () => {
    const user = await makeUser(t.db);
    const page = await request(t.app).get('/login').set('X-Forwarded-Proto', 'https');
    const cookie = (page.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const response = await request(t.app)
      .post('/login')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', cookie)
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    assert.equal(response.status, 303);
    const signedIn = (response.headers['set-cookie'] as unknown as string[])
      .find((line) => line.startsWith('__Host-keygate='))!
      .split(';')[0]!;
    const home = await request(t.app)
      .get('/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', signedIn);
    assert.equal(home.status, 200);
  });
});

describe('sessions without a sign-in (bots and new visitors)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const sessionRow = (sid: string) =>
    t.db('sessions').where({ sid }).first<{ expire: Date } | undefined>('expire');
  const sidOf = (cookie: string) =>
    decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;

  it('when a visitor only opens the sign-in page, then no session row is written at all', async () => {
    const before = await t.db('sessions').count('* as n').first();
    const page = await request(t.app).get('/login');
    assert.equal(page.status, 200);
    const cookies = (page.headers['set-cookie'] as unknown as string[]).map((c) => c.split('=')[0]);
    assert.deepEqual(cookies, ['keygate.form'], 'no session cookie');
    assert.deepEqual(await t.db('sessions').count('* as n').first(), before);
  });

  it('when the visitor then signs in, then the signed-in session gets the full idle timeout', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    const row = await sessionRow(sidOf(browser.sessionCookie()!));
    const lifetime = row!.expire.getTime() - Date.now();
    assert.ok(lifetime > 59 * MINUTE && lifetime <= HOUR + 2000, `lifetime ${lifetime} ms`);
  });

  it('when the sign-in form is posted after its lifetime, then the same form comes back with the email kept and a fresh token', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    const page = await browser.get('/login');
    t.clock.advance(ANONYMOUS_FORM_TTL_MS);
    const response = await browser.post('/login', {
      email: user.email,
      password: user.password,
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.status, 403, 'the old form is refused: its password was not checked');
    assert.match(response.text, /This page was open for a while\. Enter your password again\./);
    assert.match(response.text, new RegExp(`value="${user.email.replace(/[.]/g, '\\.')}"`));
    assert.doesNotMatch(response.text, new RegExp(user.password), 'never the password');
    const again = await browser.post('/login', {
      email: user.email,
      password: user.password,
      _csrf: csrfTokenIn(response.text),
    });
    assert.equal(again.status, 303, 'the fresh token works');
    assert.equal(again.headers.location, '/');
  });

  it('when another form is posted after its session expired, then the expired-form page answers', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const page = await browser.get('/settings/password');
    await t.db('sessions').update({ expire: new Date(Date.now() - 1000) });
    const response = await browser.post('/settings/password', {
      currentPassword: user.password,
      newPassword: 'another long password',
      confirmPassword: 'another long password',
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.status, 403);
    assert.match(response.text, /This form has expired/);
    assert.match(response.text, /Nothing was changed/, 'worded without blaming the person');
    assert.match(response.text, /href="\/settings\/password"/, 'a link back to the page');
  });
});
