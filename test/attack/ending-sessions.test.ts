import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { sessionHandle } from '../../src/auth/sessions.ts';
import { createBrowser, csrfTokenIn, encodeForm, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

/**
 * #48: ending one session sticks while other requests on it are in flight. Before, a request
 * that had loaded the session before the delete saved it afterwards, and the store's save was an
 * upsert that wrote the row back: the "signed-out" cookie was signed in again.
 */
const IN_FLIGHT = 30;
const ROUNDS = 6;

function sidOf(cookie: string): string {
  // "name=s%3A<sid>.<signature>"
  return decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
}

async function signedIn(t: TestApp, email: string, password: string): Promise<Browser> {
  const browser = createBrowser(t.app);
  const response = await browser.submit('/login', '/login', { email, password });
  assert.equal(response.status, 303);
  return browser;
}

/** Requests on `cookie` that each save the session (the clock moved, so lastSeenAt is due). */
function sessionWriters(t: TestApp, cookie: string, token: string) {
  return Array.from({ length: IN_FLIGHT }, (_, i) => {
    if (i % 3 === 0)
      // Sets a flash message ("already ended"): a changed session, saved.
      return request(t.app)
        .post('/settings/sessions/end')
        .set('Cookie', cookie)
        .type('form')
        .send(encodeForm({ session: '0'.repeat(24), _csrf: token }));
    return request(t.app)
      .get(i % 3 === 1 ? '/settings' : '/')
      .set('Cookie', cookie);
  });
}

async function stillSignedIn(t: TestApp, cookie: string): Promise<boolean> {
  const response = await request(t.app).get('/settings').set('Cookie', cookie);
  return response.status === 200;
}

describe('#48 ending a session while requests are in flight', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  it('#48 when POST /logout races 30 requests on the same cookie, then in every round the session stays ended', async () => {
    const user = await makeUser(t.db);
    const revived: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const browser = await signedIn(t, user.email, user.password);
      const cookie = browser.sessionCookie()!;
      const token = csrfTokenIn((await browser.get('/settings')).text);
      t.clock.advance(61_000);
      const logout = request(t.app)
        .post('/logout')
        .set('Cookie', cookie)
        .type('form')
        .send(encodeForm({ _csrf: token }));
      const writers = sessionWriters(t, cookie, token);
      const [out] = await Promise.all([logout, ...writers]);
      assert.equal(out.status, 303);
      const row = await t
        .db('sessions')
        .where({ sid: sidOf(cookie) })
        .first();
      if (row || (await stillSignedIn(t, cookie))) revived.push(round);
    }
    assert.deepEqual(revived, [], `signed in again after logout in rounds ${revived.join(', ')}`);
  });

  it('#48 when one session is signed out from the sessions list while it is busy, then it stays ended', async () => {
    const user = await makeUser(t.db);
    const revived: number[] = [];
    const mine = await signedIn(t, user.email, user.password);
    for (let round = 0; round < ROUNDS; round++) {
      const other = await signedIn(t, user.email, user.password);
      const cookie = other.sessionCookie()!;
      const otherToken = csrfTokenIn((await other.get('/settings')).text);
      const token = csrfTokenIn((await mine.get('/settings')).text);
      t.clock.advance(61_000);
      const end = mine.agent
        .post('/settings/sessions/end')
        .type('form')
        .send(encodeForm({ session: sessionHandle(sidOf(cookie)), _csrf: token }));
      const [ended] = await Promise.all([end, ...sessionWriters(t, cookie, otherToken)]);
      assert.equal(ended.status, 303);
      const row = await t
        .db('sessions')
        .where({ sid: sidOf(cookie) })
        .first();
      if (row || (await stillSignedIn(t, cookie))) revived.push(round);
    }
    assert.deepEqual(revived, [], `the ended session came back in rounds ${revived.join(', ')}`);
  });
});
