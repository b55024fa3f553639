/**
 * Keygate as an OpenID Provider, seen by a real relying party (openid-client) over HTTP: the
 * code flow with PKCE through Keygate's own pages, ID token, userinfo, refresh with rotation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { makeUser } from '../helpers/factories.ts';
import {
  RP_CALLBACK,
  addOidcApp,
  authorizationRequest,
  createOidcTestApp,
  oidcBrowser,
  relyingParty,
  signInOnPage,
  verifyIdToken,
  type OidcTestApp,
} from '../helpers/oidc.ts';

let t: OidcTestApp;
before(async () => {
  t = await createOidcTestApp();
});
after(() => t.close());

describe('OpenID provider: code flow', () => {
  it('when discovery is read, then it names the issuer and only the code flow with S256', async () => {
    const answer = await fetch(`${t.issuer}/.well-known/openid-configuration`);
    assert.equal(answer.status, 200);
    const meta = (await answer.json()) as Record<string, unknown>;
    assert.equal(meta.issuer, t.issuer);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.equal(meta.registration_endpoint, undefined);
    assert.equal(meta.device_authorization_endpoint, undefined);
    assert.deepEqual(meta.acr_values_supported, ['urn:keygate:1fa', 'urn:keygate:2fa']);
  });

  it('when a person signs in with a password through an app, then the app gets tokens with their claims', async () => {
    const { clientId, secret } = await addOidcApp(t, { name: 'Wiki' });
    const rp = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    const browser = oidcBrowser(t);
    const auth = await authorizationRequest(rp);

    const first = await browser.go(auth.url);
    assert.ok(first.page, 'the sign-in page');
    assert.match(first.page.text, /name="password"/);
    const done = await signInOnPage(browser, first.page, user.email, user.password);
    assert.ok(
      done.left?.startsWith(`${RP_CALLBACK}?`),
      `back at the app: ${done.page?.text.slice(0, 300)}`,
    );

    const tokens = await client.authorizationCodeGrant(rp, new URL(done.left!), {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    });
    const claims = tokens.claims()!;
    assert.equal(claims.sub, user.id);
    assert.equal(claims.iss, t.issuer);
    assert.equal(claims.aud, clientId);
    assert.equal(claims.nonce, auth.nonce);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:keygate:1fa');
    const verified = await verifyIdToken(t, tokens.id_token!);
    assert.ok(verified.valid, 'the signature verifies with the JWKS');

    const info = await client.fetchUserInfo(rp, tokens.access_token, user.id);
    assert.equal(info.email, user.email);
    assert.deepEqual(info.groups, ['user']);

    assert.ok(tokens.refresh_token, 'a refresh token');
    const renewed = await client.refreshTokenGrant(rp, tokens.refresh_token);
    assert.ok(renewed.refresh_token && renewed.refresh_token !== tokens.refresh_token, 'rotated');
    const invalidGrant = (error: { error?: string }) => error.error === 'invalid_grant';
    await assert.rejects(client.refreshTokenGrant(rp, tokens.refresh_token), invalidGrant);
    // A reused refresh token is a stolen one: the whole grant ends, the new token with it.
    await assert.rejects(client.refreshTokenGrant(rp, renewed.refresh_token), invalidGrant);
  });
});
