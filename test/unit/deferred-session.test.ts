import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { deferSessionWithoutCookie } from '../../src/middleware/session/deferred.ts';

/**
 * The stand-in session of a GET without a session cookie, over a real express-session (its
 * memory store): what a request reads, writes and calls must come out as with express-session
 * alone, and a request that writes nothing must make no session at all.
 */
function appWithStore() {
  const store = new session.MemoryStore();
  const started = session({
    name: 'sid',
    secret: 'a test secret that is long enough',
    store,
    resave: false,
    saveUninitialized: false,
  });
  let sessionsMade = 0;
  const counting: express.RequestHandler = (req, res, next) =>
    started(req, res, (error?: unknown) => {
      if (req.session) sessionsMade++;
      next(error);
    });
  const app = express();
  app.use(deferSessionWithoutCookie(counting, 'sid'));
  app.get('/read', (req, res) => {
    res.json({
      note: req.session.note ?? null,
      keys: Object.keys(req.session),
      json: JSON.stringify({ ...req.session, cookie: undefined }),
      has: 'note' in req.session,
    });
  });
  app.get('/write', (req, res) => {
    req.session.note = 'kept';
    res.json({ keys: Object.keys(req.session).filter((key) => key !== 'cookie') });
  });
  app.get('/regenerate', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.note = 'after regenerate';
      res.json({ ok: true });
    });
  });
  app.post('/write', (req, res) => {
    req.session.note = 'posted';
    res.json({ ok: true });
  });
  return { app, store, made: () => sessionsMade };
}

const cookieOf = (response: request.Response) =>
  ((response.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map(
    (cookie) => cookie.split(';')[0]!,
  );

declare module 'express-session' {
  interface SessionData {
    note: string;
  }
}

describe('a GET without a session cookie (deferred session)', () => {
  it('when it only reads the session, then it reads an empty one and no session is made or stored', async () => {
    const { app, store, made } = appWithStore();
    const response = await request(app).get('/read');
    assert.deepEqual(response.body, { note: null, keys: [], json: '{}', has: false });
    assert.deepEqual(cookieOf(response), []);
    assert.equal(made(), 0);
    assert.equal(Object.keys((store as unknown as { sessions: object }).sessions).length, 0);
  });

  it('when it writes to the session, then the session starts there and the next request reads what it wrote', async () => {
    const { app, made } = appWithStore();
    const written = await request(app).get('/write');
    assert.deepEqual(written.body, { keys: ['note'] });
    const [cookie] = cookieOf(written);
    assert.match(cookie ?? '', /^sid=/);
    assert.equal(made(), 1);
    const read = await request(app).get('/read').set('Cookie', cookie!);
    assert.equal(read.body.note, 'kept');
  });

  it('when it calls a session method first (regenerate), then that runs on a real session and what follows is kept', async () => {
    const { app } = appWithStore();
    const regenerated = await request(app).get('/regenerate');
    assert.equal(regenerated.status, 200);
    const [cookie] = cookieOf(regenerated);
    assert.ok(cookie);
    const read = await request(app).get('/read').set('Cookie', cookie);
    assert.equal(read.body.note, 'after regenerate');
  });

  it('when the request is not a GET, or brings a session cookie, then express-session runs as before', async () => {
    const { app, made } = appWithStore();
    const posted = await request(app).post('/write');
    assert.equal(made(), 1);
    const [cookie] = cookieOf(posted);
    await request(app).get('/read').set('Cookie', 'sid=not-a-signed-id');
    assert.equal(made(), 2, 'a cookie, valid or not, goes to express-session');
    const read = await request(app).get('/read').set('Cookie', cookie!);
    assert.equal(read.body.note, 'posted');
  });
});
