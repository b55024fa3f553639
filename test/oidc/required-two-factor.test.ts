/**
 * REQUIRE_2FA enforced (no grace period left): a person without 2FA who signs in through an app
 * is sent to turn it on, and from there back to the app's sign-in request, not to settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import {
  addOidcApp,
  authorizationRequest,
  createOidcTestApp,
  oidcBrowser,
  relyingParty,
  signInOnPage,
  type OidcTestApp,
} from '../helpers/oidc.ts';

let t: OidcTestApp;
before(async () => {
  t = await createOidcTestApp({ REQUIRE_2FA: 'all', REQUIRE_2FA_GRACE: '0s' });
});
after(() => t.close());

describe('OpenID provider under an enforced 2FA policy', () => {
  it('#57 when a person without 2FA signs in through an app, then enrolment is asked for with the way back to the app', async () => {
    const { clientId, secret } = await addOidcApp(t, { name: 'Policy app' });
    const rp = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    const browser = oidcBrowser(t);
    const first = await browser.go((await authorizationRequest(rp)).url);
    assert.ok(first.page);
    const end = await signInOnPage(browser, first.page, user.email, user.password);
    assert.equal(end.left, null, 'no code for a password alone');
    const at = new URL(end.at, t.baseUrl);
    assert.equal(at.pathname, '/settings/2fa/setup');
    const rd = new URL(at.searchParams.get('rd') ?? '', t.baseUrl);
    assert.equal(rd.origin, t.baseUrl);
    assert.match(rd.pathname, /^\/interaction\/[\w-]+$/, `rd is ${rd.href}`);
  });
});
