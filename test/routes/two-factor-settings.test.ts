import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  recoveryCodesFromPage,
  secretFromSetupPage,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

const MINUTE = 60_000;

describe('turning two-factor authentication on', () => {
  it('#15 when a user scans the key and enters the code, then 2FA is on and the codes are shown once', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const settings = await browser.get('/settings');
    assert.match(settings.text, /badge-off/);
    const started = await browser.post('/settings/2fa/setup', {
      _csrf: csrfTokenIn(settings.text),
    });
    assert.equal(started.headers.location, '/settings/2fa/setup');
    const page = await browser.get('/settings/2fa/setup');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(
      page.text,
      /<img class="qr" src="data:image\/png;base64,[A-Za-z0-9+/=]+"[^>]* alt="QR code/,
    );
    const secret = secretFromSetupPage(page.text);
    assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit secret, unpadded');
    assert.ok(
      page.text.includes(secret.replace(/(.{4})(?=.)/g, '$1 ')),
      'the key in groups of four',
    );
    assert.match(
      page.text,
      /otpauth:\/\/totp\/Keygate:[^?"]+\?secret=[A-Z2-7]{32}&amp;issuer=Keygate"/,
    );
    assert.equal(
      await t
        .db('users')
        .where({ id: user.id })
        .first()
        .then((row) => row.totp_secret_encrypted),
      null,
      'nothing stored yet',
    );

    const confirm = await browser.post('/settings/2fa/confirm', {
      code: await codeAt(t, secret),
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(confirm.headers.location, '/settings/2fa/recovery-codes');
    const codesPage = await browser.get('/settings/2fa/recovery-codes');
    assert.equal(codesPage.headers['cache-control'], 'no-store');
    const codes = recoveryCodesFromPage(codesPage.text);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);

    const download = await browser.get('/settings/2fa/recovery-codes.txt');
    assert.equal(download.status, 200);
    assert.match(
      download.headers['content-disposition']!,
      /^attachment; filename="?keygate-recovery-codes\.txt"?$/,
    );
    for (const code of codes) assert.ok(download.text.includes(code));

    const saved = await browser.post('/settings/2fa/recovery-codes/saved', {
      _csrf: csrfTokenIn(codesPage.text),
    });
    assert.equal(saved.headers.location, '/settings');
    const later = await browser.get('/settings/2fa/recovery-codes');
    assert.equal(recoveryCodesFromPage(later.text).length, 0, 'shown once');
    assert.match(later.text, /You have <strong>10<\/strong> left/);
    assert.equal((await browser.get('/settings/2fa/recovery-codes.txt')).status, 404);

    const settingsAfter = await browser.get('/settings');
    assert.match(settingsAfter.text, /badge-on/);
    assert.match(settingsAfter.text, /<strong>10<\/strong> recovery codes left/);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.ok(row.totp_enabled_at);
    assert.ok(row.totp_last_used_step, 'the confirming step is marked used');
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'two_factor_enabled' })).length,
      1,
    );
  });

  it('when enrolment is abandoned, then nothing is left in the database', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    await browser.get('/settings/2fa/setup');
    await browser.submit('/logout', '/logout', {});
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(row.totp_secret_encrypted, null);
    assert.equal(row.totp_enabled_at, null);
    assert.equal((await t.db('recovery_codes').where({ user_id: user.id })).length, 0);
  });

  it('#33 when the confirmation code is wrong, then 2FA stays off; after 5, the key is discarded for good', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    const page = await browser.get('/settings/2fa/setup');
    const secret = secretFromSetupPage(page.text);
    const wrong = (await codeAt(t, secret)) === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 4; i++) {
      const response = await browser.post('/settings/2fa/confirm', {
        code: wrong,
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(response.status, 400);
      assert.match(response.text, /That code is not right/);
      assert.match(response.text, /aria-invalid="true"/);
    }
    const fifth = await browser.post('/settings/2fa/confirm', {
      code: wrong,
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(fifth.headers.location, '/settings/2fa/setup');
    const restart = await browser.get('/settings/2fa/setup');
    assert.match(restart.text, /Show the QR code/);
    assert.ok(!restart.text.includes(secret), 'the discarded key is never shown again');
    const late = await browser.post('/settings/2fa/confirm', {
      code: await codeAt(t, secret),
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(late.status, 303);
    assert.equal((await t.db('users').where({ id: user.id }).first()).totp_secret_encrypted, null);
  });

  it('when the code typed at enrolment is from a clock minutes off, then the page says so', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    const page = await browser.get('/settings/2fa/setup');
    const secret = secretFromSetupPage(page.text);
    const response = await browser.post('/settings/2fa/confirm', {
      code: await codeAt(t, secret, -8),
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.status, 400);
    assert.match(response.text, /clock looks behind by about 4 minutes/);
  });

  it('when the same enrolment is confirmed twice at once, then it is turned on exactly once', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    const page = await browser.get('/settings/2fa/setup');
    const secret = secretFromSetupPage(page.text);
    const code = await codeAt(t, secret);
    const responses = await Promise.all(
      [1, 2].map(() =>
        browser.post('/settings/2fa/confirm', { code, _csrf: csrfTokenIn(page.text) }),
      ),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      [303, 303],
    );
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'two_factor_enabled' })).length,
      1,
    );
    assert.equal((await t.db('recovery_codes').where({ user_id: user.id })).length, 10);
  });

  it("#36 when 2FA is turned on, then the user's other sessions end", async () => {
    const user = await makeUser(t.db);
    const other = await signInWithPassword(t, user.email, user.password);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    const page = await browser.get('/settings/2fa/setup');
    await browser.post('/settings/2fa/confirm', {
      code: await codeAt(t, secretFromSetupPage(page.text)),
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal((await other.get('/')).status, 303, 'the other session is signed out');
    assert.equal((await browser.get('/')).status, 200, 'this one stays');
  });
});

