import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../src/auth/passwords.ts';
import { createUser } from '../../src/auth/users.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { createDb } from '../../src/db/knex.ts';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';

/**
 * #51: one canonical form of an email for lookup, uniqueness and every limit. U+212A KELVIN SIGN
 * lowers to "k" in JavaScript but not in PostgreSQL's C-locale lower(): before, that made two
 * accounts that shared one throttle counter.
 */
const KELVIN = '\u212a';

function local(prefix: string): string {
  return `${prefix}${crypto.randomBytes(3).toString('hex')}`;
}

async function signIn(t: TestApp, email: string, password: string, ip: string) {
  const browser = createBrowser(t.app);
  const page = await browser.get('/login');
  return browser.agent
    .post('/login')
    .type('form')
    .set('X-Forwarded-For', ip)
    .send({ email, password, _csrf: csrfTokenIn(page.text) });
}

describe('#51 one canonical email', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ TRUST_PROXY: 'loopback', REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  const create = async (email: string) =>
    createUser(t.db, {
      email,
      passwordHash: await hashPassword(DEFAULT_PASSWORD, 10),
      role: 'user',
    });

  it('#51 when an address differs from an existing one only by a Kelvin sign, fullwidth letters, case or composition, then no second account is made', async () => {
    const name = local('kv');
    assert.ok((await create(`${name}@example.com`)).ok);
    for (const lookAlike of [
      `${KELVIN}${name.slice(1)}@example.com`,
      `${name.toUpperCase()}@EXAMPLE.COM`,
      // Fullwidth letters and digits: NFKC maps them to ASCII.
      `${[...name].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('')}@example.com`,
    ]) {
      const second = await create(lookAlike);
      assert.deepEqual(second, { ok: false, reason: 'email_taken' }, lookAlike);
    }
    const rows = await t.db('users').whereILike('email', `%${name.slice(2)}@%`);
    assert.equal(rows.length, 1);
    // Composed and decomposed forms of one letter (é as one code point, or e + U+0301).
    const accented = local('jose');
    assert.ok((await create(`${accented}\u00e9@example.com`)).ok);
    assert.deepEqual(await create(`${accented}e\u0301@example.com`), {
      ok: false,
      reason: 'email_taken',
    });
  });

  it('#51 when an admin creates a user whose address is a look-alike of an existing one, then it is refused', async () => {
    const admin = await makeUser(t.db, { role: 'admin' });
    const name = local('kadmin');
    await makeUser(t.db, { email: `${name}@example.com` });
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: admin.email, password: admin.password });
    const response = await browser.submit('/admin/users/new', '/admin/users/new', {
      email: `${KELVIN}${name.slice(1)}@example.com`,
      role: 'user',
      passwordChoice: 'generate',
      password: '',
    });
    assert.ok([400, 409].includes(response.status), `answered ${response.status}`);
  });

  it('#51 when a person types their address with a look-alike letter or in capitals, then it is their account that answers', async () => {
    const name = local('kl');
    const user = await makeUser(t.db, { email: `${name}@example.com` });
    for (const typed of [
      `${KELVIN}${name.slice(1)}@example.com`,
      `  ${name.toUpperCase()}@Example.COM `,
    ]) {
      const response = await signIn(t, typed, user.password, '10.51.0.1');
      assert.equal(response.status, 303, typed);
    }
  });

  it('#51 when an account is locked, then a look-alike spelling of its address is locked too (one counter)', async () => {
    const name = local('kc');
    const user = await makeUser(t.db, { email: `${name}@example.com` });
    const lookAlike = `${KELVIN}${name.slice(1)}@example.com`;
    await t.db('auth_attempts').insert(
      Array.from({ length: 100 }, (_, i) => ({
        kind: 'password',
        account_key: user.email,
        user_id: user.id,
        ip: `10.51.1.${i}`,
        succeeded: false,
        created_at: new Date(t.clock.now() - 60_000),
      })),
    );
    assert.equal((await signIn(t, lookAlike, user.password, '10.51.2.1')).status, 429);
    assert.equal((await signIn(t, user.email, user.password, '10.51.2.2')).status, 429);
  });

  it('#51 when addresses really differ (a dot, another letter), then they stay two accounts', async () => {
    const name = local('ab');
    assert.ok((await create(`${name}@example.com`)).ok);
    assert.ok((await create(`${name.slice(0, 1)}.${name.slice(1)}@example.com`)).ok);
    assert.ok((await create(`${name}x@example.com`)).ok);
  });
});

describe('#51 the canonical-email migration', () => {
  it('#51 when existing accounts collide in canonical form, then the migration stops and lists them instead of merging, and runs once they are resolved', async () => {
    const database = await createTestDatabase();
    const db = createDb({ url: database.url, statementTimeoutMs: 30_000 });
    try {
      // Back to the schema before this migration (and every one after it).
      while (Number(await db.migrate.currentVersion()) >= 20261201000000) await db.migrate.down();
      const hash = await hashPassword(DEFAULT_PASSWORD, 10);
      const [a, b, c] = (await db('users')
        .insert([
          { email: 'kv2@example.com', password_hash: hash },
          { email: `${KELVIN}v2@example.com`, password_hash: hash },
          { email: 'Other@Example.com', password_hash: hash },
        ])
        .returning('id')) as { id: string }[];
      await assert.rejects(db.migrate.latest(), (error: Error) => {
        assert.match(error.message, /more than one account/);
        assert.match(
          error.message,
          new RegExp(`user ${a!.id} <"kv2@example.com"> = user ${b!.id}`),
        );
        assert.doesNotMatch(error.message, new RegExp(`user ${c!.id} `));
        return true;
      });
      assert.equal(await db.schema.hasColumn('users', 'email_canonical'), false, 'nothing changed');
      assert.equal((await db('users')).length, 3, 'nothing merged');

      await db('users').where({ id: b!.id }).update({ email: 'kv2-other@example.com' });
      await db.migrate.latest();
      const rows = await db('users').orderBy('id').select('email_canonical');
      assert.deepEqual(
        rows.map((row: { email_canonical: string }) => row.email_canonical),
        ['kv2@example.com', 'kv2-other@example.com', 'other@example.com'],
      );
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
});
