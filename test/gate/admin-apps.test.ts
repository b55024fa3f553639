/**
 * The admin's Protected apps page and groups on the user page: create, change, remove, audited,
 * behind recent authentication and for admins only; the person's start page lists their apps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { GATE_ENV, authRequest, gateCookieOf } from '../helpers/gate.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';
import type { Browser } from '../helpers/agent.ts';

let t: TestApp;
let admin: Awaited<ReturnType<typeof makeUser>>;
let browser: Browser;
before(async () => {
  t = await createTestApp(GATE_ENV);
  admin = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
  browser = await signInWithPassword(t, admin.email, admin.password);
});
after(() => t.close());

const appId = async (name: string) =>
  String((await t.db('protected_apps').where({ name }).first('id')).id);

describe('Protected apps', () => {
  it('when an admin adds, changes and removes an app, then each is audited and takes effect on the next authz call', async () => {
    const user = await makeUser(t.db);
    const cookie = await gateCookieOf(await signInWithPassword(t, user.email, user.password));
    assert.equal((await authRequest(t, 'https://grafana.example.com/', { cookie })).status, 403);

    const added = await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Grafana',
      host: 'Grafana.Example.com',
      pathPrefix: '',
      policy: 'signed-in',
      groups: '',
    });
    assert.equal(added.status, 303, added.text.slice(0, 300));
    assert.match((await browser.get('/admin/apps')).text, /Grafana[\s\S]*grafana\.example\.com/);
    assert.equal((await authRequest(t, 'https://grafana.example.com/', { cookie })).status, 200);

    const id = await appId('Grafana');
    const changed = await browser.submit(`/admin/apps/${id}`, `/admin/apps/${id}`, {
      name: 'Grafana',
      host: 'grafana.example.com',
      pathPrefix: '',
      policy: 'signed-in',
      groups: 'Ops, sre',
    });
    assert.equal(changed.status, 303, changed.text.slice(0, 300));
    assert.equal((await authRequest(t, 'https://grafana.example.com/', { cookie })).status, 403);

    const removed = await browser.submit(
      `/admin/apps/${id}/remove`,
      `/admin/apps/${id}/remove`,
      {},
    );
    assert.equal(removed.status, 303);
    const events = await t
      .db('audit_events')
      .whereIn('event', ['app_created', 'app_changed', 'app_removed'])
      .orderBy('id')
      .select('event', 'actor_id', 'details');
    assert.deepEqual(
      events.map((e) => e.event),
      ['app_created', 'app_changed', 'app_removed'],
    );
    assert.ok(events.every((e) => String(e.actor_id) === admin.id));
    assert.deepEqual(events[1].details.groups, ['ops', 'sre']);
  });

  it('when the form is wrong or the name is taken, then the same form comes back with a field error', async () => {
    const bad = await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: '',
      host: 'https://x.example.com/',
      pathPrefix: 'no-slash',
      policy: 'everyone',
      groups: 'bad group!',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Enter a name/);
    assert.match(bad.text, /host name only/);
    assert.match(bad.text, /starts with a slash/);
    const first = await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Wiki',
      host: 'wiki.example.com',
      policy: 'signed-in',
    });
    assert.equal(first.status, 303);
    const again = await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'wiki',
      host: 'other.example.com',
      policy: 'signed-in',
    });
    assert.equal(again.status, 409);
    assert.match(again.text, /Another app already has this name/);
  });

  it('when the admin’s authentication is not recent, then changing apps asks them to confirm it is them first', async () => {
    t.clock.advance(11 * 60_000);
    const page = await browser.get('/admin/apps/new');
    assert.equal(page.status, 303);
    assert.match(page.headers.location!, /^\/confirm\?next=/);
    const confirmed = await browser.submit('/confirm', '/confirm', { password: admin.password });
    assert.equal(confirmed.status, 303);
  });

  it('#38 when a normal user asks for the apps pages or posts to them, then 403', async () => {
    const user = await makeUser(t.db);
    const other = await signInWithPassword(t, user.email, user.password);
    for (const path of [
      '/admin/apps',
      '/admin/apps/new',
      `/admin/apps/${await appId('Wiki')}`,
      `/admin/apps/${await appId('Wiki')}/remove`,
    ])
      assert.equal((await other.get(path)).status, 403, path);
    const token = /name="_csrf" value="([^"]+)"/.exec((await other.get('/logout')).text)![1]!;
    assert.equal(
      (
        await other.post('/admin/apps/new', {
          _csrf: token,
          name: 'x',
          host: 'x.example.com',
          policy: 'signed-in',
        })
      ).status,
      403,
    );
    assert.equal(
      (await other.post(`/admin/users/${user.id}/groups`, { _csrf: token, group: 'admins' }))
        .status,
      403,
    );
  });

  it('when a person has groups, then their start page lists the apps they may open, as links', async () => {
    await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Ops board',
      host: 'ops.example.com',
      policy: 'signed-in',
      groups: 'ops',
    });
    await browser.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Closed',
      host: 'closed.example.com',
      policy: 'nobody',
    });
    const user = await makeUser(t.db);
    const person = await signInWithPassword(t, user.email, user.password);
    let home = await person.get('/');
    assert.match(home.text, /<a href="http:\/\/wiki\.example\.com\/">Wiki<\/a>/);
    assert.doesNotMatch(home.text, /Ops board|Closed/);
    const page = `/admin/users/${user.id}`;
    assert.equal((await browser.submit(page, `${page}/groups`, { group: 'ops' })).status, 303);
    assert.match((await browser.get(page)).text, /Remove from ops/);
    home = await person.get('/');
    assert.match(home.text, /Ops board/);
    assert.match(home.text, /Groups<\/dt><dd>ops/);
  });
});