describe('#34 recent authentication for sensitive actions', () => {
  it('when the sign-in is older than 10 minutes, then turning 2FA on asks to confirm it is you first', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    t.clock.advance(11 * MINUTE);
    const settings = await browser.get('/settings');
    const start = await browser.post('/settings/2fa/setup', { _csrf: csrfTokenIn(settings.text) });
    assert.equal(start.headers.location, '/confirm?next=%2Fsettings%2F2fa%2Fsetup');
    const confirmPage = await browser.get(start.headers.location!);
    assert.match(confirmPage.text, /Confirm it's you/);
    assert.doesNotMatch(confirmPage.text, /name="code"/, 'no code field without 2FA');
    const cookieBefore = browser.sessionCookie();
    const wrong = await browser.post('/confirm', {
      password: 'not my password at all',
      next: '/settings/2fa/setup',
      _csrf: csrfTokenIn(confirmPage.text),
    });
    assert.equal(wrong.status, 401);
    const confirmed = await browser.post('/confirm', {
      password: user.password,
      next: '/settings/2fa/setup',
      _csrf: csrfTokenIn(confirmPage.text),
    });
    assert.equal(confirmed.headers.location, '/settings/2fa/setup');
    assert.notEqual(
      browser.sessionCookie(),
      cookieBefore,
      'a new session id after re-authentication',
    );
    const setup = await browser.get('/settings/2fa/setup');
    assert.match(setup.text, /Show the QR code/);
    assert.equal(
      (await browser.submit('/settings/2fa/setup', '/settings/2fa/setup', {})).headers.location,
      '/settings/2fa/setup',
    );
  });

  it('when 2FA is on, then confirming needs the password and a code', async () => {
    const { browser, user, secret } = await makeUserWithTwoFactor(t);
    t.clock.advance(11 * MINUTE);
    const regenerate = await browser.get('/settings/2fa/recovery-codes/regenerate');
    assert.equal(regenerate.status, 303);
    const confirmPage = await browser.get(regenerate.headers.location!);
    assert.match(confirmPage.text, /name="code"/);
    const noCode = await browser.post('/confirm', {
      password: user.password,
      next: '/settings',
      _csrf: csrfTokenIn(confirmPage.text),
    });
    assert.equal(noCode.status, 400);
    const ok = await browser.post('/confirm', {
      password: user.password,
      code: await codeAt(t, secret),
      next: '/settings/2fa/recovery-codes/regenerate',
      _csrf: csrfTokenIn(confirmPage.text),
    });
    assert.equal(ok.headers.location, '/settings/2fa/recovery-codes/regenerate');
    assert.equal((await browser.get('/settings/2fa/recovery-codes/regenerate')).status, 200);
  });

  it('when the return address after confirming points elsewhere, then it stays on this site', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const page = await browser.get('/confirm?next=//evil.example');
    const response = await browser.post('/confirm', {
      password: user.password,
      next: '//evil.example',
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.headers.location, '/');
  });
});

