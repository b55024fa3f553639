import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTemporaryPassword } from '../../src/auth/temporary-password.ts';
import { resetTwoFactorOf } from '../../src/auth/user-admin.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import type { TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { withMailStack, type MailTestStack } from '../helpers/smtp.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PHONE =
  'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36';

/** Every security notification, each its own mail, over SMTP. */
describe('security notifications', () => {
  let t: TestApp;
  let mailsTo: MailTestStack['mailsTo'];
  withMailStack((stack) => ({ t, mailsTo } = stack));

  function assertNotice(text: string) {
    assert.match(text, /When: \d+ \w+ \d{4}, \d\d:\d\d UTC\./, 'when');
    assert.match(text, /If this was not you|If you did not expect this/, 'what to do');
    assert.match(text, /http:\/\/localhost:3000\//, 'a link to the portal');
    assert.match(text, /Keygate · http:\/\/localhost:3000/, 'the site');
  }

  async function signInWith(email: string, password: string, userAgent: string) {
    const browser = createBrowser(t.app);
    const page = await browser.agent.get('/login').set('User-Agent', userAgent);
    return browser.agent
      .post('/login')
      .set('User-Agent', userAgent)
      .type('form')
      .send({ email, password, _csrf: csrfTokenIn(page.text) });
  }

  it('when an account signs in from a device and IP not seen in 30 days, then a mail says so, once, and not for the first sign-in', async () => {
    const user = await makeUser(t.db);
    await signInWith(user.email, user.password, FIREFOX);
    assert.equal((await mailsTo(user.email, /New sign-in/)).length, 0, 'not the first sign-in');
    await signInWith(user.email, user.password, FIREFOX);
    assert.equal((await mailsTo(user.email, /New sign-in/)).length, 0, 'a known device');
    await signInWith(user.email, user.password, PHONE);
    const mails = await mailsTo(user.email, /New sign-in/);
    assert.equal(mails.length, 1);
    assertNotice(mails[0]!.text);
    assert.match(mails[0]!.text, /Chrome on Android/);
    assert.match(mails[0]!.text, /127\.0\.0\.1/);
    t.clock.advance(31 * 86_400_000);
    await signInWith(user.email, user.password, FIREFOX);
    assert.equal((await mailsTo(user.email, /New sign-in/)).length, 2, 'not seen for 31 days');
  });

  it('when a 2FA account completes its code step on a new device, then the mail is written with the sign-in', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = createBrowser(t.app);
    const page = await browser.agent.get('/login').set('User-Agent', PHONE);
    await browser.agent
      .post('/login')
      .set('User-Agent', PHONE)
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    const codePage = await browser.agent.get('/login/2fa').set('User-Agent', PHONE);
    assert.equal((await mailsTo(user.email, /New sign-in/)).length, 0, 'not after the password');
    const done = await browser.agent
      .post('/login/2fa')
      .set('User-Agent', PHONE)
      .type('form')
      .send({ code: await codeAt(t, secret), _csrf: csrfTokenIn(codePage.text) });
    assert.equal(done.status, 303);
    assert.equal((await mailsTo(user.email, /New sign-in/)).length, 1);
  });

  it('#24 when the right password is followed by wrong codes, then one mail within the hour, and another after it', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    for (let i = 0; i < 3; i++) {
      const pending = await startSignIn(t, user.email, user.password);
      await pending.submit('/login/2fa', '/login/2fa', { code: '000000' });
    }
    const mails = await mailsTo(user.email, /second step failed/);
    assert.equal(mails.length, 1, 'at most one an hour');
    assertNotice(mails[0]!.text);
    t.clock.advance(61 * 60_000);
    const pending = await startSignIn(t, user.email, user.password);
    await pending.submit('/login/2fa', '/login/2fa', { code: '000000' });
    assert.equal((await mailsTo(user.email, /second step failed/)).length, 2);
  });

  it('#24 when 20 wrong codes arrive at once, then still one mail', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const pendings = await Promise.all(
      Array.from({ length: 4 }, () => startSignIn(t, user.email, user.password)),
    );
    const pages = await Promise.all(pendings.map((p) => p.get('/login/2fa')));
    await Promise.all(
      pendings.flatMap((p, i) =>
        Array.from({ length: 5 }, () =>
          p.post('/login/2fa', { code: '000000', _csrf: csrfTokenIn(pages[i]!.text) }),
        ),
      ),
    );
    assert.equal((await mailsTo(user.email, /second step failed/)).length, 1);
  });

  it('when 2FA is turned on and then off, then a mail for each', async () => {
    const { user, browser, secret } = await makeUserWithTwoFactor(t);
    const on = await mailsTo(user.email, /Two-factor authentication is on/);
    assert.equal(on.length, 1);
    assertNotice(on[0]!.text);
    const off = await browser.submit('/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: await codeAt(t, secret),
    });
    assert.equal(off.headers.location, '/settings');
    assert.equal((await mailsTo(user.email, /Two-factor authentication is off/)).length, 1);
  });

  it('#39 when an administrator resets 2FA, then the user is told', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const admin = await makeUser(t.db, { role: 'admin' });
    await resetTwoFactorOf(t.db, {
      targetId: user.id,
      actorId: admin.id,
      reason: 'lost phone',
      now: new Date(t.clock.now()),
      origin: { ip: '192.0.2.9', userAgent: FIREFOX },
    });
    const mails = await mailsTo(user.email, /administrator reset your two-factor/);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.text, /192\.0\.2\.9/);
  });

  it('#31 when recovery codes are regenerated or one is used, then mails say so, with how many are left', async () => {
    const { user, browser, recoveryCodes } = await makeUserWithTwoFactor(t);
    const page = await browser.get('/settings/2fa/recovery-codes/regenerate');
    const done = await browser.post('/settings/2fa/recovery-codes/regenerate', {
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(done.headers.location, '/settings/2fa/recovery-codes');
    assert.equal((await mailsTo(user.email, /New recovery codes/)).length, 1);
    const fresh = (await browser.get('/settings/2fa/recovery-codes')).text;
    const code = /<li><code>([0-9A-Z-]{19})<\/code><\/li>/.exec(fresh)![1]!;
    assert.ok(!recoveryCodes.includes(code));
    const pending = await startSignIn(t, user.email, user.password);
    const used = await pending.submit('/login/recovery', '/login/recovery', { code });
    assert.equal(used.status, 303);
    const mails = await mailsTo(user.email, /A recovery code was used/);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.text, /9 recovery codes left/);
  });

  it('#36 when the password is changed, or an administrator sets one, then a mail each time', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'a changed password here',
      confirmPassword: 'a changed password here',
    });
    const changed = await mailsTo(user.email, /Your password was changed/);
    assert.equal(changed.length, 1);
    assertNotice(changed[0]!.text);
    await setTemporaryPassword(t.db, {
      userId: user.id,
      password: 'temporary password 1',
      bcryptCost: 10,
      actorId: null,
      now: new Date(t.clock.now()),
      origin: { ip: '', userAgent: null },
    });
    assert.equal((await mailsTo(user.email, /administrator set a new password/)).length, 1);
  });

  it('when the second step locks after 10 wrong codes, then one mail says codes are paused', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    for (let round = 0; round < 3; round++) {
      const pending = await startSignIn(t, user.email, user.password);
      const page = await pending.get('/login/2fa');
      for (let i = 0; i < 4; i++)
        await pending.post('/login/2fa', { code: '000000', _csrf: csrfTokenIn(page.text) });
    }
    const mails = await mailsTo(user.email, /Two-factor codes are paused/);
    assert.equal(mails.length, 1);
    assertNotice(mails[0]!.text);
  });

  it('when wrong passwords lock the account, then one mail says sign-in is paused', async () => {
    const user = await makeUser(t.db);
    // 99 failures in a row already (arranged in the table the limits read), then the 100th.
    await t.db('auth_attempts').insert(
      Array.from({ length: 99 }, (_, i) => ({
        kind: 'password',
        account_key: user.emailCanonical,
        ip: `198.51.100.${i}`,
        succeeded: false,
        reason: 'wrong_password',
        created_at: new Date(t.clock.now() - 60_000),
      })),
    );
    await signInWith(user.email, 'not the right password', FIREFOX);
    await signInWith(user.email, 'still not the right one', FIREFOX);
    const mails = await mailsTo(user.email, /Sign-in to your account is paused/);
    assert.equal(mails.length, 1);
    assertNotice(mails[0]!.text);
  });
});
