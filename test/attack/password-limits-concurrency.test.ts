import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PASSWORD_LIMITS, reservePasswordAttempt } from '../../src/auth/throttle.ts';
import { createBrowser, csrfTokenIn, encodeForm, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { codeAt, makeUserWithTwoFactor } from '../helpers/two-factor.ts';

/**
 * #47: every password limit holds when the attempts arrive all at once. Each checked attempt
 * costs one bcrypt run and leaves one settled row in auth_attempts; a refused one leaves no row
 * and answers 429. So "how many were checked with bcrypt" is observable from outside as the
 * non-429 answers, and from the database as the new rows.
 */
const N = 50;

let nextAddress = 0;
/** A client address no other test uses (the app trusts X-Forwarded-For from loopback). */
function freshAddress(): string {
  nextAddress += 1;
  return `10.47.${Math.floor(nextAddress / 250)}.${nextAddress % 250}`;
}

async function loginAttempt(t: TestApp, email: string, password: string, ip: string) {
  const browser = createBrowser(t.app);
  const page = await browser.get('/login');
  return browser.agent
    .post('/login')
    .type('form')
    .set('X-Forwarded-For', ip)
    .send({ email, password, _csrf: csrfTokenIn(page.text) });
}

/** Earlier failures, as the password step writes them: the test's arrangement, not a shortcut. */
async function priorFailures(
  t: TestApp,
  rows: { accountKey: string; ip: string; userId?: string }[],
): Promise<void> {
  const at = new Date(t.clock.now() - 60_000);
  await t.db('auth_attempts').insert(
    rows.map((row) => ({
      kind: 'password',
      account_key: row.accountKey,
      user_id: row.userId ?? null,
      ip: row.ip,
      succeeded: false,
      created_at: at,
    })),
  );
}

async function passwordRows(t: TestApp): Promise<number> {
  const row = await t.db('auth_attempts').where({ kind: 'password' }).count('* as n').first();
  return Number(row!.n);
}

/** Fires `run` N times at once; returns how many were checked (not refused with 429). */
async function burst(
  t: TestApp,
  run: (i: number) => Promise<{ status: number }>,
): Promise<{ checked: number; refused: number; newRows: number }> {
  const before = await passwordRows(t);
  const results = await Promise.all(Array.from({ length: N }, (_, i) => run(i)));
  const statuses = results.map((r) => r.status);
  assert.ok(
    statuses.every((s) => s === 401 || s === 429),
    `only 401 and 429: ${statuses.join(',')}`,
  );
  const refused = statuses.filter((s) => s === 429).length;
  return { checked: N - refused, refused, newRows: (await passwordRows(t)) - before };
}

/** A signed-in browser posting a form on its own session from `ip`. */
function poster(browser: Browser, ip: string) {
  return (action: string, token: string, fields: Record<string, string>) =>
    browser.agent
      .post(action)
      .type('form')
      .set('X-Forwarded-For', ip)
      .send(encodeForm({ ...fields, _csrf: token }));
}

async function signedIn(t: TestApp, email: string, password: string): Promise<Browser> {
  const browser = createBrowser(t.app);
  const response = await browser.submit('/login', '/login', { email, password });
  assert.equal(response.status, 303);
  return browser;
}

describe('#47 password limits under concurrent attempts', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  it('#47 when 50 wrong passwords for one account arrive at once from one address, then at most 10 are checked with bcrypt', async () => {
    const user = await makeUser(t.db);
    const ip = freshAddress();
    const { checked, newRows } = await burst(t, () =>
      loginAttempt(t, user.email, 'wrong password here', ip),
    );
    assert.ok(
      checked <= PASSWORD_LIMITS.accountIpFailures,
      `${checked} of ${N} were checked (limit ${PASSWORD_LIMITS.accountIpFailures})`,
    );
    assert.equal(newRows, checked, 'every checked attempt is counted, no refused one is');
    // A burst may refuse a few more than needed (reservations count while in flight), never fewer:
    // one by one afterwards, the rest of the budget and not one attempt more.
    let allowedAfter = 0;
    while ((await loginAttempt(t, user.email, 'wrong password here', ip)).status === 401)
      allowedAfter += 1;
    assert.equal(checked + allowedAfter, PASSWORD_LIMITS.accountIpFailures);
  });

  it('#47 when an account has 95 failures and 50 more arrive at once from 50 addresses, then at most 5 are checked before the account locks', async () => {
    const user = await makeUser(t.db);
    await priorFailures(
      t,
      Array.from({ length: PASSWORD_LIMITS.accountFailures - 5 }, () => ({
        accountKey: user.email,
        userId: user.id,
        ip: freshAddress(),
      })),
    );
    const { checked, newRows } = await burst(t, () =>
      loginAttempt(t, user.email, 'wrong password here', freshAddress()),
    );
    assert.ok(checked <= 5, `${checked} of ${N} were checked past the 100-failure lock`);
    assert.equal(newRows, checked);
  });

  it('#47 when an address has 95 failures and 50 more on 50 emails arrive at once, then at most 5 are checked before the address is refused', async () => {
    const ip = freshAddress();
    await priorFailures(
      t,
      Array.from({ length: PASSWORD_LIMITS.ipFailures - 5 }, () => ({
        accountKey: uniqueEmail('stuffed'),
        ip,
      })),
    );
    const { checked, newRows } = await burst(t, () =>
      loginAttempt(t, uniqueEmail('stuffed'), 'password123456', ip),
    );
    assert.ok(checked <= 5, `${checked} of ${N} were checked past the per-address limit`);
    assert.equal(newRows, checked);
  });

  it('#47 when 50 wrong passwords reach "confirm it\'s you" at once, then at most 10 are checked', async () => {
    const user = await makeUser(t.db);
    const browser = await signedIn(t, user.email, user.password);
    const token = csrfTokenIn((await browser.get('/confirm')).text);
    const post = poster(browser, freshAddress());
    const { checked, newRows } = await burst(t, () =>
      post('/confirm', token, { password: 'wrong password here', next: '/settings' }),
    );
    assert.ok(checked <= PASSWORD_LIMITS.accountIpFailures, `${checked} of ${N} were checked`);
    assert.equal(newRows, checked);
  });

  it('#47 when 50 wrong current passwords reach the password change at once, then at most 10 are checked', async () => {
    const user = await makeUser(t.db);
    const browser = await signedIn(t, user.email, user.password);
    const token = csrfTokenIn((await browser.get('/settings/password')).text);
    const post = poster(browser, freshAddress());
    const newPassword = `new ${crypto.randomBytes(8).toString('hex')} password`;
    const { checked, newRows } = await burst(t, () =>
      post('/settings/password', token, {
        currentPassword: 'wrong password here',
        newPassword,
        confirmPassword: newPassword,
      }),
    );
    assert.ok(checked <= PASSWORD_LIMITS.accountIpFailures, `${checked} of ${N} were checked`);
    assert.equal(newRows, checked);
  });

  it('#47 when 50 wrong passwords reach "turn off two-factor" at once, then at most 10 are checked', async () => {
    const { browser, secret } = await makeUserWithTwoFactor(t);
    const token = csrfTokenIn((await browser.get('/settings/2fa/disable')).text);
    const post = poster(browser, freshAddress());
    const code = await codeAt(t, secret);
    const { checked, newRows } = await burst(t, () =>
      post('/settings/2fa/disable', token, { password: 'wrong password here', code }),
    );
    assert.ok(checked <= PASSWORD_LIMITS.accountIpFailures, `${checked} of ${N} were checked`);
    assert.equal(newRows, checked);
  });

  it('#47 when a request died after reserving its attempt, then its row counts as a failure and holds nobody up', async () => {
    const user = await makeUser(t.db);
    const ip = freshAddress();
    await priorFailures(
      t,
      Array.from({ length: PASSWORD_LIMITS.accountIpFailures - 1 }, () => ({
        accountKey: user.email,
        ip,
      })),
    );
    // What a crash between the reservation and its settling leaves: an old in-flight row.
    await t.db('auth_attempts').insert({
      kind: 'password',
      account_key: user.email,
      ip,
      succeeded: false,
      reason: 'in_flight',
      created_at: new Date(t.clock.now() - PASSWORD_LIMITS.inFlightStaleMs - 1000),
    });
    const started = Date.now();
    const response = await loginAttempt(t, user.email, user.password, ip);
    assert.equal(response.status, 429, 'the tenth failure is the crashed one');
    assert.ok(
      Date.now() - started < PASSWORD_LIMITS.inFlightWaitMs,
      'a stale reservation is not waited for',
    );
  });

  it('#47 when fifty guesses arrive at once at an address already paused, then each is refused at once, none polling for the others', async () => {
    const user = await makeUser(t.db);
    const ip = freshAddress();
    // Two past the limit, a minute ago: paused for four minutes from then.
    await priorFailures(
      t,
      Array.from({ length: PASSWORD_LIMITS.accountIpFailures + 2 }, () => ({
        accountKey: user.email,
        ip,
      })),
    );
    await t.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const counted = async () => {
      const { rows } = await t.db.raw<{ rows: { calls: string }[] }>(
        `SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query ILIKE '%FROM auth_attempts%' AND query NOT ILIKE '%pg_stat_statements%'`,
      );
      return Number(rows[0]!.calls);
    };
    const before = await counted();
    const answers = await Promise.all(
      Array.from({ length: N }, () =>
        reservePasswordAttempt(t.db, {
          account: { email: user.email },
          ip,
          now: new Date(t.clock.now()),
        }),
      ),
    );
    const statements = (await counted()) - before;
    assert.ok(
      answers.every((answer) => !answer.verdict.allowed),
      'all refused',
    );
    // Each: its reservation, one count, at most one look at the settled attempts, its deletion.
    // Waiting for the others instead polls every 20 ms until each earlier one is gone.
    assert.ok(statements <= N * 4, `${statements} statements for ${N} refused guesses`);
    assert.equal(
      await t
        .db('auth_attempts')
        .where({ ip, reason: 'in_flight' })
        .count('* as n')
        .first()
        .then((row) => Number(row!.n)),
      0,
    );
  });
});