describe('recovery codes and turning 2FA off', () => {
  it('#30 when codes are regenerated, then every old code stops working and the new ones work', async () => {
    const { browser, user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const page = await browser.get('/settings/2fa/recovery-codes/regenerate');
    assert.match(page.text, /All of your current recovery codes will stop working/);
    assert.equal(
      (await browser.post('/settings/2fa/recovery-codes/regenerate', {})).status,
      403,
      'needs the CSRF token',
    );
    const done = await browser.post('/settings/2fa/recovery-codes/regenerate', {
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(done.headers.location, '/settings/2fa/recovery-codes');
    const fresh = recoveryCodesFromPage((await browser.get('/settings/2fa/recovery-codes')).text);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((code) => recoveryCodes.includes(code)).length, 0);

    const old = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await old.submit('/login/recovery', '/login/recovery', { code: recoveryCodes[3]! })).status,
      401,
    );
    const current = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await current.submit('/login/recovery', '/login/recovery', { code: fresh[3]! })).status,
      303,
    );
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'recovery_codes_regenerated' }))
        .length,
      1,
    );
  });

  it('when few codes are left, then settings warn', async () => {
    const { browser, user } = await makeUserWithTwoFactor(t);
    const ids = (await t.db('recovery_codes').where({ user_id: user.id }).limit(7)).map(
      (row) => row.id,
    );
    await t.db('recovery_codes').whereIn('id', ids).update({ used_at: new Date() });
    const settings = await browser.get('/settings');
    assert.match(settings.text, /<strong>3<\/strong> recovery codes left/);
    assert.match(settings.text, /running low on recovery codes/);
  });

  it('#34 when turning 2FA off, then the password and a valid code are both required', async () => {
    const { browser, user, secret, recoveryCodes } = await makeUserWithTwoFactor(t);
    const second = await startSignIn(t, user.email, user.password);
    await second.submit('/login/recovery', '/login/recovery', { code: recoveryCodes[0]! });
    assert.equal((await second.get('/')).status, 200);

    const wrongPassword = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: 'not the password!!',
      code: await codeAt(t, secret),
    });
    assert.equal(wrongPassword.status, 401);
    const wrongCode = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: '000000',
    });
    assert.equal(wrongCode.status, 401);
    const missing = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
    });
    assert.equal(missing.status, 400);
    assert.ok((await t.db('users').where({ id: user.id }).first()).totp_enabled_at, 'still on');

    const off = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: await codeAt(t, secret),
    });
    assert.equal(off.headers.location, '/settings');
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(row.totp_secret_encrypted, null);
    assert.equal(row.totp_last_used_step, null);
    assert.equal((await t.db('recovery_codes').where({ user_id: user.id })).length, 0);
    assert.equal((await second.get('/')).status, 303, '#36 other sessions end');
    assert.equal((await browser.get('/')).status, 200);
    assert.match((await browser.get('/settings')).text, /badge-off/);
    const passwordOnly = await createBrowser(t.app).submit('/login', '/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(passwordOnly.headers.location, '/', 'the password alone signs in again');
  });

  it('when turning 2FA off with a recovery code, then that works too', async () => {
    const { browser, user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const off = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: recoveryCodes[5]!,
    });
    assert.equal(off.status, 303);
  });

  it('when pages behind settings are fetched anonymously, then they redirect to sign-in', async () => {
    for (const path of [
      '/settings',
      '/settings/2fa/setup',
      '/settings/2fa/recovery-codes',
      '/settings/2fa/recovery-codes.txt',
      '/settings/2fa/disable',
      '/confirm',
    ]) {
      const response = await request(t.app).get(path);
      assert.equal(response.status, 303, path);
      assert.match(response.headers.location!, /^\/login/);
    }
  });

  it('when a 2FA form gets a repeated or overlong field, then a 4xx page answers', async () => {
    const { browser, user } = await makeUserWithTwoFactor(t);
    const page = await browser.get('/settings/2fa/disable');
    const token = csrfTokenIn(page.text);
    const repeated = await browser.post('/settings/2fa/disable', {
      password: [user.password, user.password],
      code: '123456',
      _csrf: token,
    });
    assert.equal(repeated.status, 400);
    assert.match(repeated.text, /Password was sent more than once/);
    const long = await browser.post('/settings/2fa/disable', {
      password: user.password,
      code: '9'.repeat(65),
      _csrf: token,
    });
    assert.equal(long.status, 400);
    assert.match(long.text, /at most 64 characters/);
    const createBrowserPage = await createBrowser(t.app).get('/login');
    assert.equal(createBrowserPage.status, 200);
  });
});

