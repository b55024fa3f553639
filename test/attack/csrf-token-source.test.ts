import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser, csrfTokenIn, encodeForm, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

/**
 * #52: the anti-forgery token is read from the form body's `_csrf` field only. csurf's default
 * also took it from the query string (where it lands in logs, history and Referer headers) and
 * from the CSRF-Token, X-CSRF-Token, XSRF-Token and X-XSRF-Token headers.
 */
describe('#52 the CSRF token comes from the form body only', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
  });
  after(() => t.close());

  /** A signed-in browser and a valid token of its session (signing out uses both up). */
  async function signedIn(): Promise<{ browser: Browser; token: string }> {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/login', '/login', { email: user.email, password: user.password });
    return { browser, token: csrfTokenIn((await browser.get('/logout')).text) };
  }

  it('#52 when the token is in the query string, then the POST is refused', async () => {
    const { browser, token } = await signedIn();
    const response = await browser.agent
      .post(`/logout?_csrf=${encodeURIComponent(token)}`)
      .type('form')
      .send('');
    assert.equal(response.status, 403);
  });

  for (const header of ['CSRF-Token', 'X-CSRF-Token', 'XSRF-Token', 'X-XSRF-Token']) {
    it(`#52 when the token is in the ${header} header, then the POST is refused`, async () => {
      const { browser, token } = await signedIn();
      const response = await browser.agent.post('/logout').set(header, token).type('form').send('');
      assert.equal(response.status, 403);
    });
  }

  it('#52 when the token is in the form body, then the POST is accepted', async () => {
    const { browser, token } = await signedIn();
    const response = await browser.agent
      .post('/logout')
      .type('form')
      .send(encodeForm({ _csrf: token }));
    assert.equal(response.status, 303);
  });
});
