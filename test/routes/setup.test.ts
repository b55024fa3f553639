import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { createSetupToken } from '../../src/auth/setup-tokens.ts';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';

let t: TestApp;
beforeEach(async () => {
  await t?.close();
  t = await createTestApp();
});
after(() => t.close());

const admin = {
  email: 'first.admin@example.com',
  password: 'first admin password',
  confirmPassword: 'first admin password',
};

describe('first-admin setup link', () => {
  it('when no user exists and the link is followed, then the first admin is created and signed in', async () => {
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    const browser = createBrowser(t.app);
    const response = await browser.submit(`/setup?token=${token}`, '/setup', { ...admin, token });
    assert.equal(response.status, 303);
    assert.equal(response.headers.location, '/');
    const home = await browser.get('/');
    assert.match(home.text, /first\.admin@example\.com/);
    assert.match(home.text, /Administrator/);
    const users = await t.db('users');
    assert.equal(users.length, 1);
    assert.equal(users[0].role, 'admin');
    assert.equal((await t.db('audit_events').where({ event: 'first_admin_created' })).length, 1);
  });

  it('when the link is used a second time, then it no longer works', async () => {
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    const first = createBrowser(t.app);
    const page = await first.get(`/setup?token=${token}`);
    const second = createBrowser(t.app);
    const secondPage = await second.get(`/setup?token=${token}`);
    assert.equal(
      (await first.post('/setup', { ...admin, token, _csrf: csrfTokenIn(page.text) })).status,
      303,
    );
    const again = await second.post('/setup', {
      ...admin,
      email: 'intruder@example.com',
      token,
      _csrf: csrfTokenIn(secondPage.text),
    });
    assert.equal(again.status, 410);
    assert.match(again.text, /Setup is already complete/);
    assert.equal((await second.get(`/setup?token=${token}`)).status, 410);
    assert.equal((await t.db('users')).length, 1);
  });

  it('when two people submit the same link at once, then exactly one admin is created', async () => {
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    const browsers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const browser = createBrowser(t.app);
        const page = await browser.get(`/setup?token=${token}`);
        return { browser, csrf: csrfTokenIn(page.text), email: `admin${i}@example.com` };
      }),
    );
    const responses = await Promise.all(
      browsers.map(({ browser, csrf, email }) =>
        browser.post('/setup', { ...admin, email, token, _csrf: csrf }),
      ),
    );
    assert.equal(responses.filter((r) => r.status === 303).length, 1);
    assert.equal((await t.db('users')).length, 1);
  });

  it('when the token is wrong, missing or replaced by a newer one, then the page refuses it', async () => {
    const old = await createSetupToken(t.db);
    await createSetupToken(t.db);
    for (const path of [
      '/setup',
      '/setup?token=wrong',
      `/setup?token=${old}`,
      '/setup?token=a&token=b',
    ]) {
      const response = await createBrowser(t.app).get(path);
      assert.equal(response.status, 403, path);
      assert.match(response.text, /This setup link does not work/);
    }
  });

  it('when a user already exists, then the setup page is gone even with a valid token', async () => {
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    await makeUser(t.db);
    const response = await createBrowser(t.app).get(`/setup?token=${token}`);
    assert.equal(response.status, 410);
  });

  it('when the passwords differ or are too short, then the form says so and keeps the email', async () => {
    const token = await createSetupToken(t.db);
    rememberSecret('setup token', token);
    const browser = createBrowser(t.app);
    const mismatch = await browser.submit(`/setup?token=${token}`, '/setup', {
      ...admin,
      confirmPassword: 'something else entirely',
      token,
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /The two passwords do not match/);
    assert.match(mismatch.text, /value="first\.admin@example\.com"/);
    const short = await browser.submit(`/setup?token=${token}`, '/setup', {
      ...admin,
      password: 'short',
      confirmPassword: 'short',
      token,
    });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 12 characters/);
    assert.equal((await t.db('users')).length, 0);
  });
});
