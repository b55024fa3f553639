import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import request from 'supertest';
import { ROOT } from '../../src/dirs.ts';
import { csrfTokenIn } from '../helpers/agent.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { testSecrets } from '../helpers/app.ts';

const base = fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), 'cli-'));
fs.chmodSync(base, 0o711);
const secrets = testSecrets();
const running: ChildProcess[] = [];
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

function env(dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: '',
    DATA_DIR: dataDir,
    BCRYPT_COST: '10',
    LOG_LEVEL: 'warn',
    ...secrets,
  };
}

function createUser(dataDir: string, args: string[], password: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/create-user.ts', ...args], {
      cwd: ROOT,
      env: env(dataDir),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(`${password}\n`);
  });
}

function startServer(dataDir: string): Promise<ServerProcess> {
  return startServerProcess(env(dataDir));
}

async function signIn(url: string, email: string, password: string) {
  const agent = request.agent(url);
  const page = await agent.get('/login');
  const response = await agent
    .post('/login')
    .type('form')
    .send({ email, password, _csrf: csrfTokenIn(page.text) });
  assert.equal(response.status, 303, `sign-in of ${email}`);
  const home = await agent.get('/');
  assert.equal(home.status, 200);
  assert.match(home.text, new RegExp(email.replace(/\./g, '\\.')));
  return agent;
}

describe('npm run create-user and npm start on the embedded database', () => {
  const dataDir = path.join(base, 'data');

  it('when the input is wrong, then one line says why and the exit code is 1', async () => {
    const cases: [string[], string, RegExp][] = [
      [[], 'a long enough password', /^error: --email is required\nusage: /],
      [
        ['--email', 'not-an-email'],
        'a long enough password',
        /^error: Enter an email address like name@example.com\.$/,
      ],
      [['--email', 'a@example.com'], 'short', /^error: Password must be at least 12 characters\.$/],
      [
        ['--email', 'a@example.com', '--bogus'],
        'a long enough password',
        /^error: Unknown option '--bogus'/,
      ],
    ];
    for (const [args, password, message] of cases) {
      const result = await createUser(dataDir, args, password);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr.trim(), message);
    }
  });

  it('when no server runs, then create-user starts the database itself and leaves it stopped', async () => {
    const result = await createUser(
      dataDir,
      ['--email', 'admin@example.com', '--admin'],
      'a-long-password-1',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'Created administrator admin@example.com (id 1).');
    assert.equal(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), false);
    const duplicate = await createUser(
      dataDir,
      ['--email', 'ADMIN@example.com'],
      'a-long-password-1',
    );
    assert.equal(duplicate.code, 1);
    assert.equal(
      duplicate.stderr.trim(),
      'error: a user with the email ADMIN@example.com already exists',
    );
  });

  it('when the server runs, then create-user uses the same database and the server keeps serving', async () => {
    const server = await startServer(dataDir);
    try {
      assert.doesNotMatch(server.stderr(), /setup\?token=/, 'no setup link once a user exists');
      const result = await createUser(
        dataDir,
        ['--email', 'second@example.com'],
        'second user password',
      );
      assert.equal(result.code, 0, result.stderr);
      await signIn(server.url, 'admin@example.com', 'a-long-password-1');
      await signIn(server.url, 'second@example.com', 'second user password');
      assert.equal((await request(server.url).get('/readyz')).status, 200);
    } finally {
      assert.equal(await server.stop(), 0, 'graceful shutdown exits 0');
    }
    assert.equal(
      fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')),
      false,
      'the database was stopped',
    );
  });

  it('when the server is started again, then the same data and users are there', async () => {
    const server = await startServer(dataDir);
    try {
      await signIn(server.url, 'second@example.com', 'second user password');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('when the database is empty, then the server prints a setup link that creates the first admin once', async () => {
    const emptyDir = path.join(base, 'empty');
    const server = await startServer(emptyDir);
    try {
      const link = /(http:\/\/\S+\/setup\?token=[A-Za-z0-9_-]+)/.exec(server.stderr())?.[1];
      assert.ok(link, server.stderr());
      const agent = request.agent(server.url);
      const setupPath = link.slice(server.url.length);
      const page = await agent.get(setupPath);
      assert.equal(page.status, 200);
      const token = new URL(link).searchParams.get('token')!;
      const created = await agent
        .post('/setup')
        .type('form')
        .send({
          token,
          email: 'root@example.com',
          password: 'the first admin password',
          confirmPassword: 'the first admin password',
          _csrf: csrfTokenIn(page.text),
        });
      assert.equal(created.status, 303);
      assert.equal((await request(server.url).get(setupPath)).status, 410);
      const logs = fs.readdirSync(emptyDir);
      assert.ok(logs.includes('postgres'));
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
