/// <reference lib="dom" />
/**
 * Password reset by email in a real browser with JavaScript off, the mail read from a real SMTP
 * server: ask → read the mail → follow the link → (2FA: the code) → a new password → every old
 * session is dead and the new password signs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { enableTwoFactor } from '../../src/auth/enrolment.ts';
import { generateTotpSecret, stepAt } from '../../src/auth/totp.ts';
import { makeUser } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { linkIn, mailWorkerFor, startMailbox, type TestMailbox } from '../helpers/smtp.ts';
import { codeAt } from '../helpers/two-factor.ts';
import { launchChromium, openVisitor, VIEWPORTS, withSite, type ViewportName } from './harness.ts';

const NEW_PASSWORD = 'my new password, from the mail';
rememberSecret('password', NEW_PASSWORD);

let browser: Browser;
let mailbox: TestMailbox;
before(async () => {
  browser = await launchChromium();
  mailbox = await startMailbox();
});
after(async () => {
  await browser.close();
  await mailbox.close();
});

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off`, () => {
    // At phone width the 2FA journey alone (it has every page of the other one).
    for (const withTwoFactor of viewport === 'phone' ? [true] : [true, false]) {
      it(`when a person ${withTwoFactor ? 'with' : 'without'} 2FA resets a forgotten password by email, then old sessions end and the new password works`, async () => {
        await withSite({ REQUIRE_2FA: 'off', SMTP_URL: mailbox.url }, async (site) => {
          const { t } = site;
          const worker = mailWorkerFor(t);
          try {
            const user = await makeUser(t.db);
            const secret = await generateTotpSecret();
            rememberSecret('totp secret', secret);
            if (withTwoFactor)
              await enableTwoFactor(t.db, {
                userId: user.id,
                secret,
                step: stepAt(t.clock.now()) - 1,
                keys: t.config.totpKeys,
                now: new Date(t.clock.now()),
                origin: { ip: '127.0.0.1', userAgent: null },
              });
            const journey = `password-reset${withTwoFactor ? '-2fa' : ''}`;

            // A session of theirs elsewhere, which the reset must end.
            const elsewhere = await openVisitor(browser, site, viewport, `${journey}-elsewhere`);
            await elsewhere.visit('/login', 'sign-in form');
            await elsewhere.signIn(user, 'signed in elsewhere');
            if (withTwoFactor)
              await elsewhere.submit(
                { 'Authentication code': await codeAt(t, secret) },
                'Continue',
                'signed in elsewhere with a code',
              );
            t.clock.advance(30_000);
            await elsewhere.visit('/settings', 'settings elsewhere');
            assert.equal(elsewhere.path(), '/settings');

            const visitor = await openVisitor(browser, site, viewport, journey);
            await visitor.visit('/login', 'sign-in form');
            await visitor.follow('Forgot your password?', 'forgot form');
            await visitor.submit({ 'Email address': user.email }, 'Send me a link', 'link sent');
            assert.equal(visitor.path(), '/password/forgot?sent=1');
            await visitor.page.getByText('If an account exists for that address').waitFor();

            await worker.runOnce();
            const mail = mailbox.to(user.email).find((m) => /Reset your password/.test(m.subject));
            assert.ok(mail, 'the mail arrived');
            const link = linkIn(mail, 'reset');
            await visitor.visit(link, 'link opened');
            assert.doesNotMatch(visitor.path(), /[\w-]{43}/, 'the token left the address bar');

            if (withTwoFactor) {
              assert.equal(visitor.path(), '/password/reset-2fa', 'the code comes first');
              await visitor.submit({ 'Authentication code': '000000' }, 'Continue', 'wrong code');
              assert.equal(visitor.status(), 401);
              await visitor.submit(
                { 'Authentication code': await codeAt(t, secret) },
                'Continue',
                'new password form',
              );
            }
            assert.equal(visitor.path(), '/password/reset');
            await visitor.submit(
              { 'New password': NEW_PASSWORD, 'New password again': 'something else entirely' },
              'Set new password',
              'passwords differ',
            );
            assert.equal(visitor.status(), 400);
            await visitor.submit(
              { 'New password': NEW_PASSWORD, 'New password again': NEW_PASSWORD },
              'Set new password',
              'password reset',
            );
            assert.equal(visitor.path(), '/login');
            await visitor.page.getByText('Your password was reset').waitFor();

            await elsewhere.visit('/settings', 'old session after the reset');
            assert.match(elsewhere.path(), /^\/login/, 'the old session is dead');
            await elsewhere.close();

            await visitor.signIn({ email: user.email, password: NEW_PASSWORD }, 'signed in anew');
            if (withTwoFactor) {
              assert.equal(visitor.path(), '/login/2fa', '2FA is still on');
              t.clock.advance(30_000);
              await visitor.submit(
                { 'Authentication code': await codeAt(t, secret) },
                'Continue',
                'signed in with the code',
              );
            }
            assert.equal(visitor.path(), '/');

            await visitor.close();
            const later = await openVisitor(browser, site, viewport, `${journey}-later`);
            await later.visit(link, 'link used again');
            assert.equal(later.status(), 404, 'the link works once');
            await later.close();
          } finally {
            await worker.stop();
          }
        });
      });
    }
  });
}
