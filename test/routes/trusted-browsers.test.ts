/**
 * Trusted browsers ("don't ask for a code on this browser for 30 days"), over HTTP: the checkbox,
 * the cookie, the sign-in that skips the code (never the password), expiry, every revocation
 * cause, the policy (TRUSTED_BROWSERS, TRUSTED_BROWSER_DURATION=0), the gate, a stolen cookie
 * without the password, a revocation racing sign-ins, and the statements a sign-in costs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser, csrfTokenIn, type Browser, type Response } from '../helpers/agent.ts';
import { newTrustedBrowser } from '../../src/auth/trusted-browsers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { addApp, forwardAuth, gateCookieOf, GATE_ENV } from '../helpers/gate.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { statementCalls, WRITE_STATEMENT } from '../helpers/statements.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  secretFromSetupPage,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

const DAY = 86_400_000;
const COOKIE = 'keygate.trusted';

let t: TestApp;
let admin: Awaited<ReturnType<typeof makeUser>>;
before(async () => {
  t = await createTestApp({ REQUIRE_2FA: 'off' });
  admin = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
});
after(() => t.close());

/** An administrator just signed in (admin actions need a recent sign-in; the tests move the clock). */
function adminBrowser(): Promise<Browser> {
  return signInWithPassword(t, admin.email, admin.password);
}

/** An administrator's action on the user's page, confirmed. */
async function adminAction(userId: string, action: string, fields: Record<string, string> = {}) {
  const path = `/admin/users/${userId}/${action}`;
  const browser = await adminBrowser();
  const done = await browser.submit(path, path, fields);
  assert.equal(done.status, 303, done.text);
  return { browser, done };
}

type TwoFactorUser = Awaited<ReturnType<typeof makeUserWithTwoFactor>>;

function setCookies(response: Response): string[] {
  return (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
}

/** The trusted-browser cookie line a response set, if any. */
function trustedCookieLine(response: Response, name = COOKIE): string | undefined {
  return setCookies(response).find((line) => line.startsWith(`${name}=`));
}

/** The code step with the box ticked (or not); the clock moves on so the next code is fresh. */
async function signInWithCode(
  app: TestApp,
  who: { user: { email: string; password: string }; secret: string },
  options: { trust: boolean; path?: string; code?: string } = { trust: true },
) {
  const browser = await startSignIn(app, who.user.email, who.user.password);
  const path = options.path ?? '/login/2fa';
  const page = await browser.get(path);
  const response = await browser.post(path, {
    code: options.code ?? (await codeAt(app, who.secret)),
    ...(options.trust ? { trust: 'yes' } : {}),
    _csrf: csrfTokenIn(page.text),
  });
  assert.equal(response.status, 303, response.text);
  app.clock.advance(30_000);
  const line = trustedCookieLine(response);
  const cookie = line?.split(';')[0];
  if (cookie) rememberSecret('trusted browser token', cookie.split('=')[1]);
  return { browser, response, page, line, cookie };
}

/** Another visit from the same browser: nothing but its trusted-browser cookie is kept. */
function sameBrowser(app: TestApp, cookie: string): Browser {
  const browser = createBrowser(app.app);
  (browser.agent as unknown as { jar: { setCookie(cookie: string): void } }).jar.setCookie(
    `${cookie}; Path=/`,
  );
  return browser;
}

/** The password step from that browser: where it leads ("/" skipped the code). */
async function passwordFrom(app: TestApp, cookie: string, email: string, password: string) {
  const browser = sameBrowser(app, cookie);
  const response = await browser.submit('/login', '/login', { email, password });
  return { browser, response, location: response.headers.location };
}

async function trustedRows(userId: string) {
  return t.db('trusted_browsers').where({ user_id: userId });
}

async function trustedUser(): Promise<TwoFactorUser & { cookie: string }> {
  const who = await makeUserWithTwoFactor(t);
  const { cookie } = await signInWithCode(t, who);
  assert.ok(cookie, 'a trusted-browser cookie was set');
  return { ...who, cookie };
}

describe('trusting a browser at the code step', () => {
  it('when the code form is shown, then it offers the box unticked, with the duration from config', async () => {
    const who = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, who.user.email, who.user.password);
    for (const path of ['/login/2fa', '/login/recovery']) {
      const page = await browser.get(path);
      assert.match(page.text, /Don&#39;t ask for a code on this browser for 30 days/, path);
      const box = /<input type="checkbox" name="trust" value="yes"[^>]*>/.exec(page.text);
      assert.ok(box, `${path} has the checkbox`);
      assert.doesNotMatch(box[0], /checked/, `${path}: unticked by default`);
    }
  });

  it('#61 when the box is ticked and the code is right, then a row with only the hash is stored and the cookie is HttpOnly, SameSite=Lax, Path=/, for 30 days', async () => {
    const who = await makeUserWithTwoFactor(t);
    const { line, cookie } = await signInWithCode(t, who);
    assert.ok(line && cookie);
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);
    assert.match(line, /Path=\//);
    assert.match(line, new RegExp(`Max-Age=${(30 * DAY) / 1000}`));
    assert.doesNotMatch(line, /Domain=/i);
    const token = cookie.split('=')[1]!;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    const rows = await trustedRows(who.user.id);
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].token_hash, token);
    assert.doesNotMatch(JSON.stringify(rows), new RegExp(token), 'the token itself is not stored');
    assert.equal(rows[0].expires_at.getTime() - rows[0].created_at.getTime(), 30 * DAY);
    const event = await t
      .db('audit_events')
      .where({ user_id: who.user.id, event: 'sign_in' })
      .orderBy('id', 'desc')
      .first();
    assert.deepEqual(event.details, { method: 'totp', trustedBrowser: true });
  });

  it('when the box is not ticked, then no cookie is set and nothing is stored', async () => {
    const who = await makeUserWithTwoFactor(t);
    const { line } = await signInWithCode(t, who, { trust: false });
    assert.equal(line, undefined);
    assert.equal((await trustedRows(who.user.id)).length, 0);
  });

  it('when the box is ticked on the recovery-code form, then the browser is trusted too', async () => {
    const who = await makeUserWithTwoFactor(t);
    const { cookie } = await signInWithCode(t, who, {
      trust: true,
      path: '/login/recovery',
      code: who.recoveryCodes[0]!,
    });
    assert.ok(cookie);
    assert.equal((await passwordFrom(t, cookie, who.user.email, who.user.password)).location, '/');
  });

  it('when the box is ticked but the code is wrong, then nothing is stored and the box stays ticked', async () => {
    const who = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, who.user.email, who.user.password);
    const page = await browser.get('/login/2fa');
    const wrong = await browser.post('/login/2fa', {
      code: await codeAt(t, who.secret, 20),
      trust: 'yes',
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(wrong.status, 401);
    assert.equal(trustedCookieLine(wrong), undefined);
    assert.match(wrong.text, /name="trust" value="yes" checked/);
    assert.equal((await trustedRows(who.user.id)).length, 0);
  });
});

