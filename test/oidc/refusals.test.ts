/**
 * What the provider refuses (SECURITY.md #57, #58): an unregistered redirect_uri, a public client
 * without PKCE, a code used twice, a wrong client secret; and who Keygate will not sign in to an
 * app: outside its groups, "nobody", or without the second factor an app or acr_values demands.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { addUserToGroup } from '../../src/auth/groups.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  RP_CALLBACK,
  addOidcApp,
  authorizationRequest,
  createOidcTestApp,
  oauthError,
  oidcBrowser,
  relyingParty,
  signInOnPage,
  signInThroughApp,
  type OidcTestApp,
} from '../helpers/oidc.ts';

let t: OidcTestApp;
before(async () => {
  t = await createOidcTestApp();
});
after(() => t.close());

async function confidentialApp(input: Parameters<typeof addOidcApp>[1] = { name: 'App' }) {
  const { clientId, secret } = await addOidcApp(t, input);
  return { clientId, secret, rp: await relyingParty(t, clientId, secret) };
}

/** Signs a person in on Keygate's page for an app's request; returns where that ended. */
async function attempt(rp: client.Configuration, extra: Record<string, string> = {}) {
  const user = await makeUser(t.db);
  const browser = oidcBrowser(t);
  const auth = await authorizationRequest(rp, extra);
  const first = await browser.go(auth.url);
  assert.ok(first.page, 'a page of Keygate');
  const end = /name="password"/.test(first.page.text)
    ? await signInOnPage(browser, first.page, user.email, user.password)
    : first;
  return { user, browser, end };
}

describe('OpenID provider: refusals', () => {
  it('#58 when the redirect_uri is not registered exactly, then Keygate shows an error and never goes there', async () => {
    const { rp } = await confidentialApp({ name: 'Exact' });
    for (const uri of [`${RP_CALLBACK}/`, `${RP_CALLBACK}?x=1`, 'https://evil.example/callback']) {
      const auth = await authorizationRequest(rp, { redirect_uri: uri });
      const { page, left } = await oidcBrowser(t).go(auth.url);
      assert.equal(left, null, `${uri}: the browser stays at Keygate`);
      assert.equal(page!.status, 400);
      assert.match(page!.text, /cannot be answered/);
      assert.match(String(page!.headers['content-security-policy']), /script-src 'none'/);
    }
  });

  it('#58 when a public client sends no PKCE, then the request is refused', async () => {
    const { clientId } = await addOidcApp(t, { name: 'Public', oidc: { isPublic: true } });
    const rp = await relyingParty(t, clientId, null);
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: RP_CALLBACK,
      scope: 'openid',
      state: 'abc',
    });
    const { left } = await oidcBrowser(t).go(url.href);
    assert.ok(left?.startsWith(RP_CALLBACK), 'the error goes back to the registered callback');
    const params = new URL(left!).searchParams;
    assert.equal(params.get('error'), 'invalid_request');
    assert.match(params.get('error_description') ?? '', /PKCE/);
    assert.equal(params.get('code'), null);
  });

  it('#58 when a code is used twice, then the second exchange fails and what the first got is revoked', async () => {
    const { rp } = await confidentialApp({ name: 'Twice' });
    const user = await makeUser(t.db);
    const browser = oidcBrowser(t);
    const auth = await authorizationRequest(rp);
    const first = await browser.go(auth.url);
    const end = await signInOnPage(browser, first.page!, user.email, user.password);
    const checks = {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    };
    const tokens = await client.authorizationCodeGrant(rp, new URL(end.left!), checks);
    await assert.rejects(
      client.authorizationCodeGrant(rp, new URL(end.left!), checks),
      oauthError('invalid_grant'),
    );
    await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, user.id));
    await assert.rejects(
      client.refreshTokenGrant(rp, tokens.refresh_token!),
      oauthError('invalid_grant'),
    );
  });

  it('#58 when the same code is exchanged 10 times at once, then exactly one exchange succeeds', async () => {
    const { rp } = await confidentialApp({ name: 'Race' });
    const user = await makeUser(t.db);
    const browser = oidcBrowser(t);
    const auth = await authorizationRequest(rp);
    const first = await browser.go(auth.url);
    const end = await signInOnPage(browser, first.page!, user.email, user.password);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        client.authorizationCodeGrant(rp, new URL(end.left!), {
          pkceCodeVerifier: auth.verifier,
          expectedState: auth.state,
          expectedNonce: auth.nonce,
        }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('#58 when the client secret is wrong, by basic or post, then the token endpoint refuses it', async () => {
    const { clientId, secret } = await confidentialApp({ name: 'Secret' });
    const user = await makeUser(t.db);
    for (const auth of ['basic', 'post'] as const) {
      const wrong = await relyingParty(t, clientId, 'not-the-secret', auth);
      const browser = oidcBrowser(t);
      const request = await authorizationRequest(wrong);
      const first = await browser.go(request.url);
      const end = await signInOnPage(browser, first.page!, user.email, user.password);
      await assert.rejects(
        client.authorizationCodeGrant(wrong, new URL(end.left!), {
          pkceCodeVerifier: request.verifier,
          expectedState: request.state,
          expectedNonce: request.nonce,
        }),
        oauthError('invalid_client'),
      );
    }
    // The right secret, sent in the body (client_secret_post), is accepted.
    const viaPost = await relyingParty(t, clientId, secret, 'post');
    const { tokens } = await signInThroughApp(t, viaPost, user);
    assert.equal(tokens.claims()!.sub, user.id);
  });

  it('when a person outside an app’s groups signs in to it, then they get Keygate’s 403 page and no code', async () => {
    const { rp } = await confidentialApp({ name: 'Ops only', allowedGroups: ['ops'] });
    const { end, user, browser } = await attempt(rp);
    assert.equal(end.left, null);
    assert.equal(end.page!.status, 403);
    assert.match(end.page!.text, /You may not open Ops only/);
    await addUserToGroup(t.db, {
      userId: user.id,
      group: 'ops',
      actorId: null,
      origin: null,
      now: new Date(),
    });
    const again = await signInThroughApp(t, rp, { ...user, password: '' }, { browser });
    assert.deepEqual(again.tokens.claims()!.sub, user.id, 'in the group, they get in');
  });

  it('when an app lets nobody in, then a signed-in person gets the 403 page', async () => {
    const { rp } = await confidentialApp({ name: 'Closed', policy: 'nobody' });
    const { end } = await attempt(rp);
    assert.equal(end.page!.status, 403);
  });

  it('#57 when acr_values asks for two factors from a person without 2FA, then they are sent to turn it on', async () => {
    const { rp } = await confidentialApp({ name: 'Strict request' });
    const { end } = await attempt(rp, { acr_values: 'urn:keygate:2fa' });
    assert.equal(end.left, null, 'no code for a password alone');
    assert.match(end.at, /^\/settings\/2fa\/setup/);
  });

  it('#57 when an app demands two factors, then a password alone never gets a code', async () => {
    const { rp } = await confidentialApp({ name: 'Strict app', policy: 'two-factor' });
    const { end } = await attempt(rp);
    assert.equal(end.left, null);
    assert.match(end.at, /^\/settings\/2fa\/setup/);
  });
});
