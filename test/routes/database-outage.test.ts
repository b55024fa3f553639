import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { adminQuery } from '../helpers/database.ts';
import { makeUser } from '../helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp({ DB_STATEMENT_TIMEOUT: '2s' });
});
after(async () => {
  await allowConnections();
  await t.close();
});

/** The database goes away for this app: existing connections are killed, new ones refused. */
async function cutDatabase() {
  await adminQuery(`ALTER DATABASE ${t.database.name} ALLOW_CONNECTIONS false`);
  // pg_terminate_backend only signals: wait until the connections are really gone.
  for (let i = 0; i < 100; i++) {
    const { rows } = await adminQuery(
      'SELECT count(pg_terminate_backend(pid))::int AS alive FROM pg_stat_activity WHERE datname = $1',
      [t.database.name],
    );
    if (rows[0].alive === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('connections to the test database did not end');
}

async function allowConnections() {
  await adminQuery(`ALTER DATABASE ${t.database.name} ALLOW_CONNECTIONS true`);
}

describe('when the database goes away and comes back', () => {
  it('then probes, pages and forms answer 503 while it is gone, and everything recovers by itself', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    assert.equal((await browser.get('/')).status, 200);

    await cutDatabase();
    try {
      const ready = await request(t.app).get('/readyz');
      assert.equal(ready.status, 503);

      // A new visitor's sign-in page needs no database (its CSRF token is stateless); sending
      // it does.
      const visitor = createBrowser(t.app);
      const form = await visitor.get('/login');
      assert.equal(form.status, 200);
      const sent = await visitor.post('/login', {
        email: user.email,
        password: user.password,
        _csrf: csrfTokenIn(form.text),
      });
      for (const page of [await browser.get('/'), sent]) {
        assert.equal(page.status, 503);
        assert.match(page.text, /temporarily unavailable/);
        assert.match(page.text, /try again in a minute/i);
        assert.equal(page.headers['retry-after'], '30');
        assert.doesNotMatch(page.text, /ECONNREFUSED|pg_|stack|at \//);
      }
      assert.equal(
        (await request(t.app).get('/healthz')).status,
        200,
        'the process itself stays up',
      );
    } finally {
      await allowConnections();
    }

    let ready = 503;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await request(t.app).get('/readyz')).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(ready, 200, 'ready again without a restart');
    assert.equal((await browser.get('/')).status, 200, 'the same session works again');
    const fresh = createBrowser(t.app);
    const signIn = await fresh.submit('/login', '/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(signIn.status, 303);
  });

  it('then a statement that runs past the timeout gets the same 503 page, and the session is kept', async () => {
    const browser = createBrowser(t.app);
    const user = await makeUser(t.db);
    const signIn = await browser.submit('/login', '/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(signIn.status, 303);
    // Hold a lock on the users table so that the page's first statement (the session store's load,
    // which reads the user with the session) waits past the 2 s statement timeout.
    const trx = await t.db.transaction();
    try {
      await trx.raw('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const page = await browser.get('/');
      assert.equal(page.status, 503);
      assert.match(page.text, /temporarily unavailable/);
    } finally {
      await trx.rollback();
    }
    // A session that could not be loaded is not a session to delete: still signed in.
    const rows = await t.db('sessions').where({ user_id: user.id }).count<{ count: string }[]>();
    assert.deepEqual(rows, [{ count: '1' }], 'the session row is still there');
    assert.equal((await browser.get('/')).status, 200);
  });
});
