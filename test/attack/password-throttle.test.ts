import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { THROTTLED_RESPONSE_DELAY_MS } from '../../src/auth/limits.ts';
import { PASSWORD_LIMITS } from '../../src/auth/throttle.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';

const MINUTE = 60_000;

/** One sign-in attempt as a fresh browser, optionally claiming a client address via a proxy. */
async function attempt(t: TestApp, email: string, password: string, forwardedFor?: string) {
  const browser = createBrowser(t.app);
  const page = await browser.get('/login');
  const post = browser.agent.post('/login').type('form');
  if (forwardedFor) post.set('X-Forwarded-For', forwardedFor);
  return post.send({ email, password, _csrf: csrfTokenIn(page.text) });
}

async function failuresFor(t: TestApp, email: string) {
  const row = await t
    .db('auth_attempts')
    .where({ kind: 'password', account_key: email.toLowerCase(), succeeded: false })
    .count('* as n')
    .first();
  return Number(row!.n);
}

/** Runs `count` attempts, `parallel` at a time. */
async function many(
  count: number,
  parallel: number,
  run: (i: number) => Promise<request.Response>,
) {
  const results: request.Response[] = [];
  for (let start = 0; start < count; start += parallel) {
    results.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(parallel, count - start) }, (_, j) => run(start + j)),
      )),
    );
  }
  return results;
}

describe('password throttling behind a trusted proxy', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  it('#2 #4 when 100 wrong passwords come from rotating addresses, then the account locks, even for the right password', async () => {
    const user = await makeUser(t.db);
    // 20 addresses × 5: no address reaches its own limit of 10.
    const results = await many(100, 10, (i) =>
      attempt(t, user.email, 'wrong password here', `198.51.100.${i % 20}`),
    );
    assert.ok(results.every((r) => r.status === 401));
    assert.equal(await failuresFor(t, user.email), 100);

    const right = await attempt(t, user.email, user.password, '203.0.113.50');
    const wrong = await attempt(t, user.email, 'wrong password here', '203.0.113.51');
    assert.equal(right.status, 429);
    assert.equal(wrong.status, 429);
    assert.equal(
      right.text.replace(/value="[^"]*"/g, ''),
      wrong.text.replace(/value="[^"]*"/g, ''),
      'the page does not reveal that the password was right',
    );
    assert.match(right.text, /Too many sign-in attempts/);
    assert.equal(
      await failuresFor(t, user.email),
      100,
      'refused attempts were never checked, so not counted',
    );

    t.clock.advance(PASSWORD_LIMITS.accountLockMs + MINUTE);
    assert.equal(
      (await attempt(t, user.email, user.password, '203.0.113.52')).status,
      303,
      'an hour later it opens again',
    );
  });

  it('when the account is locked, then an address its owner signed in from before still works (no malicious lockout)', async () => {
    const user = await makeUser(t.db);
    assert.equal((await attempt(t, user.email, user.password, '192.0.2.77')).status, 303);
    await many(100, 10, (i) =>
      attempt(t, user.email, 'wrong password here', `198.51.100.${100 + (i % 20)}`),
    );
    assert.equal((await attempt(t, user.email, user.password, '203.0.113.60')).status, 429);
    assert.equal(
      (await attempt(t, user.email, user.password, '192.0.2.77')).status,
      303,
      "the owner's usual address",
    );
  });

  it('when an admin unlocks a locked account, then the owner can sign in at once', async () => {
    const user = await makeUser(t.db);
    const admin = await makeUser(t.db, { role: 'admin' });
    await many(100, 10, (i) =>
      attempt(t, user.email, 'wrong password here', `198.51.100.${200 + (i % 20)}`),
    );
    assert.equal((await attempt(t, user.email, user.password, '203.0.113.70')).status, 429);
    const adminBrowser = createBrowser(t.app);
    await adminBrowser.submit('/login', '/login', { email: admin.email, password: admin.password });
    const path = `/admin/users/${user.id}/unlock-sign-in`;
    assert.equal((await adminBrowser.submit(path, path, {})).status, 303);
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'sign_in_unlocked' })).length,
      1,
    );
    assert.equal((await attempt(t, user.email, user.password, '203.0.113.70')).status, 303);
  });

  it('#3 when 50 wrong passwords arrive at once, then all are refused and all 50 are counted', async () => {
    const user = await makeUser(t.db);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        attempt(t, user.email, 'wrong password here', `198.51.100.${i}`),
      ),
    );
    assert.ok(results.every((r) => r.status === 401));
    assert.equal(await failuresFor(t, user.email), 50);
  });

  it('when one address fails on many accounts, then it is refused everywhere after 100 (credential stuffing)', async () => {
    const stuffer = '203.0.113.99';
    await many(100, 10, () => attempt(t, uniqueEmail('stuffed'), 'password123456', stuffer));
    const user = await makeUser(t.db);
    assert.equal((await attempt(t, user.email, user.password, stuffer)).status, 429);
    assert.equal(
      (await attempt(t, user.email, user.password, '203.0.113.98')).status,
      303,
      'other addresses are not affected',
    );
  });
});

