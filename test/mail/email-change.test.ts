import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBrowser, csrfTokenIn } from '../helpers/agent.ts';
import type { TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { linkIn, withMailStack, type MailTestStack } from '../helpers/smtp.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';

describe('changing an email address', () => {
  let t: TestApp;
  let mailsTo: MailTestStack['mailsTo'];
  withMailStack((stack) => ({ t, mailsTo } = stack));

  async function askFor(browser: Awaited<ReturnType<typeof signInWithPassword>>, email: string) {
    const asked = await browser.submit('/settings/email', '/settings/email', { email });
    assert.equal(asked.headers.location, '/settings', asked.text);
  }

  it('when a person changes their address, then a link goes to the new one, only its button changes it, and the old one is told', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const newEmail = uniqueEmail('moved');
    await askFor(browser, newEmail);
    assert.match((await browser.get('/settings')).text, /We have sent a link to/);
    const [confirm] = await mailsTo(newEmail, /Confirm your new email address/);
    assert.ok(confirm, 'the link went to the new address');
    const link = linkIn(confirm, 'confirm');

    const other = createBrowser(t.app);
    const page = await other.get(link);
    assert.equal(page.status, 200);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    const unchanged = await t.db('users').where({ id: user.id }).first();
    assert.equal(unchanged.email, user.email, 'opening the link changes nothing');

    const done = await other.post('/settings/email/confirm', {
      token: link.split('/').pop()!,
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(done.status, 303);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.equal(row.email, newEmail);
    const notices = await mailsTo(user.email, /Your email address was changed/);
    assert.equal(notices.length, 1, 'the old address is told');
    assert.match(
      notices[0]!.text,
      new RegExp(`You changed the email address[^.]*${newEmail.replace('.', '\\.')}`),
    );
    const signIn = (email: string) =>
      createBrowser(t.app).submit('/login', '/login', { email, password: user.password });
    assert.equal((await signIn(newEmail)).status, 303);
    assert.equal((await signIn(user.email)).status, 401);
    assert.equal((await other.get(link)).status, 404, 'the link works once');
    const events = await t.db('audit_events').where({ user_id: user.id, event: 'email_changed' });
    assert.equal(events.length, 1);
  });

  it('#34 when the sign-in is not recent, then asking for a change needs confirming it is you first', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    t.clock.advance(11 * 60_000);
    const page = await browser.get('/settings/email');
    assert.equal(page.headers.location, '/confirm?next=%2Fsettings%2Femail');
  });

  it('#51 when the new address belongs to another account, then the answer is the same and nothing is sent', async () => {
    const user = await makeUser(t.db);
    const taken = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    await askFor(browser, taken.email.toUpperCase());
    assert.equal((await mailsTo(taken.email, /Confirm your new email/)).length, 0);
    const same = await browser.submit('/settings/email', '/settings/email', { email: user.email });
    assert.equal(same.status, 400);
  });

  it('when a newer change is asked for, then the older link no longer works', async () => {
    const user = await makeUser(t.db);
    const browser = await signInWithPassword(t, user.email, user.password);
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    await askFor(browser, first);
    await askFor(browser, second);
    const older = linkIn((await mailsTo(first, /Confirm/))[0]!, 'confirm');
    const newer = linkIn((await mailsTo(second, /Confirm/))[0]!, 'confirm');
    assert.equal((await createBrowser(t.app).get(older)).status, 404);
    assert.equal((await createBrowser(t.app).get(newer)).status, 200);
  });

  it('when an administrator changes a user address, then it changes at once and the old address is told who did it', async () => {
    const admin = await makeUser(t.db, { role: 'admin' });
    const user = await makeUser(t.db);
    const adminBrowser = await signInWithPassword(t, admin.email, admin.password);
    const newEmail = uniqueEmail('renamed');
    const done = await adminBrowser.submit(
      `/admin/users/${user.id}`,
      `/admin/users/${user.id}/email`,
      {
        email: newEmail,
      },
    );
    assert.equal(done.headers.location, `/admin/users/${user.id}#email-address`);
    assert.equal((await t.db('users').where({ id: user.id }).first()).email, newEmail);
    const [notice] = await mailsTo(user.email, /Your email address was changed/);
    assert.match(notice!.text, /An administrator changed/);
    const refused = await adminBrowser.submit(
      `/admin/users/${user.id}`,
      `/admin/users/${user.id}/email`,
      {
        email: admin.email,
      },
    );
    assert.equal(refused.status, 303);
    assert.equal((await t.db('users').where({ id: user.id }).first()).email, newEmail, 'taken');
    const nonAdmin = await signInWithPassword(t, newEmail, user.password);
    const forbidden = await nonAdmin.submit('/settings', `/admin/users/${admin.id}/email`, {
      email: uniqueEmail(),
    });
    assert.equal(forbidden.status, 403);
  });
});
