import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createSetupToken } from '../../src/auth/setup-tokens.ts';
import { csrfTokenIn, encodeForm, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { makeUserWithTwoFactor, signInWithPassword, startSignIn } from '../helpers/two-factor.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp({ REQUIRE_2FA: 'off' });
});
after(() => t.close());

/** Values an attacker or a broken client sends instead of a normal field. */
const BAD_VALUES: [string, string | null][] = [
  ['missing', null],
  ['empty', ''],
  ['a NUL byte', 'abc\u0000def'],
  ['control characters', '\u0001\u0002\u001b[31m'],
  ['right-to-left override', 'moc.elpmaxe@\u202Eadmin'],
  ['Cyrillic look-alikes', 'аdmin@еxample.com'],
  ['emoji', '🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑'],
  ['a very long value (30 kB)', 'x'.repeat(30_000)],
  ['SQL', "' OR 1=1; DROP TABLE users; --"],
  ['HTML', '<script>alert(1)</script>"><img src=x onerror=alert(1)>'],
  ['a path traversal', '../../../../etc/passwd'],
];

interface Form {
  page: string;
  action: string;
  fields: Record<string, string>;
}

/** Sends `fields` with one field replaced by `value` (or left out, or repeated), plus the token. */
async function submitWith(
  browser: Browser,
  form: Form,
  field: string,
  value: string | null | string[],
) {
  const page = await browser.get(form.page);
  assert.equal(page.status, 200, `GET ${form.page}`);
  // Once the bad codes lock the account's codes, the code page shows no form: a script takes a
  // token of the same session from the sign-in page and keeps sending.
  const source = /name="_csrf"/.test(page.text) ? page : await browser.get('/login');
  const fields: Record<string, string | string[]> = {
    ...form.fields,
    _csrf: csrfTokenIn(source.text),
  };
  if (value === null) delete fields[field];
  else fields[field] = value;
  return browser.agent.post(form.action).type('form').send(encodeForm(fields));
}