describe('signing in on a trusted browser', () => {
  it('#61 when the password is right on a trusted browser, then the code is skipped, audited as password and trusted browser', async () => {
    const who = await trustedUser();
    t.clock.advance(DAY);
    const { browser, location } = await passwordFrom(
      t,
      who.cookie,
      who.user.email,
      who.user.password,
    );
    assert.equal(location, '/', 'signed in without the code step');
    assert.equal((await browser.get('/settings')).status, 200);
    const session = await t
      .db('sessions')
      .where({ user_id: who.user.id })
      .whereRaw(`sess->>'factors' = 'password_and_trusted_browser'`)
      .first();
    assert.ok(session, 'the session records how it was authenticated');
    const event = await t
      .db('audit_events')
      .where({ user_id: who.user.id, event: 'sign_in' })
      .orderBy('id', 'desc')
      .first();
    assert.equal(event.details.method, 'trusted_browser');
    const settings = await browser.get('/settings');
    assert.match(settings.text, /Signed in with your password and a trusted browser/);
    assert.match(settings.text, /This browser/);
    const [row] = await trustedRows(who.user.id);
    assert.equal(row.last_used_at.getTime(), t.clock.now(), 'last use moved');
  });

  it('#61 when the password is wrong on a trusted browser, then it is refused like any wrong password', async () => {
    const who = await trustedUser();
    const { response } = await passwordFrom(
      t,
      who.cookie,
      who.user.email,
      'not the password at all',
    );
    assert.equal(response.status, 401);
    assert.match(response.text, /email address or password is not right/);
  });

  it('#61 when a stolen cookie is used without the password, then it opens nothing', async () => {
    const who = await trustedUser();
    const thief = sameBrowser(t, who.cookie);
    for (const path of ['/', '/settings', '/login/2fa']) {
      const response = await thief.get(path);
      assert.equal(response.status, 303, path);
      assert.match(response.headers.location!, /^\/login/, path);
    }
    // The cookie alone on the password step, with another person's password: their code step.
    const other = await makeUserWithTwoFactor(t);
    const { location } = await passwordFrom(t, who.cookie, other.user.email, other.user.password);
    assert.equal(location, '/login/2fa', "another account's password still needs its code");
    // A forged token of the right shape, with the right password: the code step.
    const forged = await passwordFrom(
      t,
      `${COOKIE}=${'A'.repeat(43)}`,
      who.user.email,
      who.user.password,
    );
    assert.equal(forged.location, '/login/2fa');
  });

  it('when the browser was trusted over 30 days ago, then the code is asked again and the list no longer shows it', async () => {
    const who = await trustedUser();
    t.clock.advance(30 * DAY + 1000);
    const { location } = await passwordFrom(t, who.cookie, who.user.email, who.user.password);
    assert.equal(location, '/login/2fa');
    const settings = await signInWithCode(t, who, { trust: false });
    const page = await settings.browser.get('/settings');
    assert.doesNotMatch(page.text, /This browser/);
    assert.doesNotMatch(page.text, /name="browser" value="\d+"/, 'the expired one is not listed');
  });

  it('#34 when the code was skipped, then sensitive actions ask for the password and a code first', async () => {
    const who = await trustedUser();
    const { browser } = await passwordFrom(t, who.cookie, who.user.email, who.user.password);
    const regenerate = await browser.get('/settings/2fa/recovery-codes/regenerate');
    assert.equal(regenerate.status, 303);
    assert.match(regenerate.headers.location!, /^\/confirm/);
    const password = await browser.get('/settings/password');
    assert.match(password.headers.location!, /^\/confirm/);
  });
});

