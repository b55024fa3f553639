import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createBrowser, csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import {
  codeAt,
  makeUserWithTwoFactor,
  signInWithPassword,
  startSignIn,
} from '../helpers/two-factor.ts';

const ACTIONS = [
  'reset-2fa',
  'deactivate',
  'reactivate',
  'make-admin',
  'remove-admin',
  'end-sessions',
];

describe('admin area (policy off)', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof makeUser>>;
  let adminBrowser: Browser;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
    admin = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
    adminBrowser = await signInWithPassword(t, admin.email, admin.password);
  });
  after(() => t.close());

  it('#38 when a normal user asks for any admin page or posts to any id, then the answer is 403', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const token = csrfTokenIn((await browser.get('/logout')).text);
    const paths = [
      '/admin',
      '/admin/users',
      '/admin/users/new',
      `/admin/users/${user.id}`,
      `/admin/users/${admin.id}`,
      '/admin/users/999999',
    ];
    for (const id of [user.id, admin.id, '999999', 'abc'])
      for (const action of ACTIONS) paths.push(`/admin/users/${id}/${action}`);
    for (const path of paths) {
      const get = await browser.get(path);
      assert.equal(get.status, 403, `GET ${path}`);
      assert.match(get.text, /for administrators only/);
      if (path.split('/').length > 4 || path.endsWith('/new')) {
        const post = await browser.post(path, {
          _csrf: token,
          role: 'admin',
          email: 'x@example.com',
        });
        assert.equal(post.status, 403, `POST ${path}`);
      }
    }
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(row.role, 'user', 'nothing changed');
    const anonymous = await request(t.app).get('/admin/users');
    assert.equal(anonymous.status, 303);
  });

  it('when 120 users exist, then search, filters and paging find every one exactly once', async () => {
    const emails: string[] = [];
    for (let i = 0; i < 120; i++) emails.push(`paging-${String(i).padStart(3, '0')}@list.example`);
    const hash = (await t.db('users').where({ id: admin.id }).first()).password_hash;
    await t.db('users').insert(
      emails.map((email, i) => ({
        email,
        email_canonical: email,
        password_hash: hash,
        role: i % 10 === 0 ? 'admin' : 'user',
        is_active: i % 7 !== 0,
        last_sign_in_at: i % 3 === 0 ? null : new Date(Date.UTC(2026, 0, 1, 0, i)),
      })),
    );
    const seen: string[] = [];
    let path: string | null = '/admin/users?q=%40list.example';
    const pages: string[][] = [];
    while (path) {
      const page = await adminBrowser.get(path);
      assert.equal(page.status, 200);
      const found = [...page.text.matchAll(/>(paging-\d{3}@list\.example)</g)].map((m) => m[1]!);
      pages.push(found);
      seen.push(...found);
      path = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replace(/&amp;/g, '&') ?? null;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [50, 50, 20],
    );
    assert.deepEqual(seen, emails, 'every user once, in email order');

    // Back from page 2 gives page 1 again.
    const first = await adminBrowser.get('/admin/users?q=%40list.example');
    const nextHref = /href="([^"]+)" rel="next"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await adminBrowser.get(nextHref);
    const prevHref = /href="([^"]+)" rel="prev"/.exec(second.text)![1]!.replace(/&amp;/g, '&');
    const backToFirst = await adminBrowser.get(prevHref);
    assert.deepEqual(
      [...backToFirst.text.matchAll(/>(paging-\d{3}@list\.example)</g)].map((m) => m[1]),
      pages[0],
    );
    assert.doesNotMatch(backToFirst.text, /rel="prev"/);

    // Sorted by last sign-in: newest first, never-signed-in last, still every user once.
    const bySignIn: string[] = [];
    let sortPath: string | null = '/admin/users?q=%40list.example&sort=last_sign_in';
    while (sortPath) {
      const page = await adminBrowser.get(sortPath);
      bySignIn.push(
        ...[...page.text.matchAll(/>(paging-\d{3}@list\.example)</g)].map((m) => m[1]!),
      );
      sortPath = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replace(/&amp;/g, '&') ?? null;
    }
    assert.equal(bySignIn.length, 120);
    assert.equal(new Set(bySignIn).size, 120);
    assert.equal(bySignIn[0], 'paging-119@list.example');
    const signedIn = emails.filter((_, i) => i % 3 !== 0);
    assert.deepEqual(bySignIn.slice(0, signedIn.length), [...signedIn].reverse());

    // Filters.
    const admins = await adminBrowser.get('/admin/users?q=%40list.example&role=admin');
    assert.equal([...admins.text.matchAll(/>paging-\d{3}@list\.example</g)].length, 12);
    const inactive = await adminBrowser.get('/admin/users?q=%40LIST.EXAMPLE&active=no');
    assert.equal(
      [...inactive.text.matchAll(/>paging-\d{3}@list\.example</g)].length,
      18,
      'case-insensitive search',
    );
    const one = await adminBrowser.get('/admin/users?q=paging-042');
    assert.equal([...one.text.matchAll(/>paging-\d{3}@list\.example</g)].length, 1);
    const noTwoFactor = await adminBrowser.get('/admin/users?q=%40list.example&twofa=on');
    assert.match(noTwoFactor.text, /No users match/);
    const prefix = await adminBrowser.get('/admin/users?q=PAGING-11');
    assert.equal(
      [...prefix.text.matchAll(/>paging-\d{3}@list\.example</g)].length,
      10,
      'the start of an address, any case',
    );
    const middle = await adminBrowser.get('/admin/users?q=ging-042');
    assert.match(
      middle.text,
      /No users match/,
      'not any substring (README: what a search matches)',
    );
    const wildcard = await adminBrowser.get('/admin/users?q=%25');
    assert.match(wildcard.text, /No users match/, 'a % is searched for literally');
  });

  it('when the list address is odd, then a 400 page explains it', async () => {
    for (const path of [
      '/admin/users?role=root',
      '/admin/users?q=a&q=b',
      '/admin/users?after=not-a-cursor',
      `/admin/users?sort=last_sign_in&after=${Buffer.from(JSON.stringify(['2026-02-31 10:00:00+00', '1'])).toString('base64url')}`,
    ]) {
      const response = await adminBrowser.get(path);
      assert.equal(response.status, 400, path);
    }
  });

  it("#39 when an admin resets a user's 2FA, then the secret and codes go, their sessions end, and it is audited", async () => {
    const target = await makeUserWithTwoFactor(t);
    assert.equal((await target.browser.get('/')).status, 200);
    const page = await adminBrowser.get(`/admin/users/${target.user.id}`);
    assert.match(page.text, /Reset two-factor authentication/);
    const confirm = await adminBrowser.get(`/admin/users/${target.user.id}/reset-2fa`);
    assert.match(
      confirm.text,
      new RegExp(`For <strong>${target.user.email.replace('.', '\\.')}</strong>`),
    );
    assert.equal(
      (
        await adminBrowser.post(`/admin/users/${target.user.id}/reset-2fa`, {
          reason: 'lost phone',
        })
      ).status,
      403,
      'needs the token',
    );
    const done = await adminBrowser.post(`/admin/users/${target.user.id}/reset-2fa`, {
      reason: 'lost phone',
      _csrf: csrfTokenIn(confirm.text),
    });
    assert.equal(done.status, 303);

    assert.equal(
      (await target.browser.get('/')).status,
      303,
      'their existing session is signed out at once',
    );
    const row = await t.db('users').where({ id: target.user.id }).first();
    assert.equal(row.totp_secret_encrypted, null);
    assert.equal((await t.db('recovery_codes').where({ user_id: target.user.id })).length, 0);
    const event = await t
      .db('audit_events')
      .where({ user_id: target.user.id, event: 'two_factor_reset_by_admin' })
      .first();
    assert.equal(String(event.actor_id), admin.id);
    assert.equal(event.details.reason, 'lost phone');

    const again = createBrowser(t.app);
    const signIn = await again.submit('/login', '/login', {
      email: target.user.email,
      password: target.user.password,
    });
    assert.equal(signIn.headers.location, '/', 'password alone now');
    assert.match(
      (await again.get('/')).text,
      /An administrator reset your two-factor authentication/,
    );
  });

  it('#44 when an admin deactivates a user, then all their sessions end and they cannot sign in', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const confirm = await adminBrowser.get(`/admin/users/${user.id}/deactivate`);
    await adminBrowser.post(`/admin/users/${user.id}/deactivate`, {
      _csrf: csrfTokenIn(confirm.text),
    });
    assert.equal((await browser.get('/')).status, 303);
    assert.equal((await t.db('sessions').where({ user_id: user.id })).length, 0);
    const retry = await createBrowser(t.app).submit('/login', '/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(retry.status, 401);
    const back = await adminBrowser.get(`/admin/users/${user.id}/reactivate`);
    await adminBrowser.post(`/admin/users/${user.id}/reactivate`, {
      _csrf: csrfTokenIn(back.text),
    });
    assert.equal(
      (
        await createBrowser(t.app).submit('/login', '/login', {
          email: user.email,
          password: user.password,
        })
      ).status,
      303,
    );
  });

  it("when an admin ends all of a user's sessions, then each one stops working", async () => {
    const user = await makeUser(t.db);
    const one = await signInWithPassword(t, user.email, user.password);
    const two = await signInWithPassword(t, user.email, user.password);
    const confirm = await adminBrowser.get(`/admin/users/${user.id}`);
    assert.equal(
      [...confirm.text.matchAll(/last active/g)].length,
      2,
      'the admin sees both sessions',
    );
    await adminBrowser.submit(
      `/admin/users/${user.id}/end-sessions`,
      `/admin/users/${user.id}/end-sessions`,
      {},
    );
    assert.equal((await one.get('/')).status, 303);
    assert.equal((await two.get('/')).status, 303);
  });

  it('when the last active admin would be removed, deactivated or demoted, then it is refused', async () => {
    const t2 = await createTestApp({ REQUIRE_2FA: 'off' });
    try {
      const only = await makeUser(t2.db, { role: 'admin' });
      const browser = await signInWithPassword(t2, only.email, only.password);
      for (const action of ['remove-admin', 'deactivate']) {
        const response = await browser.submit(
          `/admin/users/${only.id}/${action}`,
          `/admin/users/${only.id}/${action}`,
          {},
        );
        assert.equal(response.status, 409, action);
        assert.match(response.text, /last active administrator/);
      }
      const other = await makeUser(t2.db, { role: 'admin' });
      // Two admins demoting each other at once: exactly one succeeds.
      const otherBrowser = await signInWithPassword(t2, other.email, other.password);
      const [a, b] = await Promise.all([
        browser.get(`/admin/users/${other.id}/remove-admin`),
        otherBrowser.get(`/admin/users/${only.id}/remove-admin`),
      ]);
      const results = await Promise.all([
        browser.post(`/admin/users/${other.id}/remove-admin`, { _csrf: csrfTokenIn(a.text) }),
        otherBrowser.post(`/admin/users/${only.id}/remove-admin`, { _csrf: csrfTokenIn(b.text) }),
      ]);
      // The loser is refused either by the last-admin check (409) or, when the winner's change
      // landed first, because it is no longer an admin at all (403).
      const statuses = results.map((r) => r.status).sort();
      assert.equal(statuses[0], 303, String(statuses));
      assert.ok([403, 409].includes(statuses[1]!), String(statuses));
      const admins = await t2.db('users').where({ role: 'admin', is_active: true });
      assert.equal(admins.length, 1);
    } finally {
      await t2.close();
    }
  });

  it('when an admin creates a user with a generated password, then it is shown once and must be changed at first sign-in', async () => {
    const email = uniqueEmail('new');
    const response = await adminBrowser.submit('/admin/users/new', '/admin/users/new', {
      email,
      role: 'user',
      passwordChoice: 'generate',
    });
    assert.equal(response.status, 303, 'Post/Redirect/Get: a reload resubmits nothing');
    assert.match(response.headers.location!, /^\/admin\/users\/\d+\/created$/);
    const shown = await adminBrowser.get(response.headers.location!);
    assert.equal(shown.status, 200);
    assert.equal(shown.headers['cache-control'], 'no-store');
    const password = /<code>([a-z2-9-]{23})<\/code>/.exec(shown.text)?.[1];
    assert.ok(password, 'the generated password is on the page');
    assert.ok(!t.logs().includes(password), 'and never in the log');
    assert.match(shown.text, /\/login/, 'the sign-in address to pass on');
    assert.match(shown.text, /Create another/);
    const reloaded = await adminBrowser.get(response.headers.location!);
    assert.ok(!reloaded.text.includes(password), 'shown only once: a reload does not show it');
    assert.match(reloaded.text, /shown once/);
    const duplicate = await adminBrowser.submit('/admin/users/new', '/admin/users/new', {
      email: email.toUpperCase(),
      role: 'user',
      passwordChoice: 'generate',
    });
    assert.equal(duplicate.status, 409);
    const short = await adminBrowser.submit('/admin/users/new', '/admin/users/new', {
      email: uniqueEmail(),
      role: 'user',
      passwordChoice: 'set',
      password: 'short',
    });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 12 characters/);

    const browser = createBrowser(t.app);
    const signIn = await browser.submit('/login', '/login', { email, password });
    assert.equal(signIn.status, 303);
    for (const path of ['/', '/settings', '/admin/users']) {
      const page = await browser.get(path);
      assert.equal(page.headers.location, '/settings/password', path);
    }
    const same = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: password,
      newPassword: password,
      confirmPassword: password,
    });
    assert.equal(same.status, 400);
    assert.match(same.text, /different from the current one/);
    const changed = await browser.submit('/settings/password', '/settings/password', {
      currentPassword: password,
      newPassword: 'my very own password',
      confirmPassword: 'my very own password',
    });
    assert.equal(changed.headers.location, '/settings');
    assert.equal((await browser.get('/')).status, 200);
    const event = await t
      .db('audit_events')
      .where({ event: 'user_created' })
      .orderBy('id', 'desc')
      .first();
    assert.equal(String(event.actor_id), admin.id);
  });
});

