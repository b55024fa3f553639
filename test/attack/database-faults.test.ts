import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import request from 'supertest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { createDb, migrateToLatest } from '../../src/db/knex.ts';
import { csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { codeAt, secretFromSetupPage, signInWithPassword } from '../helpers/two-factor.ts';

describe('when the database server itself stops and starts again', () => {
  const dataDir = path.join(
    fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), 'faults-')),
    'postgres',
  );
  fs.chmodSync(path.dirname(dataDir), 0o711);
  let server: EmbeddedPostgres;
  let t: TestApp;
  before(async () => {
    server = await startEmbeddedPostgres({ dataDir });
    const db = createDb({ url: server.url, statementTimeoutMs: 10_000 });
    await migrateToLatest(db);
    await db.destroy();
    t = await createTestApp(
      { REQUIRE_2FA: 'off' },
      { name: 'keygate', url: server.url, drop: async () => undefined },
    );
  });
  after(async () => {
    await t.close();
    await server.stop();
  });

  it('then requests get the 503 page while it is down, the process stays up, and everything recovers without a restart', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const loginPage = await request(t.app).get('/login');
    await server.stop();

    for (const response of [await browser.get('/'), await browser.get('/settings')]) {
      assert.equal(response.status, 503);
      assert.match(response.text, /temporarily unavailable/);
    }
    // A new visitor's sign-in page needs nothing from the database (its CSRF token is stateless).
    assert.equal((await request(t.app).get('/login')).status, 200);
    const post = await request(t.app)
      .post('/login')
      .set('Cookie', (loginPage.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!)
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(loginPage.text) });
    assert.equal(post.status, 503);
    assert.equal((await request(t.app).get('/readyz')).status, 503);
    assert.equal((await request(t.app).get('/healthz')).status, 200);

    server = await startEmbeddedPostgres({ dataDir, port: server.port });
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await request(t.app).get('/readyz')).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(ready, 200);
    assert.equal(
      (await browser.get('/settings')).status,
      200,
      'the session survived: it lives in PostgreSQL',
    );
    assert.equal(
      (await signInWithPassword(t, user.email, user.password).then((b) => b.get('/'))).status,
      200,
    );
  });
});

describe('when the connection dies in the middle of a transaction', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  /** Holds a lock so the app's transaction stops at `table`, then kills the app's waiting backend. */
  async function interrupt(table: string, run: () => Promise<request.Response>) {
    const blocker = new pg.Client({ connectionString: t.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    // supertest sends only once someone calls then(): start it now.
    const pending = Promise.resolve().then(run);
    // Another connection watches: inside the blocker's transaction pg_stat_activity is a snapshot.
    const watcher = new pg.Client({ connectionString: t.database.url });
    await watcher.connect();
    let killed = 0;
    for (let i = 0; i < 100 && killed === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { rows } = await watcher.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'keygate' AND wait_event_type = 'Lock'`,
      );
      killed = rows[0]!.n;
    }
    await watcher.end();
    await blocker.query('ROLLBACK');
    await blocker.end();
    assert.ok(killed > 0, 'the app was caught waiting inside its transaction');
    return pending;
  }

  it('then turning 2FA on is all or nothing: no secret without its recovery codes', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/2fa/setup', {});
    const page = await browser.get('/settings/2fa/setup');
    const code = await codeAt(t, secretFromSetupPage(page.text));
    const response = await interrupt('recovery_codes', () =>
      browser.post('/settings/2fa/confirm', { code, _csrf: csrfTokenIn(page.text) }),
    );
    assert.equal(response.status, 503);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(row.totp_secret_encrypted, null, 'the UPDATE before the failure was rolled back');
    assert.equal((await t.db('recovery_codes').where({ user_id: user.id })).length, 0);
  });

  it('then an admin reset is all or nothing: the secret stays with its codes', async () => {
    const { makeUserWithTwoFactor } = await import('../helpers/two-factor.ts');
    const { user } = await makeUserWithTwoFactor(t);
    const admin = await makeUser(t.db, { role: 'admin' });
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const confirm = await adminBrowser.get(`/admin/users/${user.id}/reset-2fa`);
    const response = await interrupt('recovery_codes', () =>
      adminBrowser.post(`/admin/users/${user.id}/reset-2fa`, { _csrf: csrfTokenIn(confirm.text) }),
    );
    assert.equal(response.status, 503);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.ok(row.totp_secret_encrypted, 'still on');
    assert.equal(
      (await t.db('recovery_codes').where({ user_id: user.id })).length,
      10,
      'codes intact',
    );
  });
});
