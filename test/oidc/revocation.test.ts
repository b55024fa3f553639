/**
 * What an app was given ends with the person's sign-in (SECURITY.md #56): after Keygate's sign
 * out, sign out everywhere, a password change, deactivation, a group removal or the app's
 * removal, the app's userinfo call and refresh are refused at once. Audited once per grant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { addUserToGroup, removeUserFromGroup } from '../../src/auth/groups.ts';
import { removeProtectedApp } from '../../src/auth/protected-apps.ts';
import { setUserActive } from '../../src/auth/user-admin.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  addOidcApp,
  createOidcTestApp,
  oauthError,
  relyingParty,
  signInThroughApp,
  type OidcBrowser,
  type OidcTestApp,
} from '../helpers/oidc.ts';

let t: OidcTestApp;
let rp: client.Configuration;
before(async () => {
  t = await createOidcTestApp();
  const { clientId, secret } = await addOidcApp(t, { name: 'Notes' });
  rp = await relyingParty(t, clientId, secret);
});
after(() => t.close());

async function signedInToApp(app = rp) {
  const user = await makeUser(t.db);
  const { tokens, browser } = await signInThroughApp(t, app, user);
  await client.fetchUserInfo(app, tokens.access_token, user.id);
  return { user, tokens, browser };
}

async function assertRevoked(
  app: client.Configuration,
  tokens: { access_token: string; refresh_token?: string },
  sub: string,
) {
  await assert.rejects(client.fetchUserInfo(app, tokens.access_token, sub), 'userinfo refused');
  await assert.rejects(
    client.refreshTokenGrant(app, tokens.refresh_token!),
    oauthError('invalid_grant'),
    'refresh refused',
  );
}

async function post(browser: OidcBrowser, page: string, action: string, fields = {}) {
  const form = await browser.agent.get(page);
  assert.equal(form.status, 200, page);
  return browser.submit(form, action, fields);
}

const actor = () => ({ actorId: null, origin: null, now: new Date(t.clock.now()) });

describe('OpenID provider: revocation', () => {
  it('#56 when the person signs out of Keygate, then the app’s tokens are refused', async () => {
    const { user, tokens, browser } = await signedInToApp();
    await post(browser, '/logout', '/logout');
    await assertRevoked(rp, tokens, user.id);
  });

  it('#56 when a later Keygate session reuses the app’s grant and signs out, then the grant ends too', async () => {
    const { user, tokens, browser } = await signedInToApp();
    // The first Keygate session ends by itself (as at a timeout): nothing is revoked.
    await t.db('sessions').where({ user_id: user.id }).delete();
    await client.fetchUserInfo(rp, tokens.access_token, user.id);
    await signInThroughApp(t, rp, user, { browser });
    await post(browser, '/logout', '/logout');
    await assertRevoked(rp, tokens, user.id);
  });

  it('#56 when another session signs out everywhere else, then the app’s tokens are refused', async () => {
    const { user, tokens } = await signedInToApp();
    const { browser: other } = await signInThroughApp(t, rp, user);
    await post(other, '/settings', '/settings/sessions/end-others');
    await assertRevoked(rp, tokens, user.id);
  });

  it('#56 when the password is changed, then the app’s tokens are refused', async () => {
    const { user, tokens, browser } = await signedInToApp();
    await post(browser, '/settings/password', '/settings/password', {
      currentPassword: user.password,
      newPassword: 'another long password 2',
      confirmPassword: 'another long password 2',
    });
    await assertRevoked(rp, tokens, user.id);
  });

  it('#56 #44 when the person is deactivated, then userinfo and refresh fail', async () => {
    const { user, tokens } = await signedInToApp();
    const result = await setUserActive(t.db, {
      ...actor(),
      origin: { ip: '', userAgent: null },
      targetId: user.id,
      active: false,
    });
    assert.ok(result.ok);
    await assertRevoked(rp, tokens, user.id);
  });

  it('#56 when the person leaves the group an app is limited to, then that app’s tokens are refused and others go on', async () => {
    const { clientId, secret } = await addOidcApp(t, { name: 'Ops', allowedGroups: ['ops'] });
    const ops = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    await addUserToGroup(t.db, { ...actor(), userId: user.id, group: 'ops' });
    const { tokens, browser } = await signInThroughApp(t, ops, user);
    const notes = await signInThroughApp(t, rp, { ...user, password: '' }, { browser });
    await removeUserFromGroup(t.db, { ...actor(), userId: user.id, group: 'ops' });
    await assertRevoked(ops, tokens, user.id);
    await client.fetchUserInfo(rp, notes.tokens.access_token, user.id);
  });

  it('when an app is removed, then everything issued to it is refused', async () => {
    const { app, clientId, secret } = await addOidcApp(t, { name: 'Gone' });
    const gone = await relyingParty(t, clientId, secret);
    const { user, tokens } = await signedInToApp(gone);
    assert.ok(await removeProtectedApp(t.db, app.id, actor()));
    await assert.rejects(client.fetchUserInfo(gone, tokens.access_token, user.id));
    const rows = await t
      .db('oidc_payloads')
      .where({ client_id: clientId })
      .count<{ n: string }[]>('* as n');
    assert.equal(Number(rows[0]!.n), 0, 'nothing of the app is left');
  });

  it('when tokens are issued, refreshed and revoked, then each is one audit event per grant', async () => {
    const { user, tokens, browser } = await signedInToApp();
    await client.refreshTokenGrant(rp, tokens.refresh_token!);
    await post(browser, '/logout', '/logout');
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id })
      .orderBy('id')
      .pluck('event');
    assert.deepEqual(
      events.filter((e: string) => e.startsWith('oidc_')),
      ['oidc_tokens_issued', 'oidc_tokens_refreshed', 'oidc_grant_revoked'],
    );
  });
});
