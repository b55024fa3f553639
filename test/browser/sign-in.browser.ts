/// <reference lib="dom" />
/**
 * Journeys in a real browser with JavaScript off: first-admin setup, sign in and out, wrong
 * password, an expired form, a missing page, and signing in with the keyboard alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { createSetupToken } from '../../src/auth/setup-tokens.ts';
import { makeUser } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { launchChromium, openVisitor, VIEWPORTS, withSite, type ViewportName } from './harness.ts';
import { ANONYMOUS_FORM_TTL_MS } from '../../src/auth/limits.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

for (const viewport of Object.keys(VIEWPORTS) as ViewportName[]) {
  describe(`at ${viewport} width, with JavaScript off`, () => {
    it('when the operator opens the setup link, then they create the first administrator and are signed in', async () => {
      await withSite({}, async (site) => {
        const token = await createSetupToken(site.t.db);
        rememberSecret('setup token', token);
        const visitor = await openVisitor(browser, site, viewport, 'setup');
        await visitor.visit(`/setup?token=${token}`, 'setup form');
        await visitor.submit(
          { 'Email address': 'admin@example.com', Password: 'short', 'Password again': 'short' },
          'Create administrator',
          'setup with a short password',
        );
        assert.equal(visitor.status(), 400);
        // Errors are announced: a summary at the top (role=alert) whose links lead to the fields,
        // and each field marked invalid and described by its message.
        const { page } = visitor;
        const summary = page.getByRole('alert').filter({ hasText: 'There is a problem' });
        await summary.waitFor();
        const link = summary.getByRole('link').first();
        assert.equal(await link.getAttribute('href'), '#password');
        const password = page.getByLabel('Password', { exact: true });
        assert.equal(await password.getAttribute('aria-invalid'), 'true');
        const describedBy = (await password.getAttribute('aria-describedby'))!.split(' ');
        const message = await page.locator(`#${describedBy.at(-1)}`).textContent();
        assert.equal(message, await link.textContent(), 'the field says what the summary says');
        assert.match(await page.title(), /^Error: /);
        await link.click();
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
        assert.equal(
          await visitor.page.getByLabel('Email address', { exact: true }).inputValue(),
          'admin@example.com',
          'the email is kept',
        );
        await visitor.submit(
          {
            Password: 'a long enough password',
            'Password again': 'a long enough password',
          },
          'Create administrator',
          'signed in after setup',
        );
        assert.equal(visitor.status(), 200);
        await visitor.page.getByRole('link', { name: 'Users' }).waitFor();

        // The link works once.
        await visitor.close();
        const again = await openVisitor(browser, site, viewport, 'setup');
        await again.visit(`/setup?token=${token}`, 'setup link used');
        assert.equal(again.status(), 410);
        await again.close();
      });
    });

    it('when a person signs in with a wrong and then the right password and signs out, then every page is clear', async () => {
      await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
        const user = await makeUser(site.t.db);
        const visitor = await openVisitor(browser, site, viewport, 'sign-in');
        await visitor.visit('/', 'sign-in form');
        assert.equal(visitor.path(), '/login');
        await visitor.submit(
          { 'Email address': user.email, Password: 'not the password' },
          'Sign in',
          'wrong password',
        );
        assert.equal(visitor.status(), 401);
        await visitor.page.getByText('The email address or password is not right').waitFor();
        assert.equal(
          await visitor.page.getByLabel('Email address', { exact: true }).inputValue(),
          user.email,
        );
        assert.equal(await visitor.page.getByLabel('Password', { exact: true }).inputValue(), '');
        await visitor.submit({ Password: user.password }, 'Sign in', 'home');
        assert.equal(visitor.path(), '/');
        await visitor.follow('Settings', 'settings');
        await visitor.visit('/logout', 'sign-out page');
        await visitor.page.getByRole('main').getByRole('button', { name: 'Sign out' }).click();
        await visitor.page.waitForURL(/\/login/);
        await visitor.check('signed out');
        await visitor.page.getByText('You have signed out.').waitFor();
        await visitor.visit('/settings', 'settings after sign-out');
        assert.equal(visitor.path(), '/login?next=%2Fsettings');

        // Nine more wrong passwords (ten in all), then even the right one is refused for a while.
        const { page } = visitor;
        for (let attempt = 0; attempt < 9; attempt += 1) {
          await page.getByLabel('Email address', { exact: true }).fill(user.email);
          await page.getByLabel('Password', { exact: true }).fill(`wrong password ${attempt}`);
          await Promise.all([
            page.waitForEvent('load'),
            page.getByRole('button', { name: 'Sign in' }).click(),
          ]);
        }
        await visitor.signIn(user, 'too many attempts');
        assert.equal(visitor.status(), 429);
        await page.getByText('Too many sign-in attempts. Try again in a minute').waitFor();
        await visitor.close();
      });
    });

    it('when a sign-in form was left open past its lifetime, then the form comes back with the email kept', async () => {
      await withSite({}, async (site) => {
        const user = await makeUser(site.t.db);
        const visitor = await openVisitor(browser, site, viewport, 'expired-form');
        await visitor.visit('/login', 'sign-in form');
        // The sign-in form keeps no session: its token's cookie is dated, and refused once it is
        // older than the form lifetime (src/middleware/csrf.ts).
        site.t.clock.advance(ANONYMOUS_FORM_TTL_MS + 60_000);
        await visitor.signIn(user, 'sign-in form again');
        assert.equal(visitor.status(), 403);
        await visitor.page
          .getByText('This page was open for a while. Enter your password again.')
          .waitFor();
        assert.equal(await visitor.page.getByLabel('Email address').inputValue(), user.email);
        await visitor.submit({ Password: user.password }, 'Sign in', 'signed in after retry');
        assert.equal(visitor.path(), '/');
        await visitor.close();
      });
    });

    it('when the session behind another open form has ended, then the expired-form page links back to it', async () => {
      await withSite({}, async (site) => {
        const user = await makeUser(site.t.db);
        const visitor = await openVisitor(browser, site, viewport, 'expired-other-form');
        await visitor.visit('/login', 'sign-in form');
        await visitor.signIn(user, 'home');
        await visitor.visit('/settings/password', 'password form');
        await site.t.db('sessions').delete();
        await visitor.submit(
          {
            'Current password': user.password,
            'New password': 'a different long passphrase',
            'New password again': 'a different long passphrase',
          },
          'Change password',
          'form expired',
        );
        assert.equal(visitor.status(), 403);
        await visitor.page.getByRole('heading', { name: /expired/i }).waitFor();
        await visitor.follow('Go back and try again', 'back to the form');
        assert.equal(visitor.path(), '/login?next=%2Fsettings%2Fpassword');
        await visitor.close();
      });
    });

    it('when a page does not exist, then the 404 page says so and links to the start', async () => {
      await withSite({}, async (site) => {
        const visitor = await openVisitor(browser, site, viewport, 'not-found');
        await visitor.visit('/no/such/page', 'not found');
        assert.equal(visitor.status(), 404);
        await visitor.page.getByRole('link', { name: 'Go to the start page' }).waitFor();
        await visitor.close();
      });
    });
  });
}

describe('with the keyboard alone, JavaScript off', () => {
  it('when a person signs in and out using only the keyboard, then focus is visible and every step works', async () => {
    await withSite({ REQUIRE_2FA: 'off' }, async (site) => {
      const user = await makeUser(site.t.db);
      const visitor = await openVisitor(browser, site, 'desktop', 'keyboard');
      const { page } = visitor;
      await visitor.visit('/login', 'sign-in form');
      // The email field has focus from the start (autofocus works without JavaScript).
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'email');
      await page.keyboard.type(user.email);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
      await page.keyboard.type(user.password);
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement;
        const style = getComputedStyle(element);
        return { text: element.textContent?.trim(), outline: style.outlineStyle };
      });
      assert.equal(focused.text, 'Sign in');
      assert.notEqual(focused.outline, 'none', 'the focused button shows a focus ring');
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      await visitor.check('home');
      assert.equal(visitor.path(), '/');

      // Tab through the header to "Sign out" and press it.
      let reached = false;
      for (let step = 0; step < 10 && !reached; step += 1) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(
          () => document.activeElement?.textContent?.trim() === 'Sign out',
        );
      }
      assert.ok(reached, 'Sign out is reachable with Tab');
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      await visitor.check('signed out');
      assert.match(visitor.path(), /^\/login/);
      await visitor.close();
    });
  });
});
