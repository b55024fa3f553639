import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pruneOldRecords } from '../../src/auth/retention.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp({ REQUIRE_2FA: 'off' });
});
after(() => t.close());

const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;

describe('revocation holds', () => {
  it('#36 when a session row ended by "sign out everywhere else" is written back by a request in flight, then it stays dead', async () => {
    const user = await makeUser(t.db);
    const other = await signInWithPassword(t, user.email, user.password);
    const row = await t
      .db('sessions')
      .where({ sid: sidOf(other.sessionCookie()!) })
      .first();
    const browser = await signInWithPassword(t, user.email, user.password);
    await browser.submit('/settings', '/settings/sessions/end-others', {});
    // What connect-pg-simple's upsert does when that other tab's request finishes late.
    await t
      .db('sessions')
      .insert({ sid: row.sid, sess: JSON.stringify(row.sess), expire: row.expire });
    assert.equal((await other.get('/')).status, 303, 'the resurrected row does not sign anyone in');
    assert.equal((await browser.get('/')).status, 200, 'the session that asked stays signed in');
  });

  it('#39 when an admin resets 2FA while the user completes a code at the same moment, then no session survives the reset', async () => {
    const admin = await makeUser(t.db, { role: 'admin' });
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    for (let round = 0; round < 5; round++) {
      const { user, secret } = await makeUserWithTwoFactor(t);
      const pending = await startSignIn(t, user.email, user.password);
      const codePage = await pending.get('/login/2fa');
      const confirm = await adminBrowser.get(`/admin/users/${user.id}/reset-2fa`);
      const code = await codeAt(t, secret);
      const [signIn, reset] = await Promise.all([
        pending.post('/login/2fa', { code, _csrf: csrfTokenIn(codePage.text) }),
        adminBrowser.post(`/admin/users/${user.id}/reset-2fa`, {
          _csrf: csrfTokenIn(confirm.text),
        }),
      ]);
      assert.equal(reset.status, 303);
      assert.ok(
        [303, 401].includes(signIn.status) || signIn.headers.location === '/login',
        `sign-in answered ${signIn.status}`,
      );
      // Whatever the order, the reset wins: no 2FA left, and no session from before it works.
      const row = await t.db('users').where({ id: user.id }).first();
      assert.equal(row.totp_secret_encrypted, null);
      assert.equal((await t.db('recovery_codes').where({ user_id: user.id })).length, 0);
      assert.equal(
        (await pending.get('/')).status,
        303,
        `round ${round}: the racing sign-in is signed out`,
      );
    }
  });

  it('#44 when a user is deactivated while their request is in flight, then their session is dead afterwards', async () => {
    const admin = await makeUser(t.db, { role: 'admin' });
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const confirm = await adminBrowser.get(`/admin/users/${user.id}/deactivate`);
    const [, deactivated] = await Promise.all([
      browser.get('/settings'),
      adminBrowser.post(`/admin/users/${user.id}/deactivate`, { _csrf: csrfTokenIn(confirm.text) }),
    ]);
    assert.equal(deactivated.status, 303);
    assert.equal((await browser.get('/')).status, 303);
    assert.equal((await t.db('sessions').where({ user_id: user.id })).length, 0);
  });
});

describe('retention', () => {
  it('when the pruning job runs, then expired sessions and old attempts and events go, and recent ones stay', async () => {
    const user = await makeUser(t.db);
    const now = new Date(t.clock.now());
    const day = 86_400_000;
    await t.db('auth_attempts').insert([
      {
        kind: 'password',
        user_id: user.id,
        ip: '192.0.2.1',
        succeeded: false,
        created_at: new Date(now.getTime() - 100 * day),
      },
      {
        kind: 'password',
        user_id: user.id,
        ip: '192.0.2.1',
        succeeded: false,
        created_at: new Date(now.getTime() - 10 * day),
      },
    ]);
    await t.db('audit_events').insert([
      { event: 'sign_in', user_id: user.id, created_at: new Date(now.getTime() - 400 * day) },
      { event: 'sign_in', user_id: user.id, created_at: new Date(now.getTime() - 100 * day) },
    ]);
    await t
      .db('sessions')
      .insert({ sid: 'expired-session', sess: '{}', expire: new Date(now.getTime() - 1000) });
    const report = await pruneOldRecords(t.db, now, { attemptsMs: 90 * day, auditMs: 365 * day });
    assert.ok(
      report.sessions >= 1 && report.attempts >= 1 && report.audit >= 1,
      JSON.stringify(report),
    );
    assert.equal((await t.db('auth_attempts').where({ user_id: user.id })).length, 1);
    assert.equal((await t.db('audit_events').where({ user_id: user.id })).length, 1);
    assert.equal(await t.db('sessions').where({ sid: 'expired-session' }).first(), undefined);
    const live = createBrowser(t.app);
    await live.submit('/login', '/login', { email: user.email, password: user.password });
    await pruneOldRecords(t.db, now, { attemptsMs: 90 * day, auditMs: 365 * day });
    assert.equal((await live.get('/')).status, 200, 'a live session survives pruning');
  });
});