/**
 * Each cause of revocation: after it, the person's trusted browsers are gone from the database
 * and the password step from that browser leads to the code step again.
 */
const CAUSES: { name: string; act(who: TwoFactorUser): Promise<{ password?: string }> }[] = [
  {
    name: 'the password is changed',
    async act(who) {
      const password = 'a completely new password 2';
      const done = await who.browser.submit('/settings/password', '/settings/password', {
        currentPassword: who.user.password,
        newPassword: password,
        confirmPassword: password,
      });
      assert.equal(done.status, 303, done.text);
      return { password };
    },
  },
  {
    name: 'an administrator sets a temporary password',
    async act(who) {
      await adminAction(who.user.id, 'set-password', {
        passwordChoice: 'set',
        password: 'temporary password 12345',
        confirmPassword: 'temporary password 12345',
      });
      return { password: 'temporary password 12345' };
    },
  },
  {
    name: 'new recovery codes are made',
    async act(who) {
      const path = '/settings/2fa/recovery-codes/regenerate';
      const done = await who.browser.submit(path, path, {});
      assert.equal(done.status, 303, done.text);
      return {};
    },
  },
  {
    name: '"sign out everywhere else" is used',
    async act(who) {
      const done = await who.browser.submit('/settings', '/settings/sessions/end-others', {});
      assert.equal(done.status, 303);
      return {};
    },
  },
  {
    name: 'an administrator signs them out everywhere',
    async act(who) {
      await adminAction(who.user.id, 'end-sessions');
      return {};
    },
  },
  {
    name: 'an administrator forgets their trusted browsers',
    async act(who) {
      const { browser, done } = await adminAction(who.user.id, 'forget-browsers');
      const page = await browser.get(done.headers.location!);
      assert.match(page.text, /Forgot 2 trusted browsers/);
      return {};
    },
  },
  {
    name: 'the person forgets all their trusted browsers in settings',
    async act(who) {
      const done = await who.browser.submit('/settings', '/settings/trusted-browsers/forget', {
        browser: 'all',
      });
      assert.equal(done.status, 303);
      return {};
    },
  },
];

