import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Request } from 'express';
import type session from 'express-session';
import pg from 'pg';
import { createLogger } from '../../src/logger.ts';
import { createPgSessionStore } from '../../src/middleware/session/store.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * The session store's id rotation, against the real table: the old row goes in the statement
 * that stores the new one, or when the response ends if the new one is never stored.
 */
describe('session store: id rotation', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let store: ReturnType<typeof createPgSessionStore>;
  let next = 0;

  before(async () => {
    t = await createTestApp();
    pool = new pg.Pool({ connectionString: t.database.url, max: 2 });
    store = createPgSessionStore({
      pool,
      tableName: 'sessions',
      logger: createLogger('silent'),
    });
    // What express-session puts on the store it is given: a new id and an empty session.
    (store as unknown as { generate(req: Request): void }).generate = (req) => {
      req.sessionID = `rotated-${++next}`;
    };
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  const data = (): session.SessionData =>
    ({
      cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) },
    }) as session.SessionData;

  const call = (fn: (done: (error?: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));

  /** A session row as an earlier request stored it. */
  async function storedRow(sid: string): Promise<void> {
    await t.db('sessions').insert({ sid, sess: data(), expire: new Date(Date.now() + 60_000) });
  }

  async function rowExists(sid: string): Promise<boolean> {
    return Boolean(await t.db('sessions').where({ sid }).first());
  }

  /** A request with the session `sid`, and its response (only its 'close' event matters). */
  function requestFor(sid: string) {
    const res = new EventEmitter();
    const req = { sessionID: sid, res } as unknown as Request;
    return { req, res };
  }

  it('#9 when a session id is rotated and the new session saved, then the old row is gone and the new one stored', async () => {
    await storedRow('old-a');
    const { req, res } = requestFor('old-a');
    await call((done) => store.regenerate(req, done));
    assert.ok(await rowExists('old-a'), 'nothing is written until the new session is saved');
    const fresh = req.sessionID;
    assert.notEqual(fresh, 'old-a');
    await call((done) => store.set(fresh, data(), done));
    assert.equal(await rowExists('old-a'), false, 'the old row went with the save');
    assert.ok(await rowExists(fresh));
    res.emit('close');
  });

  it('#9 when a session id is rotated but the new session is never saved, then the old row is deleted when the response ends', async () => {
    await storedRow('old-b');
    const { req, res } = requestFor('old-b');
    await call((done) => store.regenerate(req, done));
    res.emit('close');
    for (let i = 0; i < 50 && (await rowExists('old-b')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await rowExists('old-b'), false);
  });

  it('#41 when a session is rotated twice in one request and then destroyed unsaved, then no row of any of its ids is left', async () => {
    await storedRow('old-c');
    const { req } = requestFor('old-c');
    await call((done) => store.regenerate(req, done));
    const middle = req.sessionID;
    await call((done) => store.regenerate(req, done));
    // Signing out right away: the destroy must take the ids it replaced with it.
    await call((done) => store.destroy(req.sessionID, done));
    for (const sid of ['old-c', middle, req.sessionID]) {
      assert.equal(await rowExists(sid), false, `${sid} is gone`);
    }
  });

  it('#48 when a session row is deleted while a request holds the session, then that request saving it does not bring it back', async () => {
    await storedRow('ended-a');
    await t.db('sessions').where({ sid: 'ended-a' }).delete(); // sign out, from another request
    await call((done) => store.set('ended-a', data(), done));
    assert.equal(await rowExists('ended-a'), false);
  });

  it('#48 when a session row is deleted while a request rotates its id, then the new id is not stored either', async () => {
    await storedRow('ended-b');
    const { req, res } = requestFor('ended-b');
    await call((done) => store.regenerate(req, done));
    await t.db('sessions').where({ sid: 'ended-b' }).delete();
    await call((done) => store.set(req.sessionID, data(), done));
    assert.equal(await rowExists(req.sessionID), false, 'the ended session did not come back');
    res.emit('close');
  });

  it('#48 when a brand-new session is saved, then it is stored, and once deleted a later save does not recreate it', async () => {
    const { req, res } = requestFor('');
    const sid = store.generateId(req);
    await call((done) => store.set(sid, data(), done));
    assert.ok(await rowExists(sid));
    await t.db('sessions').where({ sid }).delete();
    await call((done) => store.set(sid, data(), done));
    assert.equal(await rowExists(sid), false);
    res.emit('close');
  });

  it('#48 when a brand-new session that was never stored is rotated, then the rotated one is stored', async () => {
    const { req, res } = requestFor('');
    req.sessionID = store.generateId(req);
    await call((done) => store.regenerate(req, done));
    await call((done) => store.set(req.sessionID, data(), done));
    assert.ok(await rowExists(req.sessionID));
    res.emit('close');
  });
});
