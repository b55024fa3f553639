import assert from 'node:assert/strict';
import { codeForStep, stepAt } from '../../src/auth/totp.ts';
import { createBrowser, csrfTokenIn, type Browser } from './agent.ts';
import type { TestApp } from './app.ts';
import { makeUser } from './factories.ts';
import { rememberSecret } from './secrets.ts';

/** The code an authenticator app would show at the app's current (test) time, `offset` steps away. */
export async function codeAt(t: TestApp, secret: string, offset = 0): Promise<string> {
  const code = await codeForStep(secret, stepAt(t.clock.now()) + offset);
  rememberSecret('totp code', code);
  return code;
}

/** The secret as a phone reads it: from the otpauth:// URI the setup page offers. */
export function secretFromSetupPage(html: string): string {
  const uri = /href="(otpauth:\/\/[^"]+)"/.exec(html)?.[1];
  assert.ok(uri, 'the setup page offers an otpauth link');
  const parsed = new URL(uri.replace(/&amp;/g, '&'));
  const secret = parsed.searchParams.get('secret')!;
  rememberSecret('totp secret', secret);
  return secret;
}

export function recoveryCodesFromPage(html: string): string[] {
  const codes = [
    ...html.matchAll(/<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/code><\/li>/g),
  ].map((m) => m[1]!);
  for (const code of codes) {
    rememberSecret('recovery code', code);
    rememberSecret('recovery code', code.replace(/-/g, ''));
  }
  return codes;
}

export async function signInWithPassword(
  t: TestApp,
  email: string,
  password: string,
): Promise<Browser> {
  const browser = createBrowser(t.app);
  const response = await browser.submit('/login', '/login', { email, password });
  assert.equal(response.status, 303);
  return browser;
}

/**
 * A user with 2FA turned on through the real pages, signed in in `browser`. The clock is moved
 * past the confirming code's step so the next code is usable.
 */
export async function makeUserWithTwoFactor(t: TestApp) {
  const user = await makeUser(t.db);
  const browser = await signInWithPassword(t, user.email, user.password);
  const setupPage = await browser.submit('/settings', '/settings/2fa/setup', {});
  assert.equal(setupPage.status, 303);
  const page = await browser.get('/settings/2fa/setup');
  const secret = secretFromSetupPage(page.text);
  const confirm = await browser.post('/settings/2fa/confirm', {
    code: await codeAt(t, secret),
    _csrf: csrfTokenIn(page.text),
  });
  assert.equal(confirm.status, 303, confirm.text);
  const codesPage = await browser.get('/settings/2fa/recovery-codes');
  const recoveryCodes = recoveryCodesFromPage(codesPage.text);
  assert.equal(recoveryCodes.length, 10);
  t.clock.advance(30_000);
  return { user, browser, secret, recoveryCodes };
}

/** Password step for a 2FA user: returns the browser holding the pending sign-in. */
export async function startSignIn(t: TestApp, email: string, password: string): Promise<Browser> {
  const browser = createBrowser(t.app);
  const response = await browser.submit('/login', '/login', { email, password });
  assert.equal(response.status, 303);
  assert.equal(response.headers.location, '/login/2fa');
  return browser;
}
