import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { day } from '../../src/format.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  secretFromSetupPage,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

const DAY = 86_400_000;

describe('account settings', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  it('#36 when the password is changed, then other sessions end, this one stays, and the new password works', async () => {
    const user = await makeUser(t.db);
    const other = await signInWithPassword(t, user.email, user.password);
    const browser = await signInWithPassword(t, user.email, user.password);
    const wrong = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: 'not the current one!',
      newPassword: 'a brand new password',
      confirmPassword: 'a brand new password',
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /not your current password/);
    const mismatch = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'a brand new password',
      confirmPassword: 'a different new one',
    });
    assert.equal(mismatch.status, 400);
    const cookieBefore = browser.sessionCookie();
    const done = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'a brand new password',
      confirmPassword: 'a brand new password',
    });
    assert.equal(done.headers.location, '/settings');
    assert.notEqual(browser.sessionCookie(), cookieBefore, 'a new session id');
    assert.match((await browser.get('/settings')).text, /other session was signed out/);
    assert.equal((await other.get('/')).status, 303);
    assert.equal(
      (
        await createBrowser(t.app).submit('/login', '/login', {
          email: user.email,
          password: user.password,
        })
      ).status,
      401,
    );
    assert.equal(
      (
        await createBrowser(t.app).submit('/login', '/login', {
          email: user.email,
          password: 'a brand new password',
        })
      ).status,
      303,
    );
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'password_changed' })).length,
      1,
    );
  });

  it('#34 when the sign-in is not recent, then changing the password asks to confirm it is you first', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    t.clock.advance(11 * 60_000);
    const page = await browser.get('/settings/password');
    assert.equal(page.headers.location, '/confirm?next=%2Fsettings%2Fpassword');
  });

  it('when a user lists their sessions, then this one is marked and another can be ended on its own', async () => {
    const user = await makeUser(t.db);
    const phone = createBrowser(t.app);
    await phone.agent
      .get('/login')
      .set('User-Agent', 'Mozilla/5.0 (Linux; Android 14) Firefox/128.0');
    const page = await phone.agent
      .get('/login')
      .set('User-Agent', 'Mozilla/5.0 (Linux; Android 14) Firefox/128.0');
    await phone.agent
      .post('/login')
      .set('User-Agent', 'Mozilla/5.0 (Linux; Android 14) Firefox/128.0')
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    const laptop = await signInWithPassword(t, user.email, user.password);
    const third = await signInWithPassword(t, user.email, user.password);

    const settings = await laptop.get('/settings');
    assert.match(settings.text, /Firefox on Android/);
    assert.equal([...settings.text.matchAll(/This session/g)].length, 1);
    const handles = [...settings.text.matchAll(/name="session" value="([0-9a-f]{24})"/g)].map(
      (m) => m[1]!,
    );
    assert.equal(handles.length, 2, 'two other sessions can be ended');
    assert.doesNotMatch(settings.text, /keygate\.sid|s%3A/, 'session ids are never shown');

    const phoneRow = settings.text.indexOf('Firefox on Android');
    const phoneHandle = /name="session" value="([0-9a-f]{24})"/.exec(
      settings.text.slice(phoneRow),
    )![1]!;
    const ended = await laptop.post('/settings/sessions/end', {
      session: phoneHandle,
      _csrf: csrfTokenIn(settings.text),
    });
    assert.equal(ended.status, 303);
    assert.equal((await phone.get('/')).status, 303, 'the phone is signed out');
    assert.equal((await third.get('/')).status, 200, 'the other one is not');

    const stranger = await makeUser(t.db);
    const strangerBrowser = await signInWithPassword(t, stranger.email, stranger.password);
    const strangerPage = await strangerBrowser.get('/settings');
    const thirdHandle = handles.find((h) => h !== phoneHandle)!;
    await strangerBrowser.post('/settings/sessions/end', {
      session: thirdHandle,
      _csrf: csrfTokenIn(strangerPage.text),
    });
    assert.equal((await third.get('/')).status, 200, "nobody can end someone else's session");

    const everywhere = await laptop.submit('/settings', '/settings/sessions/end-others', {});
    assert.equal(everywhere.status, 303);
    assert.equal((await third.get('/')).status, 303);
    assert.equal((await laptop.get('/')).status, 200);
  });

  it('when someone entered the right password but failed the code, then the next sign-in says so', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    await t
      .db('users')
      .where({ id: user.id })
      .update({ last_sign_in_at: new Date(t.clock.now() - DAY) });
    const attacker = await startSignIn(t, user.email, user.password);
    await attacker.submit('/login/2fa', '/login/2fa', { code: '000001' });
    await attacker.submit('/login/2fa', '/login/2fa', { code: '000002' });

    const owner = await startSignIn(t, user.email, user.password);
    await owner.submit('/login/2fa', '/login/2fa', { code: '000003' }); // the owner's own typo does not count
    const done = await owner.submit('/login/2fa', '/login/2fa', { code: await codeAt(t, secret) });
    assert.equal(done.status, 303);
    const home = await owner.get('/');
    assert.match(
      home.text,
      /someone entered your password correctly but failed the second step 2 times/,
    );
    assert.match(home.text, /change your password/);

    t.clock.advance(60_000);
    const later = await startSignIn(t, user.email, user.password);
    await later.submit('/login/2fa', '/login/2fa', { code: await codeAt(t, secret) });
    assert.doesNotMatch((await later.get('/')).text, /failed the second step/, 'said once');
  });

  it('when security activity is shown, then it is in plain words with where and when', async () => {
    const { user, browser, recoveryCodes } = await makeUserWithTwoFactor(t);
    const pending = createBrowser(t.app);
    const page = await pending.agent
      .get('/login')
      .set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0');
    await pending.agent
      .post('/login')
      .set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    const codePage = await pending.agent.get('/login/recovery');
    await pending.agent
      .post('/login/recovery')
      .set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')
      .type('form')
      .send({ code: recoveryCodes[0], _csrf: csrfTokenIn(codePage.text) });
    t.clock.advance(50 * 60_000);
    const settings = await browser.get('/settings');
    assert.match(
      settings.text,
      /Signed in with your password and a recovery code from [0-9a-f.:]+, Firefox on Linux, <time[^>]*>(today|yesterday) \d\d:\d\d UTC<\/time>/,
    );
    assert.doesNotMatch(
      settings.text,
      /A recovery code was used/,
      'the sign-in line already says a recovery code was used: no second line for it',
    );
    assert.match(settings.text, /Two-factor authentication was turned on/);
  });
});

