/**
 * Keygate's own pages in an app's sign-in: the code step (amr/acr), "confirm it's you" for
 * prompt=login and max_age, the consent page of an app that is not first-party, and signing out
 * from the app (RP-initiated logout), with the choice to sign out of Keygate as well.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { ROOT } from '../../src/dirs.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  RP_CALLBACK,
  RP_LOGGED_OUT,
  addOidcApp,
  authorizationRequest,
  createOidcTestApp,
  nextFieldOf,
  oauthError,
  oidcBrowser,
  relyingParty,
  signInOnPage,
  signInThroughApp,
  verifyIdToken,
  type OidcTestApp,
} from '../helpers/oidc.ts';
import { codeAt, makeUserWithTwoFactor } from '../helpers/two-factor.ts';

let t: OidcTestApp;
let rp: client.Configuration;
before(async () => {
  t = await createOidcTestApp();
  const { clientId, secret } = await addOidcApp(t, { name: 'Board' });
  rp = await relyingParty(t, clientId, secret);
});
after(() => t.close());

describe('OpenID provider: Keygate’s pages', () => {
  it('#57 when a 2FA person signs in with password and code, then the ID token says pwd+otp and 2fa', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const { tokens } = await signInThroughApp(
      t,
      rp,
      { ...user, code: () => codeAt(t, secret) },
      { extra: { acr_values: 'urn:keygate:2fa' } },
    );
    const claims = tokens.claims()!;
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:keygate:2fa');
    assert.equal(typeof claims.auth_time, 'number');
    assert.ok((await verifyIdToken(t, tokens.id_token!)).valid);
  });

  it('when the app sends prompt=login, then the signed-in person confirms it is them first', async () => {
    const user = await makeUser(t.db);
    const { browser, tokens: before } = await signInThroughApp(t, rp, user);
    t.clock.advance(5000);
    const auth = await authorizationRequest(rp, { prompt: 'login' });
    const step = await browser.go(auth.url);
    assert.match(step.at, /^\/confirm\?next=/, 'the confirm page');
    const done = await browser.submit(step.page!, '/confirm', {
      password: user.password,
      next: nextFieldOf(step.page!),
    });
    assert.ok(done.left?.startsWith(RP_CALLBACK), 'back at the app');
    const tokens = await client.authorizationCodeGrant(rp, new URL(done.left!), {
      pkceCodeVerifier: auth.verifier,
      expectedState: auth.state,
      expectedNonce: auth.nonce,
    });
    assert.ok(tokens.claims()!.auth_time! > before.claims()!.auth_time!, 'a newer auth_time');
  });

  it('when max_age has passed since the sign-in, then the person confirms it is them', async () => {
    const user = await makeUser(t.db);
    const { browser } = await signInThroughApp(t, rp, user);
    t.clock.advance(61_000);
    const step = await browser.go((await authorizationRequest(rp, { max_age: '60' })).url);
    assert.match(step.at, /^\/confirm\?next=/);
  });

  it('when an app is not first-party, then a consent page says what it will learn; deny sends access_denied', async () => {
    const { clientId, secret } = await addOidcApp(t, {
      name: 'Outside',
      oidc: { firstParty: false },
    });
    const outside = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    const browser = oidcBrowser(t);
    const first = await browser.go((await authorizationRequest(outside)).url);
    const consent = await signInOnPage(browser, first.page!, user.email, user.password);
    assert.match(consent.page!.text, /Sign in to Outside\?/);
    assert.match(consent.page!.text, /Your email address/);
    assert.match(consent.page!.text, /never your email address/);
    const denied = await browser.submit(
      consent.page!,
      consent.at.replace(/\?.*/, '') + '/consent',
      {
        decision: 'deny',
      },
    );
    assert.ok(
      denied.left,
      `${denied.at} ${denied.page?.status} ${denied.page?.text.slice(0, 600)}`,
    );
    assert.equal(new URL(denied.left).searchParams.get('error'), 'access_denied');

    const auth = await authorizationRequest(outside);
    const again = await browser.go(auth.url);
    const allowed = await browser.submit(again.page!, again.at + '/consent', { decision: 'allow' });
    assert.ok(allowed.left?.startsWith(RP_CALLBACK));
    assert.ok(new URL(allowed.left!).searchParams.get('code'));
  });

  it('when the person signs out from the app and of Keygate too, then both end and the app’s page follows', async () => {
    const user = await makeUser(t.db);
    const { browser, tokens } = await signInThroughApp(t, rp, user);
    const url = client.buildEndSessionUrl(rp, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: RP_LOGGED_OUT,
      state: 'bye',
    });
    const question = await browser.go(url.href);
    assert.match(question.page!.text, /Sign out of Board\?/);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(question.page!.text)![1]!;
    const answer = await browser.agent
      .post('/oidc/session/end/confirm')
      .type('form')
      .send({ xsrf, logout: 'yes', keygate: 'yes' });
    assert.equal(answer.status, 200, 'a same-origin page, not a redirect after the form');
    const refresh = /content="0;url=([^"]+)"/.exec(answer.text)![1]!.replace(/&amp;/g, '&');
    assert.equal(refresh, `${RP_LOGGED_OUT}?state=bye`);
    assert.match(String(answer.headers['content-security-policy']), /form-action 'self'/);
    const settings = await browser.agent.get('/settings');
    assert.equal(settings.status, 303, 'signed out of Keygate');
    await assert.rejects(
      client.refreshTokenGrant(rp, tokens.refresh_token!),
      oauthError('invalid_grant'),
    );
  });

  it('#54 when every open-redirect line is a redirect_uri or post_logout_redirect_uri, then the browser never goes there', async () => {
    const corpus = fs
      .readFileSync(path.join(ROOT, 'test', 'fixtures', 'open-redirects.txt'), 'utf8')
      .split('\n');
    const browser = oidcBrowser(t);
    const left: string[] = [];
    for (let i = 0; i < corpus.length; i += 20) {
      await Promise.all(
        corpus.slice(i, i + 20).flatMap((line) => [
          authorizationRequest(rp, { redirect_uri: line }).then(async (auth) => {
            const step = await browser.go(auth.url);
            if (step.left) left.push(step.left);
          }),
          browser
            .go(client.buildEndSessionUrl(rp, { post_logout_redirect_uri: line }).href)
            .then((step) => {
              if (step.left) left.push(step.left);
            }),
        ]),
      );
    }
    assert.deepEqual(left, []);
  });
});
