import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeForStep, stepAt } from '../../src/auth/totp.ts';
import { csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { codeAt, makeUserWithTwoFactor, startSignIn } from '../helpers/two-factor.ts';

/**
 * #49: no answer to a wrong code tells whether it will be valid later. Before, a code for a step
 * a minute or more ahead got "your device's clock looks ahead", so a guesser knew to wait and
 * send it again: any guess matching one of the next 20 steps was worth keeping.
 */
const AHEAD = 4; // two minutes ahead: outside the default window of one step

/** A 6-digit code that matches no step within ±25 of now: an ordinary wrong guess. */
async function codeMatchingNoStep(t: TestApp, secret: string): Promise<string> {
  const near = new Set<string>();
  const now = stepAt(t.clock.now());
  for (let offset = -25; offset <= 25; offset++) near.add(await codeForStep(secret, now + offset));
  for (let candidate = 100_000; ; candidate++) {
    if (!near.has(String(candidate))) return String(candidate);
  }
}

/** The page without what changes from one response to the next (tokens, typed values). */
function comparable(html: string): string {
  return html.replace(/value="[^"]*"/g, 'value=""');
}

async function post(
  browser: Browser,
  pagePath: string,
  action: string,
  fields: Record<string, string>,
) {
  const page = await browser.get(pagePath);
  return browser.post(action, { ...fields, _csrf: csrfTokenIn(page.text) });
}

describe('#49 wrong codes give no hint about the future', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  async function driftHints(userId: string): Promise<number> {
    return (await t.db('audit_events').where({ user_id: userId, event: 'clock_drift_hint' }))
      .length;
  }

  it('#49 when a sign-in code is for a step minutes ahead, then the answer is the one for any wrong code, and no hint is recorded', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const future = await post(browser, '/login/2fa', '/login/2fa', {
      code: await codeAt(t, secret, AHEAD),
    });
    const wrong = await post(browser, '/login/2fa', '/login/2fa', {
      code: await codeMatchingNoStep(t, secret),
    });
    assert.equal(future.status, 401);
    assert.doesNotMatch(future.text, /clock looks ahead/);
    assert.equal(comparable(future.text), comparable(wrong.text));
    assert.equal(await driftHints(user.id), 0);
  });

  it('#49 when a sign-in code is for a step minutes behind, then the hint is still given (that code can never work again)', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const past = await post(browser, '/login/2fa', '/login/2fa', {
      code: await codeAt(t, secret, -6),
    });
    assert.equal(past.status, 401);
    assert.match(past.text, /clock looks behind by about 3 minutes/);
  });

  it('#49 when "confirm it\'s you" gets a code for a step minutes ahead, then no hint is given', async () => {
    const { user, browser, secret } = await makeUserWithTwoFactor(t);
    const future = await post(browser, '/confirm', '/confirm', {
      password: user.password,
      code: await codeAt(t, secret, AHEAD),
      next: '/settings',
    });
    const wrong = await post(browser, '/confirm', '/confirm', {
      password: user.password,
      code: await codeMatchingNoStep(t, secret),
      next: '/settings',
    });
    assert.equal(future.status, 401);
    assert.doesNotMatch(future.text, /clock looks ahead/);
    assert.equal(comparable(future.text), comparable(wrong.text));
    assert.equal(await driftHints(user.id), 0);
  });

  it('#49 when turning 2FA off gets a code for a step minutes ahead, then no hint is given', async () => {
    const { user, browser, secret } = await makeUserWithTwoFactor(t);
    const future = await post(browser, '/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: await codeAt(t, secret, AHEAD),
    });
    const wrong = await post(browser, '/settings/2fa/disable', '/settings/2fa/disable', {
      password: user.password,
      code: await codeMatchingNoStep(t, secret),
    });
    assert.equal(future.status, 401);
    assert.doesNotMatch(future.text, /clock looks ahead/);
    assert.equal(comparable(future.text), comparable(wrong.text));
    assert.equal(await driftHints(user.id), 0);
  });
});