describe('password throttling with no proxy trusted (the default)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ BCRYPT_COST: '12' });
  });
  after(() => t.close());

  it('#2 when X-Forwarded-For is spoofed, then it changes nothing: 10 failures from this address start the delays', async () => {
    const user = await makeUser(t.db);
    for (let i = 0; i < 10; i++) {
      assert.equal(
        (await attempt(t, user.email, 'wrong password here', `10.9.8.${i}`)).status,
        401,
      );
    }
    assert.equal(
      (await attempt(t, user.email, user.password, '10.9.8.200')).status,
      429,
      'a spoofed address does not reset it',
    );
    const ips = await t
      .db('auth_attempts')
      .where({ account_key: user.email.toLowerCase() })
      .distinct('ip');
    assert.equal(ips.length, 1, 'the spoofed header was never believed');
  });

  it('when the delays grow, then each one is longer than the last (1, 2, 4 … minutes, at most 15)', async () => {
    const user = await makeUser(t.db);
    for (let i = 0; i < 10; i++) await attempt(t, user.email, 'wrong password here');
    assert.equal((await attempt(t, user.email, user.password)).status, 429);
    t.clock.advance(MINUTE + 1000);
    assert.equal(
      (await attempt(t, user.email, 'wrong password here')).status,
      401,
      'after 1 minute, one more try',
    );
    t.clock.advance(MINUTE + 1000);
    assert.equal(
      (await attempt(t, user.email, user.password)).status,
      429,
      'now 2 minutes are needed',
    );
    t.clock.advance(MINUTE);
    const retry = await attempt(t, user.email, user.password);
    assert.equal(retry.status, 303, 'after 2 minutes the right password works');
  });

  it('#7 when attempts are throttled, then no bcrypt runs: beyond their hold they answer far faster than one bcrypt at cost 12', async () => {
    const user = await makeUser(t.db);
    for (let i = 0; i < 10; i++) await attempt(t, user.email, 'wrong password here');
    const started = Date.now();
    const checked = await attempt(t, uniqueEmail('timing'), 'wrong password here');
    const oneBcrypt = Date.now() - started;
    assert.equal(checked.status, 401);
    const throttledStart = Date.now();
    const results = await many(5, 1, () => attempt(t, user.email, 'wrong password here'));
    const perThrottled = (Date.now() - throttledStart) / 5 - THROTTLED_RESPONSE_DELAY_MS;
    assert.ok(results.every((r) => r.status === 429));
    assert.ok(
      perThrottled < oneBcrypt / 2,
      `throttled ${perThrottled.toFixed(1)} ms each (besides the hold) vs ${oneBcrypt} ms for a checked one`,
    );
    assert.equal(await failuresFor(t, user.email), 10, 'the throttled ones were never verified');
  });

  it('when attempts are throttled, then each 429 is held back, so a script that waits for answers gets one per second per connection', async () => {
    const user = await makeUser(t.db);
    for (let i = 0; i < 10; i++) await attempt(t, user.email, 'wrong password here');
    const started = Date.now();
    const checked = await attempt(t, uniqueEmail('not-held'), 'wrong password here');
    assert.equal(checked.status, 401);
    assert.ok(Date.now() - started < THROTTLED_RESPONSE_DELAY_MS, 'a checked attempt is not held');
    const heldStart = Date.now();
    const held = await many(3, 1, () => attempt(t, user.email, 'wrong password here'));
    assert.ok(held.every((r) => r.status === 429));
    const each = (Date.now() - heldStart) / 3;
    assert.ok(each >= THROTTLED_RESPONSE_DELAY_MS - 5, `a 429 took ${each.toFixed(0)} ms`);
  });

  it('#1 when an unknown email is tried as often, then it is throttled just like a real account', async () => {
    const ghost = uniqueEmail('ghost');
    const user = await makeUser(t.db);
    const answers: [number, number][] = [];
    for (let i = 0; i < 11; i++) {
      answers.push([
        (await attempt(t, ghost, 'wrong password here')).status,
        (await attempt(t, user.email, 'wrong password here')).status,
      ]);
    }
    assert.deepEqual(
      answers.map(([a]) => a),
      answers.map(([, b]) => b),
    );
    assert.equal(answers[10]![0], 429);
  });

  it("when a signed-in person keeps guessing the password on confirm-it's-you, then the same limits apply", async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    let last = 0;
    for (let i = 0; i < 11; i++) {
      last = (
        await browser.submit('/confirm?next=/', '/confirm', { password: 'not the password!' })
      ).status;
    }
    assert.equal(last, 429);
    const direct = await request(t.app).get('/healthz');
    assert.equal(direct.status, 200);
  });
});