describe('admin area under the default policy (admins need 2FA)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('when an admin has no 2FA, then the admin pages ask them to turn it on; with 2FA and recent sign-in, they work', async () => {
    const bare = await makeUser(t.db, { role: 'admin' });
    const browser = await signInWithPassword(t, bare.email, bare.password);
    const refused = await browser.get('/admin/users');
    assert.equal(refused.status, 403);
    assert.match(refused.text, /Turn on two-factor authentication first/);

    const { user, browser: enrolled, secret } = await makeUserWithTwoFactor(t);
    await t.db('users').where({ id: user.id }).update({ role: 'admin' });
    assert.equal((await enrolled.get('/admin/users')).status, 200);
    t.clock.advance(11 * 60_000);
    const stale = await enrolled.get(`/admin/users/${bare.id}/deactivate`);
    assert.equal(stale.status, 303);
    assert.match(stale.headers.location!, /^\/confirm\?next=/);
    const confirmPage = await enrolled.get(stale.headers.location!);
    const confirmed = await enrolled.post('/confirm', {
      password: user.password,
      code: await codeAt(t, secret),
      next: `/admin/users/${bare.id}/deactivate`,
      _csrf: csrfTokenIn(confirmPage.text),
    });
    assert.equal(confirmed.headers.location, `/admin/users/${bare.id}/deactivate`);
    assert.equal((await enrolled.get(confirmed.headers.location!)).status, 200);
  });

  it("when an admin views a user who is in the 2FA grace period, then the page speaks of the user's deadline, not the admin's", async () => {
    const { user, browser } = await makeUserWithTwoFactor(t);
    await t.db('users').where({ id: user.id }).update({ role: 'admin' });
    // A fresh admin without 2FA: covered by the policy, so in their own grace period once seen.
    const target = await makeUser(t.db, { role: 'admin' });
    await signInWithPassword(t, target.email, target.password);
    const page = await browser.get(`/admin/users/${target.id}`);
    assert.equal(page.status, 200);
    assert.match(
      page.text,
      /\(required by \d{1,2} [A-Z][a-z]+ \d{4} \(in \d+ days\)\)/,
      "the target's deadline is shown",
    );
    assert.doesNotMatch(
      page.text,
      /Your administrator requires two-factor authentication/,
      'the viewing admin, who has 2FA, is not told to turn it on',
    );
  });

  it("when an admin reads another user's activity, then it speaks of them in the third person and shows the reason for a 2FA reset", async () => {
    const { user, browser } = await makeUserWithTwoFactor(t);
    await t.db('users').where({ id: user.id }).update({ role: 'admin' });
    const target = await makeUserWithTwoFactor(t);
    const confirm = await browser.get(`/admin/users/${target.user.id}/reset-2fa`);
    const done = await browser.post(`/admin/users/${target.user.id}/reset-2fa`, {
      reason: 'lost phone on the train',
      _csrf: csrfTokenIn(confirm.text),
    });
    assert.equal(done.status, 303);
    const page = await browser.get(`/admin/users/${target.user.id}`);
    assert.match(page.text, /Signed in with their password from/);
    assert.match(
      page.text,
      /An administrator reset their two-factor authentication \(reason: “lost phone on the train”\)/,
    );
    assert.doesNotMatch(page.text, /\byour (password|two-factor)/i);
    // The person's own page still says "your", and never shows the admin's reason.
    const own = await signInWithPassword(t, target.user.email, target.user.password);
    const settings = await own.get('/settings');
    assert.match(settings.text, /An administrator reset your two-factor authentication/);
    assert.doesNotMatch(settings.text, /lost phone on the train/);
  });

  it('when a pending 2FA sign-in exists, then the admin area is not reachable', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    await t.db('users').where({ id: user.id }).update({ role: 'admin' });
    const pending = await startSignIn(t, user.email, user.password);
    assert.equal((await pending.get('/admin/users')).headers.location, '/login/2fa');
  });
});
