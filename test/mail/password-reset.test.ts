import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser, csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { linkIn, mailWorkerFor, startMailbox, type TestMailbox } from '../helpers/smtp.ts';
import { codeAt, makeUserWithTwoFactor, signInWithPassword } from '../helpers/two-factor.ts';
import type { MailWorker } from '../../src/mail/worker.ts';

const NEW_PASSWORD = 'a new password from the mail';
rememberSecret('password', NEW_PASSWORD);

describe('password reset by email', () => {
  let t: TestApp;
  let mailbox: TestMailbox;
  let worker: MailWorker;
  before(async () => {
    mailbox = await startMailbox();
    t = await createTestApp({ REQUIRE_2FA: 'off', SMTP_URL: mailbox.url, APP_NAME: 'Gatehouse' });
    worker = mailWorkerFor(t);
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await mailbox.close();
  });

  /** Asks for a link for `email` and returns the mail it got (after the worker ran). */
  async function askForLink(email: string): Promise<Browser> {
    const browser = createBrowser(t.app);
    const asked = await browser.submit('/password/forgot', '/password/forgot', { email });
    assert.equal(asked.status, 303, asked.text);
    assert.equal(asked.headers.location, '/password/forgot?sent=1');
    await worker.runOnce();
    return browser;
  }

  function lastMailTo(email: string, subject = /Reset your password/) {
    const mails = mailbox.to(email).filter((mail) => subject.test(mail.subject));
    assert.ok(mails.length > 0, `a mail "${subject.source}" went to ${email}`);
    return mails.at(-1)!;
  }

  async function signInStatus(email: string, password: string): Promise<number> {
    const response = await createBrowser(t.app).submit('/login', '/login', { email, password });
    return response.status;
  }

  it('#59 when a person without 2FA follows the mailed link, then the new password works, the old one does not, and every old session ends', async () => {
    const user = await makeUser(t.db);
    const oldSession = await signInWithPassword(t, user.email, user.password);
    const login = await createBrowser(t.app).get('/login');
    assert.match(login.text, /href="\/password\/forgot"/, 'the sign-in page offers the reset');

    const browser = await askForLink(user.email);
    const sentPage = await browser.get('/password/forgot?sent=1');
    assert.match(sentPage.text, /If an account exists for that address, we have sent it a link/);
    const mail = lastMailTo(user.email);
    assert.match(mail.subject, /Reset your password · Gatehouse/);
    assert.match(mail.text, /Gatehouse · http:\/\/localhost:3000/, 'the site name and address');
    assert.match(mail.html, /<a href="http:\/\/localhost:3000\/password\/reset\/[\w-]{43}">/);
    assert.doesNotMatch(mail.html, /<img|src=/i, 'no remote images, no tracking');
    const link = linkIn(mail, 'reset');

    const opened = await browser.get(link);
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.location, '/password/reset', 'the token leaves the address bar');
    assert.equal(opened.headers['referrer-policy'], 'no-referrer');
    const form = await browser.get('/password/reset');
    assert.equal(form.status, 200);
    assert.equal(form.headers['referrer-policy'], 'no-referrer');
    assert.doesNotMatch(form.text, /<script|https?:\/\/(?!localhost)/, 'no third-party anything');
    const done = await browser.post('/password/reset', {
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
      _csrf: csrfTokenIn(form.text),
    });
    assert.equal(done.status, 303, done.text);
    assert.equal(done.headers.location, '/login');
    assert.match((await browser.get('/login')).text, /Your password was reset/);

    assert.equal((await oldSession.get('/settings')).status, 303, 'the old session is dead');
    assert.equal(await signInStatus(user.email, user.password), 401);
    assert.equal(await signInStatus(user.email, NEW_PASSWORD), 303);
    const events = await t.db('audit_events').where({ user_id: user.id, event: 'password_reset' });
    assert.equal(events.length, 1);
    await worker.runOnce();
    assert.ok(lastMailTo(user.email, /Your password was reset/));
    const stored = await t.db('password_reset_tokens').where({ user_id: user.id });
    assert.equal(stored.length, 0, 'no link of this account works any more');
  });

  it('#60 when a person with 2FA follows the link, then a code comes first, 2FA stays on, and the reset cannot skip the code', async () => {
    const { user, secret, recoveryCodes } = await makeUserWithTwoFactor(t);
    const browser = await askForLink(user.email);
    const link = linkIn(lastMailTo(user.email), 'reset');
    assert.equal((await browser.get(link)).headers.location, '/password/reset');
    const skip = await browser.get('/password/reset');
    assert.equal(skip.headers.location, '/password/reset-2fa', 'the code step comes first');
    const codePage = await browser.get('/password/reset-2fa');
    assert.match(codePage.text, /a reset link alone is not enough/);
    assert.match(codePage.text, /Ask your administrator/);
    // Posting the new password straight away, with a token from the code page: refused.
    const straight = await browser.post('/password/reset', {
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
      _csrf: csrfTokenIn(codePage.text),
    });
    assert.equal(straight.headers.location, '/password/reset-2fa');
    const wrong = await browser.post('/password/reset-2fa', {
      code: '000000',
      _csrf: csrfTokenIn(codePage.text),
    });
    assert.equal(wrong.status, 401);
    const counted = await t
      .db('auth_attempts')
      .where({ user_id: user.id, kind: 'second_factor', succeeded: false });
    assert.equal(counted.length, 1, 'counted like a sign-in code');

    const right = await browser.post('/password/reset-2fa', {
      code: await codeAt(t, secret),
      _csrf: csrfTokenIn(wrong.text),
    });
    assert.equal(right.headers.location, '/password/reset');
    const form = await browser.get('/password/reset');
    assert.equal(form.status, 200);
    const done = await browser.post('/password/reset', {
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
      _csrf: csrfTokenIn(form.text),
    });
    assert.equal(done.headers.location, '/login');

    const row = await t.db('users').where({ id: user.id }).first();
    assert.ok(row.totp_enabled_at, '2FA is still on');
    assert.ok(row.totp_secret_encrypted, 'with the same secret');
    const codes = await t.db('recovery_codes').where({ user_id: user.id }).whereNull('used_at');
    assert.equal(codes.length, recoveryCodes.length, 'and the same recovery codes');
    const signIn = await createBrowser(t.app).submit('/login', '/login', {
      email: user.email,
      password: NEW_PASSWORD,
    });
    assert.equal(signIn.headers.location, '/login/2fa', 'signing in still needs the code');
  });

  it('#60 when the reset uses a recovery code, then that code is used up like at sign-in', async () => {
    const { user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const browser = await askForLink(user.email);
    await browser.get(linkIn(lastMailTo(user.email), 'reset'));
    const page = await browser.get('/password/reset-recovery');
    const used = await browser.post('/password/reset-recovery', {
      code: recoveryCodes[0]!,
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(used.headers.location, '/password/reset');
    const row = await t.db('recovery_codes').where({ user_id: user.id }).whereNotNull('used_at');
    assert.equal(row.length, 1);
  });

  it('#59 when a link is used twice, then the second time it does not work', async () => {
    const user = await makeUser(t.db);
    const browser = await askForLink(user.email);
    const link = linkIn(lastMailTo(user.email), 'reset');
    await browser.get(link);
    const form = await browser.get('/password/reset');
    await browser.post('/password/reset', {
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
      _csrf: csrfTokenIn(form.text),
    });
    const again = await createBrowser(t.app).get(link);
    assert.equal(again.status, 404);
    assert.match(again.text, /does not work any more/);
  });

  it('#48 when the new password is posted 20 times at once from one reset, then exactly one sets it and the others are refused', async () => {
    const user = await makeUser(t.db);
    const browser = await askForLink(user.email);
    await browser.get(linkIn(lastMailTo(user.email), 'reset'));
    const form = await browser.get('/password/reset');
    const token = csrfTokenIn(form.text);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        browser.post('/password/reset', {
          newPassword: `${NEW_PASSWORD} ${i}`,
          confirmPassword: `${NEW_PASSWORD} ${i}`,
          _csrf: token,
        }),
      ),
    );
    const done = answers.filter((a) => a.headers.location === '/login');
    assert.equal(done.length, 1, 'one post sets the password');
    // The others find the reset gone: back to the form, or (their session replaced) a form that
    // has expired. None sets a password.
    for (const other of answers.filter((a) => a !== done[0]))
      assert.ok(
        other.headers.location === '/password/forgot' || other.status === 403,
        `${other.status} ${other.headers.location}`,
      );
    const events = await t.db('audit_events').where({ user_id: user.id, event: 'password_reset' });
    assert.equal(events.length, 1, 'one reset');
  });

  it('#59 when the link has expired, then it does not work', async () => {
    const user = await makeUser(t.db);
    await askForLink(user.email);
    const link = linkIn(lastMailTo(user.email), 'reset');
    t.clock.advance(60 * 60_000 + 1000);
    assert.equal((await createBrowser(t.app).get(link)).status, 404);
  });

  it('#59 when a newer link is sent, then the older one no longer works and the newer one does', async () => {
    const user = await makeUser(t.db);
    await askForLink(user.email);
    const older = linkIn(lastMailTo(user.email), 'reset');
    await askForLink(user.email);
    const newer = linkIn(lastMailTo(user.email), 'reset');
    assert.notEqual(older, newer);
    assert.equal((await createBrowser(t.app).get(older)).status, 404);
    assert.equal((await createBrowser(t.app).get(newer)).status, 303);
  });

  it('#59 when the password is changed after the link was sent, then the link no longer works, even opened before', async () => {
    const user = await makeUser(t.db);
    const browser = await askForLink(user.email);
    const link = linkIn(lastMailTo(user.email), 'reset');
    await browser.get(link);
    const signedIn = await signInWithPassword(t, user.email, user.password);
    const changed = await signedIn.submit('/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'changed in the settings',
      confirmPassword: 'changed in the settings',
    });
    assert.equal(changed.headers.location, '/settings');
    const form = await browser.get('/password/reset');
    assert.equal(form.headers.location, '/password/forgot', 'the opened reset ended');
    assert.equal((await createBrowser(t.app).get(link)).status, 404);
  });

  it('#11 when a reset is left open longer than 10 minutes, then it ends and the link must be opened again', async () => {
    const user = await makeUser(t.db);
    const browser = await askForLink(user.email);
    const link = linkIn(lastMailTo(user.email), 'reset');
    await browser.get(link);
    t.clock.advance(10 * 60_000 + 1000);
    assert.equal((await browser.get('/password/reset')).headers.location, '/password/forgot');
    assert.equal((await createBrowser(t.app).get(link)).status, 303, 'the link itself still works');
  });

  it('#59 when the token in a link is malformed or unknown, then a 404 page, never a 500', async () => {
    for (const bad of ['x', 'A'.repeat(43), '%00', 'a'.repeat(500), '..%2F..%2Fetc']) {
      const response = await createBrowser(t.app).get(`/password/reset/${bad}`);
      assert.equal(response.status, 404, bad);
    }
  });

  it('#10 when the reset pages are opened without a link, then back to the form', async () => {
    const browser = createBrowser(t.app);
    for (const path of ['/password/reset', '/password/reset-2fa', '/password/reset-recovery']) {
      assert.equal((await browser.get(path)).headers.location, '/password/forgot');
    }
  });

  it('#14 when the forgot form gets odd input, then a 4xx page, never a 500', async () => {
    const browser = createBrowser(t.app);
    for (const email of ['', 'not an address', ['a@example.com', 'b@example.com']]) {
      const page = await browser.get('/password/forgot');
      const response = await browser.post('/password/forgot', {
        email,
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(response.status, 400, String(email));
    }
  });

  it('#37 when the forgot form is posted without a CSRF token, then 403', async () => {
    const browser = createBrowser(t.app);
    await browser.get('/password/forgot');
    const response = await browser.post('/password/forgot', { email: uniqueEmail() });
    assert.equal(response.status, 403);
  });
});