describe('#61 every revocation cause forgets every trusted browser', () => {
  for (const cause of CAUSES) {
    it(`#61 when ${cause.name}, then the trusted browser asks for a code again`, async () => {
      const who = await trustedUser();
      const second = await signInWithCode(t, who);
      assert.equal((await trustedRows(who.user.id)).length, 2);
      const { password } = await cause.act(who);
      assert.equal((await trustedRows(who.user.id)).length, 0, 'all rows are gone');
      for (const cookie of [who.cookie, second.cookie!]) {
        const again = await passwordFrom(t, cookie, who.user.email, password ?? who.user.password);
        assert.equal(again.location, '/login/2fa');
      }
    });
  }

  it('#61 when 2FA is turned off, then the trusted browsers are forgotten with it', async () => {
    const who = await trustedUser();
    const done = await who.browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: who.user.password,
      code: await codeAt(t, who.secret),
    });
    assert.equal(done.status, 303, done.text);
    assert.equal((await trustedRows(who.user.id)).length, 0);
  });

  it('#61 when an administrator resets their 2FA, then the trusted browsers are forgotten with it', async () => {
    const who = await trustedUser();
    await adminAction(who.user.id, 'reset-2fa', { reason: 'lost phone' });
    assert.equal((await trustedRows(who.user.id)).length, 0);
  });

  it('#61 when the account is deactivated and reactivated, then the browser asks for a code again', async () => {
    const who = await trustedUser();
    for (const action of ['deactivate', 'reactivate']) {
      await adminAction(who.user.id, action);
      if (action === 'deactivate') assert.equal((await trustedRows(who.user.id)).length, 0);
    }
    const again = await passwordFrom(t, who.cookie, who.user.email, who.user.password);
    assert.equal(again.location, '/login/2fa');
  });

  it('when the person forgets one browser in settings, then only that one asks for a code again', async () => {
    const who = await trustedUser();
    const second = await signInWithCode(t, who);
    const [first] = await t
      .db('trusted_browsers')
      .where({ user_id: who.user.id })
      .orderBy('id')
      .select('id');
    const done = await who.browser.submit('/settings', '/settings/trusted-browsers/forget', {
      browser: String(first.id),
    });
    assert.equal(done.status, 303);
    const forgotten = await passwordFrom(t, who.cookie, who.user.email, who.user.password);
    assert.equal(forgotten.location, '/login/2fa');
    const kept = await passwordFrom(t, second.cookie!, who.user.email, who.user.password);
    assert.equal(kept.location, '/');
    // Someone else's browser id: nothing of theirs is touched.
    const other = await trustedUser();
    const [theirs] = await trustedRows(other.user.id);
    await who.browser.submit('/settings', '/settings/trusted-browsers/forget', {
      browser: String(theirs.id),
    });
    assert.equal((await trustedRows(other.user.id)).length, 1);
  });

  it('#48 when a revocation races 20 sign-ins on one trusted browser, then once it is done no sign-in it raced stays signed in', async () => {
    const who = await trustedUser();
    const browsers = Array.from({ length: 20 }, () => sameBrowser(t, who.cookie));
    const pages = await Promise.all(browsers.map((b) => b.get('/login')));
    const path = `/admin/users/${who.user.id}/end-sessions`;
    const adminInBrowser = await adminBrowser();
    const confirmPage = await adminInBrowser.get(path);
    const [ended, ...signIns] = await Promise.all([
      adminInBrowser.post(path, { _csrf: csrfTokenIn(confirmPage.text) }),
      ...browsers.map((b, i) =>
        b.post('/login', {
          email: who.user.email,
          password: who.user.password,
          _csrf: csrfTokenIn(pages[i]!.text),
        }),
      ),
    ]);
    assert.equal(ended.status, 303);
    for (const response of signIns) {
      assert.equal(response.status, 303);
      assert.ok(['/', '/login/2fa'].includes(response.headers.location!));
    }
    for (const browser of browsers) {
      const home = await browser.get('/');
      assert.equal(home.status, 303, 'no raced session outlives the revocation');
    }
    assert.equal((await trustedRows(who.user.id)).length, 0);
  });
});