describe('#14 bad input on every two-factor form', () => {
  const CASES: [string, Record<string, string | string[]>, number][] = [
    ['a repeated code', { code: ['1', '2'] }, 400],
    ['an empty code', { code: '' }, 400],
    ['seven digits', { code: '1234567' }, 401],
    ['letters', { code: 'abcdef' }, 401],
    ['a NUL byte', { code: '12\u00003456' }, 400],
    ['a 1 MB code', { code: '1'.repeat(1024 * 1024) }, 413],
  ];

  it('when each form gets each bad input, then a 4xx page answers and the app keeps serving', async () => {
    const { browser, user } = await makeUserWithTwoFactor(t);
    const forms = [
      { page: '/confirm?next=/settings', action: '/confirm' },
      { page: '/settings/2fa/disable', action: '/settings/2fa/disable' },
    ];
    for (const form of forms) {
      for (const [what, fields, status] of CASES) {
        const response = await browser.submit(form.page, form.action, {
          password: user.password,
          ...fields,
        });
        assert.equal(response.status, status, `${form.action} with ${what}`);
        assert.match(response.headers['content-type']!, /text\/html/);
      }
    }
    const pending = await startSignIn(t, user.email, user.password);
    for (const [what, fields, status] of CASES) {
      const response = await pending.submit('/login/recovery', '/login/recovery', fields);
      // A wrong code is counted; after 5 the pending sign-in ends (303 to /login).
      assert.ok(
        [status, 303].includes(response.status),
        `/login/recovery with ${what}: ${response.status}`,
      );
    }

    const enrolling = await signInWithPassword(
      t,
      (await makeUser(t.db)).email,
      'correct horse battery staple',
    );
    await enrolling.submit('/settings', '/settings/2fa/setup', {});
    for (const [what, fields, status] of CASES) {
      const response = await enrolling.submit(
        '/settings/2fa/setup',
        '/settings/2fa/confirm',
        fields,
      );
      const expected = status === 401 ? 400 : status; // enrolment re-renders its page with 400
      assert.ok(
        [expected, 303].includes(response.status),
        `/settings/2fa/confirm with ${what}: ${response.status}`,
      );
    }
    assert.equal((await browser.get('/settings')).status, 200);
  });
});
