import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser, csrfTokenIn, type Response } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { makeUserWithTwoFactor } from '../helpers/two-factor.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

async function signIn(email: string, password: string, pagePath = '/login') {
  const browser = createBrowser(t.app);
  const response = await browser.submit(pagePath, '/login', {
    email,
    password,
    next: new URL(pagePath, 'http://x').searchParams.get('next') ?? '',
  });
  return { browser, response };
}

/** What an observer sees of a failed sign-in, minus the parts that differ on every request. */
function observable(response: Response) {
  return {
    status: response.status,
    location: response.headers.location,
    setCookie: (response.headers['set-cookie'] as unknown as string[] | undefined)?.map((c) =>
      c.replace(/=[^;]*/, '=…').replace(/Expires=[^;]*/, ''),
    ),
    body: response.text
      .replace(/name="_csrf" value="[^"]*"/g, '')
      .replace(/value="[^"]*@example\.com"/g, 'value="EMAIL"'),
  };
}

describe('password sign-in', () => {
  it('when the password is right, then the user lands on the home page and sees who they are', async () => {
    const user = await makeUser(t.db);
    const { browser, response } = await signIn(user.email.toUpperCase(), user.password);
    assert.equal(response.status, 303);
    assert.equal(response.headers.location, '/');
    const home = await browser.get('/');
    assert.equal(home.status, 200);
    assert.match(home.text, new RegExp(user.email.replace('.', '\\.')));
    assert.match(home.text, /Two-factor authentication<\/dt>\s*<dd>Off/);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.ok(row.last_sign_in_at, 'last sign-in time is recorded');
    const events = await t.db('audit_events').where({ user_id: user.id, event: 'sign_in' });
    assert.equal(events.length, 1);
  });

  it('#9 when the sign-in page is shown, then no session starts (nothing to fixate or store)', async () => {
    const browser = createBrowser(t.app);
    const page = await browser.get('/login');
    assert.equal(page.status, 200);
    assert.equal(browser.sessionCookie(), undefined);
    const cookies = (page.headers['set-cookie'] as unknown as string[]).map((c) => c.split('=')[0]);
    assert.deepEqual(cookies, ['keygate.form'], 'only the form cookie of the stateless CSRF token');
  });

  it('#9 when signing in over an earlier session, then the session id changes and the old one is worthless', async () => {
    const { user: twoFactorUser } = await makeUserWithTwoFactor(t);
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', {
      email: twoFactorUser.email,
      password: twoFactorUser.password,
    });
    const before = browser.sessionCookie();
    assert.ok(before, 'the pending sign-in holds a session');
    const page = await browser.get('/login');
    const response = await browser.post('/login', {
      email: user.email,
      password: user.password,
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.status, 303);
    const afterCookie = browser.sessionCookie();
    assert.ok(afterCookie);
    assert.notEqual(afterCookie, before);
    const sid = decodeURIComponent(before.split('=')[1]!).slice(2).split('.')[0];
    const oldRow = await t.db('sessions').where({ sid }).first();
    assert.equal(oldRow, undefined, 'the pre-sign-in session row is destroyed');
    const withOldCookie = await createBrowser(t.app).agent.get('/').set('Cookie', before);
    assert.equal(withOldCookie.status, 303);
    assert.match(withOldCookie.headers.location!, /^\/login/);
  });

  it('#43 when a planted, unknown session id is presented, then it is not adopted', async () => {
    // Even one signed with the real secret (as a stolen secret would allow) is replaced.
    const plantedId = 'attacker-chosen-session-id';
    const signature = crypto
      .createHmac('sha256', t.config.sessionSecrets[0]!)
      .update(plantedId)
      .digest('base64')
      .replace(/=+$/, '');
    for (const cookie of [
      'keygate.sid=s%3Aunsigned-attacker-id.bad',
      `keygate.sid=${encodeURIComponent(`s:${plantedId}.${signature}`)}`,
    ]) {
      const response = await request(t.app).get('/login').set('Cookie', cookie);
      assert.equal(response.status, 200);
      const issued = (response.headers['set-cookie'] as unknown as string[])[0]!;
      assert.ok(!issued.includes(plantedId) && !issued.includes('unsigned-attacker-id'), issued);
    }
    assert.equal((await t.db('sessions').where({ sid: plantedId })).length, 0);
  });

  it('#1 when the email is unknown or the password wrong, then the answer is the same', async () => {
    const user = await makeUser(t.db);
    const wrong = await signIn(user.email, 'not the right password');
    const unknown = await signIn(uniqueEmail('nobody'), 'not the right password');
    assert.equal(wrong.response.status, 401);
    assert.deepEqual(observable(wrong.response), observable(unknown.response));
    assert.match(wrong.response.text, /email address or password is not right/);
  });

  it('#1 when the email is unknown, then the response takes about as long as a wrong password', async () => {
    const user = await makeUser(t.db);
    const time = async (email: string) => {
      const browser = createBrowser(t.app);
      const page = await browser.get('/login');
      const token = csrfTokenIn(page.text);
      const started = process.hrtime.bigint();
      await browser.post('/login', { email, password: 'not the right password', _csrf: token });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 9; i++) {
      // 9: stays under the 10-failure limit per account and IP, so every attempt runs bcrypt.
      known.push(await time(user.email));
      unknown.push(await time(uniqueEmail('ghost')));
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const ratio = median(unknown) / median(known);
    assert.ok(
      ratio > 0.75 && ratio < 1.33,
      `median unknown/known time ratio ${ratio.toFixed(2)} (bcrypt is spent for both)`,
    );
  });

  it('when the account is deactivated, then the right password gets the wrong-password answer', async () => {
    const user = await makeUser(t.db, { active: false });
    const deactivated = await signIn(user.email, user.password);
    const wrong = await signIn(uniqueEmail('nobody'), user.password);
    assert.equal(deactivated.response.status, 401);
    assert.deepEqual(observable(deactivated.response), observable(wrong.response));
  });

  it('#5 when two passwords share their first 72 bytes, then only the real one works', async () => {
    const base = 'a'.repeat(72);
    const user = await makeUser(t.db, { password: `${base}REAL-tail` });
    assert.equal((await signIn(user.email, `${base}OTHER-tail`)).response.status, 401);
    assert.equal((await signIn(user.email, `${base}REAL-tail`)).response.status, 303);

    const euros = '€'.repeat(24); // 72 bytes in UTF-8
    const multi = await makeUser(t.db, { password: `${euros}x` });
    assert.equal((await signIn(multi.email, `${euros}y`)).response.status, 401);
    assert.equal((await signIn(multi.email, `${euros}x`)).response.status, 303);
  });

  it('when a unicode password is typed in another normal form, then it still works (NFKC)', async () => {
    const user = await makeUser(t.db, { password: 'Ångström café passphrase' });
    const decomposed = 'Ångström café passphrase'.normalize('NFD');
    assert.equal((await signIn(user.email, decomposed)).response.status, 303);
  });

  it('when a page behind sign-in is asked for, then sign-in returns there afterwards', async () => {
    const user = await makeUser(t.db);
    const anonymous = await createBrowser(t.app).get('/?tab=1');
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.location, '/login?next=%2F%3Ftab%3D1');
    const { response } = await signIn(user.email, user.password, '/login?next=%2F%3Ftab%3D1');
    assert.equal(response.headers.location, '/?tab=1');
  });

  for (const target of [
    '//evil.example',
    'https://evil.example',
    '/\\evil.example',
    '/%5Cevil.example',
    'javascript:alert(1)',
    '/\tevil',
    '////evil.example',
    '/.//evil.example',
    '/..//evil.example',
    '/a/..//evil.example',
  ]) {
    it(`when the return address is ${JSON.stringify(target)}, then sign-in stays on this site`, async () => {
      const user = await makeUser(t.db);
      const browser = createBrowser(t.app);
      const page = await browser.get(`/login?next=${encodeURIComponent(target)}`);
      assert.equal(page.status, 200);
      const response = await browser.post('/login', {
        email: user.email,
        password: user.password,
        next: target,
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(response.status, 303);
      const location = response.headers.location!;
      assert.ok(
        location.startsWith('/') && !location.startsWith('//') && !location.startsWith('/\\'),
        location,
      );
      assert.equal(new URL(location, 'http://keygate.test').host, 'keygate.test');
    });
  }

  it('#41 when signing out, then the session row is gone and the old cookie is worthless', async () => {
    const user = await makeUser(t.db);
    const { browser } = await signIn(user.email, user.password);
    const cookie = browser.sessionCookie()!;
    const confirm = await browser.get('/logout');
    assert.equal(confirm.status, 200);
    const out = await browser.post('/logout', { _csrf: csrfTokenIn(confirm.text) });
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/login?signed_out=1');
    const sid = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0];
    assert.equal(await t.db('sessions').where({ sid }).first(), undefined);
    const replay = await createBrowser(t.app).agent.get('/').set('Cookie', cookie);
    assert.equal(replay.status, 303);
    const signedOutPage = await browser.get('/login?signed_out=1');
    assert.match(signedOutPage.text, /You have signed out/);
  });

  it('when signed in, then the login page sends the user on', async () => {
    const user = await makeUser(t.db);
    const { browser } = await signIn(user.email, user.password);
    const page = await browser.get('/login');
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/');
  });
});