function assertCleanAnswer(response: request.Response, what: string) {
  assert.ok(response.status < 500, `${what}: answered ${response.status}`);
  if (response.status >= 400) {
    assert.match(response.headers['content-type'] ?? '', /text\/html/, what);
    assert.match(response.text, /<h1>[^<]+<\/h1>/, `${what}: a page with a heading`);
    assert.doesNotMatch(
      response.text,
      /at [A-Za-z.]+ \(|node_modules|<script/,
      `${what}: no stack trace or injected script`,
    );
  }
}

describe('bad input on every form', () => {
  it('when any field of any form gets a bad value, then the answer is a clean page, never a 500, and the app keeps serving', async () => {
    const { user, browser } = await makeUserWithTwoFactor(t);
    const admin = await makeUser(t.db, { role: 'admin' });
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const plain = await makeUser(t.db);
    const plainBrowser = await signInWithPassword(t, plain.email, plain.password);
    // Wrong codes end a pending sign-in after 5: each attempt gets a fresh one.
    const pending = () => startSignIn(t, user.email, user.password);
    const anonymous = (await import('../helpers/agent.ts')).createBrowser(t.app);
    const enrolling = await signInWithPassword(
      t,
      (await makeUser(t.db)).email,
      'correct horse battery staple',
    );
    await enrolling.submit('/settings', '/settings/2fa/setup', {});

    const forms: [Browser | (() => Promise<Browser>), Form][] = [
      [
        anonymous,
        {
          page: '/login',
          action: '/login',
          fields: { email: 'not-a-user@example.com', password: 'wrong password here', next: '/' },
        },
      ],
      [
        pending,
        { page: '/login/2fa', action: '/login/2fa', fields: { code: '123456', trust: 'yes' } },
      ],
      [
        pending,
        {
          page: '/login/recovery',
          action: '/login/recovery',
          fields: { code: 'AAAA-BBBB-CCCC-DDDD' },
        },
      ],
      [
        browser,
        {
          page: '/confirm?next=/settings',
          action: '/confirm',
          fields: { password: 'wrong password here', code: '123456', next: '/settings' },
        },
      ],
      [
        plainBrowser,
        {
          page: '/settings/password',
          action: '/settings/password',
          fields: {
            currentPassword: 'wrong password here',
            newPassword: 'a new long password',
            confirmPassword: 'a new long password',
          },
        },
      ],
      [
        browser,
        {
          page: '/settings/2fa/disable',
          action: '/settings/2fa/disable',
          fields: { password: 'wrong password here', code: '123456' },
        },
      ],
      [
        enrolling,
        {
          page: '/settings/2fa/setup',
          action: '/settings/2fa/confirm',
          fields: { code: '123456' },
        },
      ],
      [
        plainBrowser,
        {
          page: '/settings',
          action: '/settings/sessions/end',
          fields: { session: '0'.repeat(24) },
        },
      ],
      [
        plainBrowser,
        {
          page: '/settings',
          action: '/settings/trusted-browsers/forget',
          fields: { browser: '1' },
        },
      ],
      [
        adminBrowser,
        {
          page: '/admin/users/new',
          action: '/admin/users/new',
          fields: {
            email: 'new-user@example.com',
            role: 'user',
            passwordChoice: 'set',
            password: 'short',
          },
        },
      ],
    ];
    const before = await t
      .db('users')
      .orderBy('id')
      .select('id', 'password_hash', 'totp_secret_encrypted', 'role', 'is_active');

    for (const [whoever, form] of forms) {
      const fresh = async () => (typeof whoever === 'function' ? whoever() : whoever);
      const who = await fresh();
      const send = async (_: Browser, f: Form, field: string, value: string | null | string[]) =>
        submitWith(await fresh(), f, field, value);
      for (const field of Object.keys(form.fields)) {
        for (const [what, value] of BAD_VALUES) {
          assertCleanAnswer(await send(who, form, field, value), `${form.action} ${field} ${what}`);
        }
        assertCleanAnswer(
          await send(who, form, field, ['one', 'two']),
          `${form.action} ${field} repeated`,
        );
        const huge = await send(who, form, field, 'y'.repeat(1024 * 1024));
        assert.equal(huge.status, 413, `${form.action} ${field} 1 MB`);
        assertCleanAnswer(huge, `${form.action} ${field} 1 MB`);
      }
      for (const [type, body] of [
        ['application/json', JSON.stringify(form.fields)],
        ['text/plain', 'email=a@example.com'],
        [
          'multipart/form-data; boundary=x',
          '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--',
        ],
        ['application/x-www-form-urlencoded; charset=latin1', 'email=%E9'],
        ['application/x-www-form-urlencoded', 'email=%C3%28&password=%FF%FE&code=%00'],
        [
          'application/x-www-form-urlencoded',
          'a[b][c]=1&__proto__[x]=1&constructor[prototype][y]=2',
        ],
      ]) {
        const response = await who.agent.post(form.action).set('Content-Type', type!).send(body);
        assertCleanAnswer(response, `${form.action} as ${type}`);
        assert.ok(
          response.status >= 400,
          `${form.action} as ${type}: refused (${response.status})`,
        );
      }
    }
    assert.equal(({} as Record<string, unknown>).x, undefined, 'no prototype pollution');
    const afterRows = await t
      .db('users')
      .orderBy('id')
      .select('id', 'password_hash', 'totp_secret_encrypted', 'role', 'is_active');
    assert.deepEqual(afterRows.slice(0, before.length), before, 'no bad form changed any user');
    // A valid password among the "bad" values (twelve emoji are fine) may create the form's user, whole.
    const created = await t.db('users').whereNotIn(
      'id',
      before.map((row) => row.id),
    );
    assert.ok(
      created.every((row) => row.email === 'new-user@example.com' && row.must_change_password),
    );
    assert.equal((await request(t.app).get('/healthz')).status, 200);
    assert.equal((await browser.get('/settings')).status, 200, 'the app keeps serving');
  });

  it('when query strings are odd, then every page answers cleanly', async () => {
    const admin = await makeUser(t.db, { role: 'admin' });
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    const paths = [
      '/login?next=//evil.example',
      '/login?next=https://evil.example',
      '/login?next=/\\evil.example',
      '/login?next=%2F%2Fevil.example',
      '/login?next[]=/a&next[]=/b',
      '/login?next=%00%0d%0aSet-Cookie:%20x=1',
      '/confirm?next=../../etc/passwd',
      `/setup?token=${token}&token=${token}`,
      '/setup?token[x]=1',
      '/admin/users?q=%00',
      '/admin/users?q=' + 'a'.repeat(300),
      '/admin/users?q[]=a',
      '/admin/users?sort=id;DROP TABLE users',
      '/admin/users?twofa=maybe',
      '/admin/users?after=' + 'A'.repeat(700),
      '/admin/users?before=%FF%FE',
      '/admin/users/../../etc/passwd',
      '/admin/users/1%00',
      '/admin/users/99999999999999999999999',
      '/admin/users/-1/reset-2fa',
      '/settings/2fa/recovery-used?next=javascript:alert(1)',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/public/../package.json',
      '/public/%2e%2e/package.json',
    ];
    for (const path of paths) {
      const response = await adminBrowser.get(path);
      assertCleanAnswer(response, path);
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.location!;
        assert.ok(
          location.startsWith('/') && !location.startsWith('//'),
          `${path} redirects to ${location}`,
        );
      }
      assert.doesNotMatch(response.text, /"name": "keygate"|root:x:0/, `${path} leaks a file`);
    }
  });
});
