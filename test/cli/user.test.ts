import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { recentActivity } from '../../src/auth/activity.ts';
import { ROOT } from '../../src/dirs.ts';
import { createBrowser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { rememberSecret } from '../helpers/secrets.ts';
import { makeUserWithTwoFactor, signInWithPassword } from '../helpers/two-factor.ts';
import { en } from '../../src/messages/index.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

/** `npm run user -- …` against this file's database, as the operator would run it. */
function user(args: string[], stdin = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/user.ts', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.database.url,
        BCRYPT_COST: '10',
        LOG_LEVEL: 'silent',
        SESSION_SECRET: t.config.sessionSecrets[0],
        TOTP_ENCRYPTION_KEY: t.config.totpKeys.current.key.toString('base64'),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdin.end(stdin);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function auditRows(userId: string, event: string) {
  return t.db('audit_events').where({ user_id: userId, event }).select('actor_id', 'ip', 'details');
}

describe('npm run user: the operator recovers accounts from the command line', () => {
  it('when the command or its input is wrong, then one line says why and the exit code is 1', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^error: say what to do\nusage: npm run user -- set-password\|reset-2fa\|/],
      [['fly', '--email', 'a@example.com'], /^error: unknown command 'fly'\nusage: /],
      [['show'], /^error: --email is required\nusage: /],
      [['show', '--email', 'nope'], /^error: Enter an email address like name@example\.com\.$/],
      [
        ['show', '--email', 'nobody@example.com'],
        /^error: no user with the email nobody@example\.com$/,
      ],
      [['show', '--email', 'a@example.com', '--force'], /^error: Unknown option '--force'/],
    ];
    for (const [args, message] of cases) {
      const result = await user(args);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr.trim(), message);
      assert.equal(result.stdout, '');
    }
    const someone = await makeUser(t.db);
    const short = await user(['set-password', '--email', someone.email], 'short\n');
    assert.equal(short.code, 1);
    assert.equal(short.stderr.trim(), 'error: Password must be at least 12 characters.');
  });

  it('when set-password runs, then every session ends and the temporary password signs in, to be changed first', async () => {
    const person = await makeUser(t.db);
    const browser = await signInWithPassword(t, person.email, person.password);
    assert.equal((await browser.get('/settings')).status, 200);

    const temporary = 'a temporary password from the operator';
    rememberSecret('password', temporary);
    // The email as the operator types it, in another case.
    const result = await user(
      ['set-password', '--email', person.email.toUpperCase()],
      `${temporary}\n`,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout.trim(),
      `Set a temporary password for ${person.email}: they must choose a new one at the next sign-in. Ended 1 session(s).`,
    );

    const stale = await browser.get('/settings');
    assert.equal(stale.status, 303, 'the old session is gone');
    assert.match(stale.headers.location!, /^\/login/);
    await assert.rejects(
      signInWithPassword(t, person.email, person.password),
      'old password refused',
    );
    const fresh = await signInWithPassword(t, person.email, temporary);
    const forced = await fresh.get('/');
    assert.equal(forced.status, 303);
    assert.equal(forced.headers.location, '/settings/password');

    const [row] = await auditRows(person.id, 'temporary_password_set');
    assert.deepEqual(row, {
      actor_id: null,
      ip: null,
      details: { via: 'command line', endedSessions: 1, generatedPassword: false },
    });
    const activity = await recentActivity(t.db, person.id);
    assert.ok(
      activity.some(
        (entry) =>
          en.activity(entry, 'self') ===
            'An administrator set a temporary password, to be changed at the next sign-in (from the command line)' &&
          entry.byAdmin,
      ),
      'said in words, and where it came from is not shown (an operator, not the person)',
    );
  });

  it('when the last administrator lost both their phone and their recovery codes, then reset-2fa lets them in with their password', async () => {
    const { user: admin, browser } = await makeUserWithTwoFactor(t);
    await t.db('users').where({ id: admin.id }).update({ role: 'admin' });
    const result = await user(['reset-2fa', '--email', admin.email]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Reset two-factor authentication for /);
    const row = await t.db('users').where({ id: admin.id }).first();
    assert.equal(row.totp_secret_encrypted, null);
    assert.equal(
      Number((await t.db('recovery_codes').where({ user_id: admin.id }).count('* as n'))[0]!.n),
      0,
    );
    assert.equal((await browser.get('/settings')).status, 303, 'their sessions ended');
    const [audit] = await auditRows(admin.id, 'two_factor_reset_by_admin');
    assert.equal(audit.actor_id, null, 'no user acted: the command line did');
    assert.equal(audit.details.via, 'command line');

    // Signing in now takes the password only.
    const again = createBrowser(t.app);
    const signedIn = await again.submit('/login', '/login', {
      email: admin.email,
      password: admin.password,
    });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/');
    const twice = await user(['reset-2fa', '--email', admin.email]);
    assert.equal(twice.code, 0);
    assert.equal(
      twice.stdout.trim(),
      `Two-factor authentication is already off for ${admin.email}.`,
    );
  });

  it('when the target is the last active administrator, then deactivate and remove-admin refuse, like the admin pages', async () => {
    await t.db('users').where({ role: 'admin' }).update({ role: 'user' });
    const admin = await makeUser(t.db, { role: 'admin' });
    for (const verb of ['deactivate', 'remove-admin']) {
      const result = await user([verb, '--email', admin.email]);
      assert.equal(result.code, 1, verb);
      assert.equal(
        result.stderr.trim(),
        `error: ${admin.email} is the last active administrator; make another user an administrator first (npm run user -- make-admin --email …)`,
      );
    }
    const row = await t.db('users').where({ id: admin.id }).first();
    assert.deepEqual([row.role, row.is_active], ['admin', true]);

    const second = await makeUser(t.db);
    const made = await user(['make-admin', '--email', second.email]);
    assert.equal(made.stdout.trim(), `${second.email} is now an administrator.`);
    const removed = await user(['remove-admin', '--email', admin.email]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout.trim(), `${admin.email} is no longer an administrator.`);
    const [role] = await auditRows(admin.id, 'role_changed');
    assert.equal(role.actor_id, null);
    assert.deepEqual(role.details, { from: 'admin', to: 'user', via: 'command line' });
  });

  it('when an account is deactivated and activated, then sign-in follows and each step is audited', async () => {
    const person = await makeUser(t.db);
    const browser = await signInWithPassword(t, person.email, person.password);
    const off = await user(['deactivate', '--email', person.email]);
    assert.equal(off.stdout.trim(), `Deactivated ${person.email} and ended all their sessions.`);
    assert.equal((await browser.get('/settings')).status, 303);
    await assert.rejects(signInWithPassword(t, person.email, person.password));
    assert.equal(
      (await user(['deactivate', '--email', person.email])).stdout.trim(),
      `${person.email} is already deactivated.`,
    );
    const on = await user(['activate', '--email', person.email]);
    assert.equal(on.stdout.trim(), `Reactivated ${person.email}.`);
    await signInWithPassword(t, person.email, person.password);
    for (const event of ['user_deactivated', 'user_reactivated']) {
      const [row] = await auditRows(person.id, event);
      assert.equal(row.details.via, 'command line', event);
    }
  });

  it('when an account is locked after too many wrong passwords, then show says so and unlock lifts it', async () => {
    const person = await makeUser(t.db, { email: uniqueEmail('locked') });
    const now = Date.now();
    await t.db('auth_attempts').insert(
      Array.from({ length: 100 }, (_, i) => ({
        kind: 'password',
        account_key: person.email,
        ip: `198.51.100.${i % 250}`,
        succeeded: false,
        created_at: new Date(now - 60_000 + i),
      })),
    );
    const shown = await user(['show', '--email', person.email]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      new RegExp(`^${person.email.replace(/\./g, '\\.')} \\(id ${person.id}\\)\n`),
    );
    assert.match(shown.stdout, /\n {2}sign-in: +locked after too many wrong passwords until /);
    assert.match(shown.stdout, /\n {2}two-factor: +off\n/);

    const unlocked = await user(['unlock', '--email', person.email]);
    assert.equal(unlocked.stdout.trim(), `Unlocked sign-in for ${person.email}.`);
    assert.match(
      (await user(['show', '--email', person.email])).stdout,
      /\n {2}sign-in: +not locked\n/,
    );
    assert.equal(
      (await user(['unlock', '--email', person.email])).stdout.trim(),
      `Sign-in for ${person.email} was not locked; nothing to undo.`,
    );
    const rows = await auditRows(person.id, 'sign_in_unlocked');
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.details.via, 'command line');
  });
});