describe('what a sign-in costs in statements', () => {
  const statementCounts = () => statementCalls(t.db);
  /** Statements and writes of `posts` (every statement on this database meanwhile). */
  async function measure(posts: () => Promise<void>) {
    const before = await statementCounts();
    await posts();
    const after = await statementCounts();
    let statements = 0;
    let writes = 0;
    for (const [query, calls] of after) {
      const ran = calls - (before.get(query) ?? 0);
      if (ran <= 0) continue;
      statements += ran;
      if (WRITE_STATEMENT.test(query)) writes += ran;
    }
    return { statements, writes };
  }

  /** POST /login and POST /login/2fa alone (the pages are fetched outside the measurement). */
  async function codeSignIn(who: TwoFactorUser, trust: boolean) {
    const browser = createBrowser(t.app);
    const page = await browser.get('/login');
    const password = await measure(async () => {
      const r = await browser.post('/login', {
        email: who.user.email,
        password: who.user.password,
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(r.headers.location, '/login/2fa');
    });
    const codePage = await browser.get('/login/2fa');
    const code = await codeAt(t, who.secret);
    const second = await measure(async () => {
      const r = await browser.post('/login/2fa', {
        code,
        ...(trust ? { trust: 'yes' } : {}),
        _csrf: csrfTokenIn(codePage.text),
      });
      assert.equal(r.headers.location, '/');
    });
    t.clock.advance(30_000);
    return {
      statements: password.statements + second.statements,
      writes: password.writes + second.writes,
    };
  }

  it('when a sign-in is measured, then ticking the box adds no statement, and a trusted browser costs less than password and code', async (context) => {
    await t.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const who = await makeUserWithTwoFactor(t);
    // Once to warm up (prepared statements, the first row of a table), then measured.
    await codeSignIn(who, false);
    const plain = await codeSignIn(who, false);
    const ticked = await codeSignIn(who, true);
    // The trusted browser's row goes into the statement that records the sign-in.
    assert.deepEqual(ticked, plain, 'the box costs no statement and no write');
    const cookie = (await signInWithCode(t, who)).cookie!;
    const browser = sameBrowser(t, cookie);
    const page = await browser.get('/login');
    const trusted = await measure(async () => {
      const r = await browser.post('/login', {
        email: who.user.email,
        password: who.user.password,
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(r.headers.location, '/');
    });
    context.diagnostic(JSON.stringify({ plain, ticked, trusted }));
    assert.ok(trusted.statements < plain.statements, JSON.stringify({ trusted, plain }));
    assert.ok(trusted.writes <= plain.writes, JSON.stringify({ trusted, plain }));
  });
});

describe('the policy: TRUSTED_BROWSERS and TRUSTED_BROWSER_DURATION', () => {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });
  async function appWith(env: Record<string, string>) {
    const app = await createTestApp({ ...GATE_ENV, ...env });
    apps.push(app);
    return app;
  }

  async function adminWithTwoFactor(app: TestApp) {
    const who = await makeUserWithTwoFactor(app);
    await app.db('users').where({ id: who.user.id }).update({ role: 'admin' });
    return who;
  }

  /** A browser trusted before the setting changed: its row, as an earlier run stored it. */
  async function trustedEarlier(app: TestApp, userId: string): Promise<string> {
    const { token, row } = newTrustedBrowser({
      userId,
      userAgent: null,
      now: new Date(app.clock.now()),
      durationMs: 30 * DAY,
    });
    rememberSecret('trusted browser token', token);
    await app.db('trusted_browsers').insert(row);
    return `${COOKIE}=${token}`;
  }

  it('when TRUSTED_BROWSERS is users (the default), then administrators get no box and a forced trust=yes stores nothing', async () => {
    const who = await adminWithTwoFactor(t);
    const browser = await startSignIn(t, who.user.email, who.user.password);
    const page = await browser.get('/login/2fa');
    assert.doesNotMatch(page.text, /name="trust"/);
    const done = await browser.post('/login/2fa', {
      code: await codeAt(t, who.secret),
      trust: 'yes',
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(done.status, 303);
    assert.equal(trustedCookieLine(done), undefined);
    assert.equal((await trustedRows(who.user.id)).length, 0);
    t.clock.advance(30_000);
  });

  it('when a user trusted a browser and is then made an administrator, then under "users" the code is asked again', async () => {
    const who = await trustedUser();
    await t.db('users').where({ id: who.user.id }).update({ role: 'admin' });
    const again = await passwordFrom(t, who.cookie, who.user.email, who.user.password);
    assert.equal(again.location, '/login/2fa');
  });

  it('#57 when TRUSTED_BROWSERS is all, then an administrator may trust a browser, and the gate counts that sign-in as two-factor', async () => {
    const all = await appWith({ TRUSTED_BROWSERS: 'all' });
    await addApp(all, { name: 'Grafana', host: 'grafana.example.com', policy: 'two-factor' });
    const who = await adminWithTwoFactor(all);
    const { cookie } = await signInWithCode(all, who);
    assert.ok(cookie);
    const { browser, location } = await passwordFrom(
      all,
      cookie,
      who.user.email,
      who.user.password,
    );
    assert.equal(location, '/');
    const gate = await gateCookieOf(browser);
    const answer = await forwardAuth(all, 'https://grafana.example.com/', { cookie: gate });
    assert.equal(answer.status, 200, 'a two-factor app opens');
    assert.equal(answer.headers['remote-email'], who.user.email);
  });

  for (const [name, env] of [
    ['TRUSTED_BROWSERS is off', { TRUSTED_BROWSERS: 'off' }],
    ['TRUSTED_BROWSER_DURATION is 0', { TRUSTED_BROWSER_DURATION: '0' }],
  ] as const) {
    it(`when ${name}, then there is no box and cookies given before are ignored`, async () => {
      const app = await appWith(env);
      const who = await makeUserWithTwoFactor(app);
      const cookie = await trustedEarlier(app, who.user.id);
      const again = await passwordFrom(app, cookie, who.user.email, who.user.password);
      assert.equal(again.location, '/login/2fa');
      const page = await again.browser.get('/login/2fa');
      assert.doesNotMatch(page.text, /name="trust"/);
      const done = await again.browser.post('/login/2fa', {
        code: await codeAt(app, who.secret),
        trust: 'yes',
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(done.status, 303);
      assert.equal(trustedCookieLine(done), undefined, 'a forced trust=yes sets nothing');
    });
  }

  it('when TRUSTED_BROWSER_DURATION is 7d, then the box says 7 days and the cookie lasts 7 days', async () => {
    const week = await appWith({ TRUSTED_BROWSER_DURATION: '7d' });
    const who = await makeUserWithTwoFactor(week);
    const browser = await startSignIn(week, who.user.email, who.user.password);
    const page = await browser.get('/login/2fa');
    assert.match(page.text, /on this browser for 7 days/);
    const done = await browser.post('/login/2fa', {
      code: await codeAt(week, who.secret),
      trust: 'yes',
      _csrf: csrfTokenIn(page.text),
    });
    assert.match(trustedCookieLine(done) ?? '', new RegExp(`Max-Age=${(7 * DAY) / 1000}`));
  });
});

describe('#40 the cookie in production', () => {
  let p: TestApp;
  before(async () => {
    p = await createTestApp({
      NODE_ENV: 'production',
      TRUST_PROXY: 'loopback',
      REQUIRE_2FA: 'off',
    });
  });
  after(() => p.close());

  it('#40 when a browser is trusted over HTTPS in production, then its cookie is __Host- and Secure', async () => {
    // supertest's jar will not send Secure cookies over the test's plain HTTP: this browser keeps
    // its cookies itself and says, through the trusted proxy, that the connection is HTTPS.
    const jar = new Map<string, string>();
    const send = async (test: request.Test) => {
      test.set('X-Forwarded-Proto', 'https').set('Sec-Fetch-Site', 'same-origin');
      if (jar.size) test.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
      const response = await test;
      for (const line of setCookies(response)) {
        const [name, ...value] = line.split(';')[0]!.split('=');
        jar.set(name!, value.join('='));
      }
      return response;
    };
    const get = (path: string) => send(request(p.app).get(path));
    /** GETs `page`, then posts `fields` with its CSRF token to `action`. */
    const submit = async (page: string, action: string, fields: Record<string, string>) => {
      const token = csrfTokenIn((await get(page)).text);
      const body = new URLSearchParams({ ...fields, _csrf: token }).toString();
      return send(request(p.app).post(action).type('form').send(body));
    };
    const user = await makeUser(p.db);
    await submit('/login', '/login', { email: user.email, password: user.password });
    await submit('/settings', '/settings/2fa/setup', {});
    const secret = secretFromSetupPage((await get('/settings/2fa/setup')).text);
    const confirmed = await submit('/settings/2fa/setup', '/settings/2fa/confirm', {
      code: await codeAt(p, secret),
    });
    assert.equal(confirmed.status, 303, confirmed.text);
    p.clock.advance(30_000);
    jar.clear();
    await submit('/login', '/login', { email: user.email, password: user.password });
    const done = await submit('/login/2fa', '/login/2fa', {
      code: await codeAt(p, secret),
      trust: 'yes',
    });
    assert.equal(done.status, 303, done.text);
    const line = trustedCookieLine(done, '__Host-keygate-trusted');
    assert.ok(line, 'the __Host- cookie is set');
    rememberSecret('trusted browser token', line.split(';')[0]!.split('=')[1]);
    for (const flag of [/; Secure/i, /; HttpOnly/i, /SameSite=Lax/i, /Path=\//])
      assert.match(line, flag);
    assert.doesNotMatch(line, /Domain=/i);
    // The next sign-in from that browser skips the code.
    for (const name of [...jar.keys()]) if (name !== '__Host-keygate-trusted') jar.delete(name);
    const again = await submit('/login', '/login', { email: user.email, password: user.password });
    assert.equal(again.headers.location, '/');
  });
});
