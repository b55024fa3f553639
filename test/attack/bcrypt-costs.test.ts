import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bcryptCostOf, hashPassword } from '../../src/auth/passwords.ts';
import { createUser } from '../../src/auth/users.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DEFAULT_PASSWORD, uniqueEmail } from '../helpers/factories.ts';

/**
 * #50: with password hashes of several bcrypt costs in the database (BCRYPT_COST was changed
 * after accounts were made), an unknown email and a real account answer a wrong password in
 * similar time. Before, the dummy check for unknown emails used the configured cost: with the
 * server at 10 and an account hashed at 12, that account answered 3-4 times slower than anyone
 * unknown.
 */
let nextAddress = 0;

async function timedWrongPassword(t: TestApp, email: string): Promise<number> {
  const browser = createBrowser(t.app);
  const page = await browser.get('/login');
  nextAddress += 1;
  const started = process.hrtime.bigint();
  const response = await browser.agent
    .post('/login')
    .type('form')
    .set('X-Forwarded-For', `10.50.${Math.floor(nextAddress / 250)}.${nextAddress % 250}`)
    .send({ email, password: 'not the password at all', _csrf: csrfTokenIn(page.text) });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(response.status, 401);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function userHashedAt(t: TestApp, cost: number) {
  const result = await createUser(t.db, {
    email: uniqueEmail(`cost${cost}`),
    passwordHash: await hashPassword(DEFAULT_PASSWORD, cost),
    role: 'user',
  });
  assert.ok(result.ok);
  return result.user;
}

describe('#50 timing with hashes of several bcrypt costs', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', REQUIRE_2FA: 'off', BCRYPT_COST: '10' });
  });
  after(() => t.close());

  it('#50 when the server is at cost 10 and an account is hashed at 12, then that account, one at 10 and unknown emails answer a wrong password in similar time', async () => {
    const at12 = await userHashedAt(t, 12);
    const at10 = await userHashedAt(t, 10);
    const samples = { at12: [] as number[], at10: [] as number[], unknown: [] as number[] };
    await timedWrongPassword(t, uniqueEmail('warm-up'));
    // Interleaved, so that load from other test files falls on all three alike.
    for (let i = 0; i < 9; i++) {
      samples.at12.push(await timedWrongPassword(t, at12.email));
      samples.at10.push(await timedWrongPassword(t, at10.email));
      samples.unknown.push(await timedWrongPassword(t, uniqueEmail('nobody')));
    }
    const medians = {
      at12: median(samples.at12),
      at10: median(samples.at10),
      unknown: median(samples.unknown),
    };
    const values = Object.values(medians);
    const ratio = Math.max(...values) / Math.min(...values);
    assert.ok(
      ratio < 1.5,
      `medians differ by ${ratio.toFixed(2)}×: ${JSON.stringify(medians, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
  });

  it('#50 when an account hashed at another cost signs in, then its hash is redone at the configured cost and still works', async () => {
    const user = await userHashedAt(t, 11);
    const signIn = async () => {
      const browser = createBrowser(t.app);
      return browser.submit('/login', '/login', { email: user.email, password: DEFAULT_PASSWORD });
    };
    assert.equal((await signIn()).status, 303);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(bcryptCostOf(row.password_hash), 10);
    assert.equal((await signIn()).status, 303, 'the new hash verifies the same password');
  });
});