describe('2FA enforcement policy', () => {
  it('when REQUIRE_2FA=all with a grace period, then a banner shows the deadline, and after it only enrolment is reachable', async () => {
    const t = await createTestApp({ REQUIRE_2FA: 'all', REQUIRE_2FA_GRACE: '7d' });
    try {
      const user = await makeUser(t.db);
      const browser = await signInWithPassword(t, user.email, user.password);
      const deadline = day(new Date(t.clock.now() + 7 * DAY));
      const home = await browser.get('/');
      assert.equal(home.status, 200);
      assert.match(
        home.text,
        new RegExp(
          `requires two-factor authentication\\. Turn it on by ${deadline} \\(in 7 days\\)`,
        ),
      );

      t.clock.advance(7 * DAY + 60_000);
      const fresh = createBrowser(t.app);
      const signIn = await fresh.submit('/login', '/login', {
        email: user.email,
        password: user.password,
      });
      assert.equal(signIn.headers.location, '/');
      for (const path of [
        '/',
        '/settings',
        '/settings/password',
        '/admin/users',
        '/settings/2fa/disable',
      ]) {
        assert.equal((await fresh.get(path)).headers.location, '/settings/2fa/setup', path);
      }
      const setup = await fresh.get('/settings/2fa/setup');
      assert.match(setup.text, /Your administrator requires two-factor authentication/);
      await fresh.submit('/settings/2fa/setup', '/settings/2fa/setup', {});
      const qrPage = await fresh.get('/settings/2fa/setup');
      const secret = secretFromSetupPage(qrPage.text);
      const confirmed = await fresh.post('/settings/2fa/confirm', {
        code: await codeAt(t, secret),
        _csrf: csrfTokenIn(qrPage.text),
      });
      assert.equal(confirmed.headers.location, '/settings/2fa/recovery-codes');
      assert.equal((await fresh.get('/settings/2fa/recovery-codes')).status, 200);
      assert.equal((await fresh.get('/')).status, 200, 'free again once enrolled');
      assert.doesNotMatch((await fresh.get('/')).text, /policy-banner/);
    } finally {
      await t.close();
    }
  });

  it('when REQUIRE_2FA=all without grace, then right after the password step only enrolment is reachable', async () => {
    const t = await createTestApp({ REQUIRE_2FA: 'all', REQUIRE_2FA_GRACE: '0s' });
    try {
      const user = await makeUser(t.db);
      const browser = await signInWithPassword(t, user.email, user.password);
      assert.equal((await browser.get('/')).headers.location, '/settings/2fa/setup');
      assert.equal((await browser.get('/settings')).headers.location, '/settings/2fa/setup');
      assert.equal((await browser.get('/settings/2fa/setup')).status, 200);
      const out = await browser.submit('/logout', '/logout', {});
      assert.equal(out.headers.location, '/login?signed_out=1', 'signing out stays possible');
    } finally {
      await t.close();
    }
  });

  it('when the policy covers admins only, then ordinary users are not asked', async () => {
    const t = await createTestApp({ REQUIRE_2FA: 'admins', REQUIRE_2FA_GRACE: '0s' });
    try {
      const user = await makeUser(t.db);
      const browser = await signInWithPassword(t, user.email, user.password);
      const home = await browser.get('/');
      assert.equal(home.status, 200);
      assert.doesNotMatch(home.text, /policy-banner/);
      const admin = await makeUser(t.db, { role: 'admin' });
      const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
      assert.equal((await adminBrowser.get('/')).headers.location, '/settings/2fa/setup');
    } finally {
      await t.close();
    }
  });
});
