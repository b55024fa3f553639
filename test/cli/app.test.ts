import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { listUserGroups } from '../../src/auth/groups.ts';
import { addGroupCommand, CliGroupError, removeGroupCommand } from '../../src/cli/user-groups.ts';
import { ROOT } from '../../src/dirs.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';

const run = promisify(execFile);
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

function app(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/app.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent' },
  });
}

describe('npm run app', () => {
  it('when apps are added, listed and removed from the command line, then the database and the audit log follow', async () => {
    const added = await app(
      'add',
      '--name',
      'Wiki',
      '--host',
      'Wiki.Example.com',
      '--path-prefix',
      '/docs/',
      '--policy',
      'two-factor',
      '--groups',
      'Staff,ops',
    );
    assert.match(
      added.stdout,
      /Added Wiki\twiki\.example\.com\/docs\/\ttwo-factor \(groups: staff, ops\)/,
    );
    assert.match((await app('list')).stdout, /^Wiki\twiki\.example\.com\/docs\//m);
    const taken = await app('add', '--name', 'wiki', '--host', 'x.example.com').catch(
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal((taken as { code: number }).code, 1);
    assert.match((taken as { stderr: string }).stderr, /an app with this name exists/);
    const bad = await app('add', '--name', 'X', '--host', 'https://x.example.com').catch(
      (error: { code: number; stderr: string }) => error,
    );
    assert.match((bad as { stderr: string }).stderr, /host name only/);
    assert.match((await app('remove', '--name', 'Wiki')).stdout, /Removed Wiki/);
    assert.match((await app('list')).stdout, /No apps/);
    const events = await t
      .db('audit_events')
      .whereIn('event', ['app_created', 'app_removed'])
      .orderBy('id')
      .pluck('event');
    assert.deepEqual(events, ['app_created', 'app_removed']);
  });
});

describe('npm run user -- add-group / remove-group (the functions behind them)', () => {
  it('when a group is added and removed by email, then the membership and the audit log follow', async () => {
    const user = await makeUser(t.db);
    assert.equal(
      await addGroupCommand(t.db, ['--email', user.email.toUpperCase(), '--group', 'Ops']),
      `Added ${user.email.toUpperCase()} to ops.`,
    );
    assert.deepEqual(await listUserGroups(t.db, user.id), ['ops']);
    assert.match(
      await addGroupCommand(t.db, ['--email', user.email, '--group', 'ops']),
      /already in ops/,
    );
    assert.match(
      await removeGroupCommand(t.db, ['--email', user.email, '--group', 'ops']),
      /Removed/,
    );
    assert.deepEqual(await listUserGroups(t.db, user.id), []);
    await assert.rejects(
      addGroupCommand(t.db, ['--email', 'nobody@example.com', '--group', 'ops']),
      CliGroupError,
    );
    await assert.rejects(
      addGroupCommand(t.db, ['--email', user.email, '--group', 'bad group']),
      /Group names use/,
    );
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id })
      .whereIn('event', ['group_added', 'group_removed'])
      .pluck('event');
    assert.deepEqual(events, ['group_added', 'group_removed']);
  });
});
