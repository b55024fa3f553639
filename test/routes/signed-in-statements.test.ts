import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { statementCalls } from '../helpers/statements.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';

/**
 * A signed-in page reads its session and its user in one statement (the session store's load,
 * joined to users), not one each: the user is read with the session and handed to the
 * current-user middleware. Counted with pg_stat_statements, as bench scenario 4 counts.
 */
describe('a signed-in page: session and user in one statement', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
    await t.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  });
  after(() => t.close());

  const counters = () => statementCalls(t.db);

  /** The statements run between two counter readings, one entry per call. */
  function ran(from: Map<string, number>, to: Map<string, number>): string[] {
    return [...to].flatMap(([query, calls]) =>
      Array<string>(calls - (from.get(query) ?? 0)).fill(query.replace(/\s+/g, ' ')),
    );
  }

  it('when a signed-in person opens a page, then one statement reads both the session and the user', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.get('/'); // the statements are prepared and counted once before measuring
    const start = await counters();
    const home = await browser.get('/');
    const statements = ran(start, await counters());
    assert.equal(home.status, 200);
    assert.match(home.text, new RegExp(user.email.replace(/[.+]/g, '\\$&')));
    const sessionLoads = statements.filter((q) => /\bFROM "sessions" s\b/.test(q));
    assert.equal(sessionLoads.length, 1, statements.join('\n'));
    assert.match(sessionLoads[0]!, /JOIN users u ON u\.id = s\.user_id/);
    const userReads = statements.filter((q) => /\bfrom "users"/i.test(q));
    assert.deepEqual(userReads, [], 'no statement of its own for the user');
  });

  it('when the row’s user_id names another user than the session’s data, then the session’s own user is the one signed in', async () => {
    const user = await makeUser(t.db);
    const other = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    // The trigger keeps user_id equal to the data's userId; here it is made to disagree.
    await t.db.raw('ALTER TABLE sessions DISABLE TRIGGER sessions_set_user_id');
    try {
      await t.db('sessions').where({ user_id: user.id }).update({ user_id: other.id });
    } finally {
      await t.db.raw('ALTER TABLE sessions ENABLE TRIGGER sessions_set_user_id');
    }
    const home = await browser.get('/');
    assert.equal(home.status, 200);
    assert.ok(home.text.includes(user.email), 'the session’s own user');
    assert.ok(!home.text.includes(other.email), 'not the user the row’s column named');
  });

  it('when a session row’s data is JSON null, then it is no session: a new visitor, not an error', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await t.db.raw('ALTER TABLE sessions DISABLE TRIGGER sessions_set_user_id');
    try {
      await t
        .db('sessions')
        .where({ user_id: user.id })
        .update({ sess: t.db.raw(`'null'::json`) });
    } finally {
      await t.db.raw('ALTER TABLE sessions ENABLE TRIGGER sessions_set_user_id');
    }
    const home = await browser.get('/');
    assert.equal(home.status, 303);
    assert.match(home.headers.location ?? '', /^\/login/);
  });

  it('when the user is deactivated between two pages, then the next page already ends the session', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    assert.equal((await browser.get('/')).status, 200);
    await t.db('users').where({ id: user.id }).update({ is_active: false });
    const next = await browser.get('/');
    assert.equal(next.status, 303);
    assert.match(next.headers.location ?? '', /^\/login/);
    await t.db('users').where({ id: user.id }).update({ is_active: true });
    assert.equal((await browser.get('/')).status, 303, 'the session stays ended');
  });

  it('when all the user’s sessions are ended between two pages, then the next page is signed out', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    assert.equal((await browser.get('/')).status, 200);
    await t.db('users').where({ id: user.id }).increment('session_generation', 1);
    assert.equal((await browser.get('/')).status, 303);
  });

  it('when the user row is gone, then the next page is signed out, not an error', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    assert.equal((await browser.get('/')).status, 200);
    // The sessions' user_id has no foreign key to delete through; the row is just gone.
    await t.db.raw('ALTER TABLE users DISABLE TRIGGER ALL');
    try {
      await t.db('users').where({ id: user.id }).delete();
    } finally {
      await t.db.raw('ALTER TABLE users ENABLE TRIGGER ALL');
    }
    const next = await browser.get('/');
    assert.equal(next.status, 303);
    assert.match(next.headers.location ?? '', /^\/login/);
  });
});