describe('sign-in form input', () => {
  const cases: [string, Record<string, string | string[]>, RegExp][] = [
    ['empty fields', { email: '', password: '' }, /Enter your email address/],
    ['no fields at all', {}, /Enter your email address/],
    [
      'a repeated email field',
      { email: ['a@example.com', 'b@example.com'], password: 'whatever password' },
      /Email address was sent more than once/,
    ],
    [
      'a NUL byte in the email',
      { email: 'a\u0000@example.com', password: 'whatever password' },
      /Email address contains characters that cannot be used/,
    ],
    [
      'a NUL byte in the password',
      { email: 'a@example.com', password: 'pass\u0000word-long' },
      /Password contains characters that cannot be used/,
    ],
    [
      'an email that is not one',
      { email: 'not-an-email', password: 'whatever password' },
      /Enter an email address like/,
    ],
    [
      'a password longer than 128 characters',
      { email: 'a@example.com', password: 'p'.repeat(129) },
      /at most 128 characters/,
    ],
    [
      'an overlong email',
      { email: `${'a'.repeat(250)}@example.com`, password: 'whatever password' },
      /at most 254 characters/,
    ],
  ];
  for (const [what, fields, message] of cases) {
    it(`#14 when the form has ${what}, then a 400 page says what to fix and keeps the email`, async () => {
      const browser = createBrowser(t.app);
      const response = await browser.submit('/login', '/login', fields);
      assert.equal(response.status, 400);
      assert.match(response.text, message);
      assert.match(response.text, /aria-invalid="true"/);
      assert.doesNotMatch(
        response.text,
        /value="whatever password"/,
        'the password is never echoed',
      );
    });
  }

  it('#7 when the body is 1 MB, then a fast 413 page answers without any bcrypt', async () => {
    const browser = createBrowser(t.app);
    const started = Date.now();
    const response = await browser.submit('/login', '/login', {
      email: 'a@example.com',
      password: 'x'.repeat(1024 * 1024),
    });
    assert.equal(response.status, 413);
    assert.match(response.text, /larger than Keygate accepts/);
    assert.match(response.text, /href="\/login"/, 'links back to the form');
    assert.ok(Date.now() - started < 2000);
  });

  it('#14 when the body is JSON, then the form is refused with a 403 page, not a 500', async () => {
    const browser = createBrowser(t.app);
    await browser.get('/login');
    const response = await browser.agent
      .post('/login')
      .send({ email: 'a@example.com', password: 'x' });
    assert.equal(response.status, 403);
    assert.match(response.text, /This form has expired/);
  });

  it('when the form carries invalid UTF-8, then it gets a 400 page that says what to fix', async () => {
    const browser = createBrowser(t.app);
    const page = await browser.get('/login');
    const response = await browser.agent
      .post('/login')
      .type('form')
      .send(
        `_csrf=${encodeURIComponent(csrfTokenIn(page.text))}&email=%C3%28%40example.com&password=abcdefghijklmnop`,
      );
    // The undecodable sequence is kept as typed, so it is simply not an email address.
    assert.equal(response.status, 400);
    assert.match(response.text, /Enter an email address like/);
  });

  it('when the query string repeats next, then the login page still renders', async () => {
    const response = await createBrowser(t.app).get('/login?next=/a&next=/b');
    assert.equal(response.status, 200);
    assert.match(response.text, /name="next" value=""/);
  });
});
