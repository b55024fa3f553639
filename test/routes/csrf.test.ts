import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser, csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

let t: TestApp;
let signedIn: Browser;
let other: Browser;
let otherToken: string;

/** Every state-changing route, with a body that would otherwise be acceptable. */
const POST_ROUTES: [string, Record<string, string>][] = [
  ['/login', { email: 'someone@example.com', password: 'a long enough password' }],
  ['/logout', {}],
  [
    '/setup',
    {
      token: 'x',
      email: 'a@example.com',
      password: 'a long enough password',
      confirmPassword: 'a long enough password',
    },
  ],
];

before(async () => {
  t = await createTestApp();
  const user = await makeUser(t.db);
  signedIn = createBrowser(t.app);
  await signedIn.submit('/login', '/login', { email: user.email, password: user.password });
  const otherUser = await makeUser(t.db);
  other = createBrowser(t.app);
  await other.submit('/login', '/login', { email: otherUser.email, password: otherUser.password });
  otherToken = csrfTokenIn((await other.get('/logout')).text);
});
after(() => t.close());

describe('#37 every POST needs a valid anti-forgery token', () => {
  for (const [route, fields] of POST_ROUTES) {
    it(`when ${route} is posted without a token, then the 403 "form expired" page answers`, async () => {
      const response = await signedIn.post(route, fields);
      assert.equal(response.status, 403);
      assert.match(response.text, /This form has expired/);
      assert.match(response.text, new RegExp(`href="${route}"`), 'links back to the form');
      assert.equal(response.headers['cache-control'], 'no-store');
    });

    it(`when ${route} is posted with another session's token, then it is refused`, async () => {
      const response = await signedIn.post(route, { ...fields, _csrf: otherToken });
      assert.equal(response.status, 403);
      assert.match(response.text, /This form has expired/);
    });

    it(`when ${route} is posted with two tokens, then it is refused`, async () => {
      const response = await signedIn.post(route, {
        ...fields,
        _csrf: [otherToken, otherToken],
      } as never);
      assert.equal(response.status, 403);
    });

    it(`when ${route} is posted cross-site, then it is refused even with a valid token`, async () => {
      const token = csrfTokenIn((await signedIn.get('/logout')).text);
      const byOrigin = await signedIn.agent
        .post(route)
        .set('Origin', 'https://evil.example')
        .type('form')
        .send({ ...fields, _csrf: token });
      assert.equal(byOrigin.status, 403);
      assert.match(byOrigin.text, /came from another website/);
      const byFetchSite = await signedIn.agent
        .post(route)
        .set('Sec-Fetch-Site', 'cross-site')
        .type('form')
        .send({ ...fields, _csrf: token });
      assert.equal(byFetchSite.status, 403);
      const nullOrigin = await signedIn.agent
        .post(route)
        .set('Origin', 'null')
        .type('form')
        .send({ ...fields, _csrf: token });
      assert.equal(nullOrigin.status, 403);
    });
  }

  it('when the session is still signed in after all those refusals, then nothing changed state', async () => {
    const home = await signedIn.get('/');
    assert.equal(home.status, 200);
    assert.equal(
      await t
        .db('users')
        .count('* as n')
        .first()
        .then((row) => Number(row!.n)),
      2,
    );
  });

  it('when a same-origin browser posts with a valid token, then it is accepted', async () => {
    const page = await other.get('/logout');
    const response = await other.agent
      .post('/logout')
      .set('Host', 'keygate.test')
      .set('Sec-Fetch-Site', 'same-origin')
      .set('Origin', 'http://keygate.test')
      .type('form')
      .send({ _csrf: csrfTokenIn(page.text) });
    assert.equal(response.status, 303);
  });
});

describe('a real browser posting its own form', () => {
  it('when Chromium sends Origin: null with Sec-Fetch-Site: same-origin, then the form is accepted', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    const page = await browser.get('/login');
    const response = await browser.agent
      .post('/login')
      .set('Origin', 'null')
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send({ email: user.email, password: user.password, _csrf: csrfTokenIn(page.text) });
    assert.equal(response.status, 303);
  });
});

describe('GET changes nothing', () => {
  it('when /logout is fetched with GET, then the user stays signed in', async () => {
    const page = await signedIn.get('/logout');
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="\/logout">/);
    assert.equal((await signedIn.get('/')).status, 200);
  });
});
