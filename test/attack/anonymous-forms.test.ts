/**
 * The anonymous forms (sign-in, first-admin setup) carry a stateless CSRF token: its secret is in
 * a signed, dated cookie instead of a session row. Login CSRF must still be refused (#37), and
 * showing these pages to new visitors must store nothing on the server.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import request from 'supertest';
import { ANONYMOUS_FORM_TTL_MS } from '../../src/auth/limits.ts';
import { createBrowser, csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

/** The browser's anonymous form cookie ("name=value"). */
function formCookie(browser: Browser): string {
  const jar = (
    browser.agent as unknown as {
      jar: { getCookies(o: object): { name: string; value: string }[] };
    }
  ).jar;
  const found = jar
    .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
    .find((cookie) => cookie.name === 'keygate.form');
  assert.ok(found, 'the sign-in page set its form cookie');
  return `${found.name}=${found.value}`;
}

async function visitor() {
  const browser = createBrowser(t.app);
  const page = await browser.get('/login');
  assert.equal(page.status, 200);
  return { browser, token: csrfTokenIn(page.text), cookie: formCookie(browser) };
}

/** POST /login with exactly this cookie header and token, as a forged request would arrive. */
function postLogin(cookie: string | null, fields: Record<string, string>) {
  const test = request(t.app).post('/login').type('form');
  if (cookie) test.set('Cookie', cookie);
  return test.send(fields);
}

function signRaw(secret: string, payload: string): string {
  return crypto
    .createHmac('sha256', secret)
    .update(`anonymous-form:${payload}`)
    .digest('base64url');
}

/** Counts every statement any pg client of this process sends while `work` runs. */
async function statementsDuring(work: () => Promise<unknown>): Promise<number> {
  const original = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    count++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = original;
  }
  return count;
}

async function sessionRows(): Promise<number> {
  const row = await t.db('sessions').count('* as n').first();
  return Number(row!.n);
}

describe('#37 login CSRF on the anonymous forms (stateless token)', () => {
  it('when the sign-in form is posted without a token, then it is refused and nobody is signed in', async () => {
    const user = await makeUser(t.db);
    const { cookie } = await visitor();
    const response = await postLogin(cookie, { email: user.email, password: user.password });
    assert.equal(response.status, 403);
    assert.match(response.text, /This page was open for a while/);
    assert.equal(response.headers.location, undefined);
  });

  it("when another visitor's token is posted with my cookie (a forged sign-in), then it is refused", async () => {
    const attacker = await makeUser(t.db);
    const victim = await visitor();
    const other = await visitor();
    const response = await postLogin(victim.cookie, {
      email: attacker.email,
      password: attacker.password,
      _csrf: other.token,
    });
    assert.equal(response.status, 403);
    assert.doesNotMatch(String(response.headers['set-cookie'] ?? ''), /keygate\.sid/);
  });

  it('when a token is posted without its cookie, then it is refused', async () => {
    const user = await makeUser(t.db);
    const { token } = await visitor();
    const response = await postLogin(null, {
      email: user.email,
      password: user.password,
      _csrf: token,
    });
    assert.equal(response.status, 403);
  });

  it('when a stale token (its cookie older than the form lifetime) is posted, then it is refused and a fresh form works', async () => {
    const user = await makeUser(t.db);
    const { browser, token } = await visitor();
    t.clock.advance(ANONYMOUS_FORM_TTL_MS + 1000);
    try {
      const stale = await browser.post('/login', {
        email: user.email,
        password: user.password,
        _csrf: token,
      });
      assert.equal(stale.status, 403);
      assert.match(stale.text, /This page was open for a while/);
      const again = await browser.post('/login', {
        email: user.email,
        password: user.password,
        _csrf: csrfTokenIn(stale.text),
      });
      assert.equal(again.status, 303, 'the form shown again carries a fresh token');
    } finally {
      t.clock.advance(-(ANONYMOUS_FORM_TTL_MS + 1000));
    }
  });

  it('when the cookie is forged (own secret, wrong signature) or its date moved, then it is refused', async () => {
    const user = await makeUser(t.db);
    const { cookie, token } = await visitor();
    const [secret, issued] = decodeURIComponent(cookie.split('=')[1]!).split('.');
    const attackerSecret = 'attacker-chosen-secret';
    const forged = [
      `keygate.form=${attackerSecret}.${t.clock.now()}.${signRaw('not-the-secret', `${attackerSecret}.${t.clock.now()}`)}`,
      `keygate.form=${secret}.${Number(issued) + 3_600_000}.${signRaw('not-the-secret', `${secret}.${Number(issued) + 3_600_000}`)}`,
      `keygate.form=${secret}.${Number(issued) + 60_000}.${decodeURIComponent(cookie.split('=')[1]!).split('.')[2]}`,
    ];
    for (const bad of forged) {
      const response = await postLogin(bad, {
        email: user.email,
        password: user.password,
        _csrf: token,
      });
      assert.equal(response.status, 403, bad);
    }
  });

  it("when a signed-in session's token is posted on the anonymous form, then it is refused", async () => {
    const user = await makeUser(t.db);
    const signedIn = createBrowser(t.app);
    await signedIn.submit('/login', '/login', { email: user.email, password: user.password });
    const sessionToken = csrfTokenIn((await signedIn.get('/logout')).text);
    const { cookie } = await visitor();
    const response = await postLogin(cookie, {
      email: user.email,
      password: user.password,
      _csrf: sessionToken,
    });
    assert.equal(response.status, 403);
  });

  it('when the setup form is posted with a foreign token, then it is refused', async () => {
    const { cookie } = await visitor();
    const other = await visitor();
    const response = await request(t.app)
      .post('/setup')
      .set('Cookie', cookie)
      .type('form')
      .send({ token: 'x', email: 'a@example.com', _csrf: other.token });
    assert.equal(response.status, 403);
    assert.match(response.text, /This form has expired/);
  });

  it('when the right cookie and token are posted, then the sign-in succeeds and the form cookie is cleared', async () => {
    const user = await makeUser(t.db);
    const { browser, token } = await visitor();
    const response = await browser.post('/login', {
      email: user.email,
      password: user.password,
      _csrf: token,
    });
    assert.equal(response.status, 303);
    assert.match(String(response.headers['set-cookie']), /keygate\.form=;/);
  });
});

describe('anonymous pages store nothing', () => {
  it('when a new visitor opens the sign-in page, then not one database statement runs', async () => {
    await request(t.app).get('/login'); // templates compiled, pools warm
    const statements = await statementsDuring(async () => {
      for (const path of ['/login', '/login?next=%2Fsettings', '/login?signed_out=1']) {
        const page = await request(t.app).get(path);
        assert.equal(page.status, 200);
        assert.match(page.text, /name="_csrf"/);
      }
    });
    assert.equal(statements, 0);
  });

  it('when the counter is given a page that does query, then it counts (the check above can fail)', async () => {
    const statements = await statementsDuring(() => request(t.app).get('/readyz'));
    assert.ok(statements >= 1, `counted ${statements}`);
  });

  it('when 200 anonymous visitors view the sign-in page (and a 404), then no session row is left', async () => {
    const before = await sessionRows();
    for (let i = 0; i < 10; i++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          request(t.app).get(n === 0 ? '/no-such-page' : '/login'),
        ),
      );
    }
    assert.equal(await sessionRows(), before);
  });
});
