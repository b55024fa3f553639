/// <reference lib="dom" />
/**
 * Administration in a real browser with JavaScript off: an admin finds one user among 120,
 * resets their 2FA through the confirmation page, and that user's open session ends at once;
 * and the 2FA policy after its grace period.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { hashPassword } from '../../src/auth/passwords.ts';
import { createUser } from '../../src/auth/users.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { codeAt, makeUserWithTwoFactor } from '../helpers/two-factor.ts';
import {
  destructivePagesChecked,
  launchChromium,
  openVisitor,
  VIEWPORTS,
  withSite,
  type ViewportName,
} from './harness.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off`, () => {
    it('when an admin finds a user among 120 and resets their 2FA, then the user is signed out at once', async () => {
      await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
        const { t } = site;
        const passwordHash = await hashPassword('a password nobody uses', 10);
        for (let i = 0; i < 118; i += 1) {
          const created = await createUser(t.db, {
            email: uniqueEmail(`person${String(i).padStart(3, '0')}`),
            passwordHash,
            role: 'user',
          });
          assert.ok(created.ok);
        }
        const admin = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
        const { user: target, secret } = await makeUserWithTwoFactor(t);
        assert.equal(
          await t
            .db('users')
            .count({ n: '*' })
            .first()
            .then((row) => Number(row!.n)),
          120,
        );

        // The target is signed in, with their code, in a browser of their own.
        const person = await openVisitor(browser, site, viewport, 'admin-target');
        await person.visit('/login', 'sign-in form');
        await person.signIn(target, 'code step');
        await person.submit(
          { 'Authentication code': await codeAt(t, secret) },
          'Continue',
          'signed in',
        );
        assert.equal(person.path(), '/');
        t.clock.advance(60_000); // the admin acts a minute later

        const visitor = await openVisitor(browser, site, viewport, 'admin');
        await visitor.visit('/login', 'sign-in form');
        await visitor.signIn(admin, 'home');
        await visitor.follow('Users', 'user list');
        assert.equal(await visitor.page.locator('table.users tbody tr').count(), 50);
        await visitor.follow('Next →', 'user list page 2');
        await visitor.page.getByLabel('Search by email').fill(target.email.slice(0, 10));
        await Promise.all([
          visitor.page.waitForEvent('load'),
          visitor.page.getByRole('button', { name: 'Show' }).click(),
        ]);
        await visitor.check('search results');
        assert.equal(await visitor.page.locator('table.users tbody tr').count(), 1);
        await visitor.follow(target.email, 'user page');
        await visitor.follow('Reset two-factor authentication', 'confirm reset');
        await visitor.submit(
          { 'Reason (optional, kept in the audit log)': 'lost their phone' },
          'Reset two-factor authentication',
          'after reset',
        );
        await visitor.page.getByText('Two-factor authentication was reset').waitFor();
        assert.equal(
          await visitor.page.locator('dt:text-is("Two-factor") + dd').textContent(),
          'Off',
        );
        await visitor.close();

        // Their next request finds the session gone; signing in again works without a code.
        await person.visit('/settings', 'after the reset');
        assert.equal(person.path(), '/login?next=%2Fsettings');
        await person.signIn(target, 'settings without 2FA');
        assert.equal(person.path(), '/settings');
        await person.page
          .getByRole('alert')
          .getByText('An administrator reset your two-factor authentication. Turn it on again')
          .waitFor();
        await person.close();
      });
    });

    it('when an admin creates a user with a generated password, then the user must choose their own at first sign-in and can change it later', async () => {
      await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
        const { t } = site;
        const admin = await makeUser(t.db, { role: 'admin' });
        const visitor = await openVisitor(browser, site, viewport, 'create-user');
        await visitor.visit('/login', 'sign-in form');
        await visitor.signIn(admin, 'home');
        await visitor.visit('/admin/users', 'user list');
        await visitor.follow('Create a user', 'new user form');
        await visitor.submit({ 'Email address': 'not an address' }, 'Create user', 'bad email');
        assert.equal(visitor.status(), 400);
        const email = uniqueEmail('new');
        await visitor.submit({ 'Email address': email }, 'Create user', 'user created');
        const initial = (await visitor.page.locator('.secret-key code').textContent())!.trim();
        rememberSecret('password', initial);
        assert.ok(initial.length >= 16, 'a generated password is shown once');
        await visitor.close();

        const person = await openVisitor(browser, site, viewport, 'first-sign-in');
        await person.visit('/login', 'sign-in form');
        await person.submit(
          { 'Email address': email, Password: initial },
          'Sign in',
          'must change password',
        );
        assert.equal(person.path(), '/settings/password');
        await person.submit(
          {
            'Current password': initial,
            'New password': 'my very own passphrase',
            'New password again': 'my own passphrase, mistyped',
          },
          'Change password',
          'passwords do not match',
        );
        assert.equal(person.status(), 400);
        await person.submit(
          {
            'Current password': initial,
            'New password': 'my very own passphrase',
            'New password again': 'my very own passphrase',
          },
          'Change password',
          'password changed',
        );
        assert.notEqual(person.path(), '/settings/password');
        rememberSecret('password', 'my very own passphrase');
        await person.visit('/settings/password', 'change password again');
        await person.submit(
          {
            'Current password': 'my very own passphrase',
            'New password': 'another long passphrase',
            'New password again': 'another long passphrase',
          },
          'Change password',
          'password changed again',
        );
        rememberSecret('password', 'another long passphrase');
        await person.close();

        // They forget it: the admin sets a temporary password, shown once, and they choose anew.
        const again = await openVisitor(browser, site, viewport, 'temporary-password');
        await again.visit('/login', 'sign-in form');
        await again.signIn(admin, 'home');
        await again.visit('/admin/users', 'user list');
        await again.follow(email, 'user page');
        assert.equal(
          await again.page
            .locator('.button.danger', { hasText: 'Set a temporary password' })
            .count(),
          1,
          'grouped with the actions that take something away',
        );
        await again.follow('Set a temporary password', 'confirm temporary password');
        await again.submit({}, 'Set temporary password', 'temporary password shown once');
        const temporary = (await again.page.locator('.secret-key code').textContent())!.trim();
        rememberSecret('password', temporary);
        await again.visit(again.path(), 'temporary password page reloaded');
        assert.equal(await again.page.locator('.secret-key').count(), 0, 'shown only once');
        assert.ok(destructivePagesChecked.length > 0, 'a destructive confirmation was checked');
        await again.close();

        const returning = await openVisitor(browser, site, viewport, 'after-temporary-password');
        await returning.visit('/login', 'sign-in form');
        await returning.submit(
          { 'Email address': email, Password: temporary },
          'Sign in',
          'must change the temporary password',
        );
        assert.equal(returning.path(), '/settings/password');
        await returning.close();
      });
    });

    it('when 2FA is required and the grace period is over, then a person can only enrol after the password step', async () => {
      await withSite({ REQUIRE_2FA: 'all', REQUIRE_2FA_GRACE: '7d' }, async (site) => {
        const { t } = site;
        const user = await makeUser(t.db);
        const visitor = await openVisitor(browser, site, viewport, 'policy');
        await visitor.visit('/login', 'sign-in form');
        await visitor.signIn(user, 'home with grace banner');
        await visitor.page
          .getByText('Your administrator requires two-factor authentication')
          .waitFor();
        await visitor.page.getByRole('button', { name: 'Sign out' }).click();
        await visitor.page.waitForURL(/\/login/);

        t.clock.advance(8 * 86_400_000);
        // A sign-in form shown a week ago is stale: the person opens the page again.
        await visitor.visit('/login', 'sign-in form a week later');
        await visitor.signIn(user, 'enrolment required');
        assert.equal(visitor.path(), '/settings/2fa/setup');
        await visitor.page.getByRole('button', { name: 'Show the QR code' }).waitFor();
        for (const path of ['/', '/settings', '/settings/password']) {
          await visitor.page.goto(path);
          assert.equal(visitor.path(), '/settings/2fa/setup', `${path} leads to enrolment`);
        }
        await visitor.close();
      });
    });
  });
}
