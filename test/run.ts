/**
 * The test command: starts a throwaway embedded PostgreSQL (or uses DATABASE_URL, which must be
 * allowed to create databases), builds one migrated template database, runs every test file with
 * Node's test runner (each file copies the template into a database of its own), then removes
 * everything it made.
 *
 *   node --import tsx test/run.ts [files…]
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createDb, migrateToLatest } from '../src/db/knex.ts';
import { ROOT } from '../src/dirs.ts';

function findTestFiles(dir: string, suffix: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return findTestFiles(full, suffix);
      return entry.name.endsWith(suffix) ? [full] : [];
    })
    .sort();
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

// `--suite=browser` runs the real-browser journeys (test/browser/*.browser.ts, which need
// Chromium); the default suite is every *.test.ts.
const browserSuite = process.argv.includes('--suite=browser');
const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('--suite='));
const files = requested.length
  ? requested
  : browserSuite
    ? findTestFiles(path.join(ROOT, 'test', 'browser'), '.browser.ts')
    : findTestFiles(path.join(ROOT, 'test'), '.test.ts');
const partialRun = requested.length > 0 || browserSuite;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keygate-test-'));
fs.chmodSync(tmp, 0o711);
const outputDir = path.join(ROOT, 'test-output', ...(browserSuite ? ['browser'] : []));
const logDir = path.join(outputDir, 'logs');
const secretsDir = path.join(outputDir, 'secrets');
// The browser suite's screenshots and page list are its output: each run starts them afresh.
if (browserSuite) fs.rmSync(outputDir, { recursive: true, force: true });
for (const dir of [logDir, secretsDir]) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

const started = Date.now();
const embedded = process.env.DATABASE_URL
  ? null
  : await startEmbeddedPostgres({ dataDir: path.join(tmp, 'postgres') });
const adminUrl = embedded ? embedded.adminUrl : withDatabase(process.env.DATABASE_URL!, 'postgres');
const template = `keygate_test_template_${crypto.randomBytes(4).toString('hex')}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
let exitCode = 1;
try {
  await admin.query(`CREATE DATABASE ${template}`);
  const db = createDb({ url: withDatabase(adminUrl, template), statementTimeoutMs: 30_000 });
  await migrateToLatest(db);
  await db.destroy();
  process.stderr.write(
    `test database ready in ${Date.now() - started} ms (${embedded ? 'embedded' : 'DATABASE_URL'})\n`,
  );

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', ...files],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        DATABASE_URL: '',
        KEYGATE_TEST_ADMIN_URL: adminUrl,
        KEYGATE_TEST_TEMPLATE: template,
        KEYGATE_TEST_LOG_DIR: logDir,
        KEYGATE_TEST_SECRETS_DIR: secretsDir,
        KEYGATE_TEST_TMP: tmp,
        KEYGATE_TEST_OUTPUT_DIR: outputDir,
      },
    },
  );
  exitCode = await new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
} finally {
  // Each file drops its own database; this catches the ones a crashed file left behind.
  const leftovers = await admin
    .query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${template}%`,
    ])
    .catch(() => ({ rows: [] }));
  for (const { datname } of leftovers.rows) {
    await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
  await admin.end();
  await embedded?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (scanLogsForSecrets() > 0) exitCode = 1;
process.exit(exitCode);

/**
 * Checklist #46: after the whole suite, no log line may hold any password, code, TOTP secret,
 * session id, CSRF token or setup token the tests used, and the logs must hold the auth events.
 */
function scanLogsForSecrets(): number {
  const logs = fs
    .readdirSync(logDir)
    .map((file) => fs.readFileSync(path.join(logDir, file), 'utf8'));
  const secrets = fs
    .readdirSync(secretsDir)
    .flatMap((file) =>
      fs.readFileSync(path.join(secretsDir, file), 'utf8').split('\n').filter(Boolean),
    )
    .map((line) => JSON.parse(line) as { kind: string; value: string });
  const text = logs.join('\n');
  const leaks = secrets.filter(({ kind, value }) =>
    // Six-digit codes are searched as they would appear if logged: a JSON string.
    kind === 'totp code' ? text.includes(`"${value}"`) : value.length >= 8 && text.includes(value),
  );
  const events = [
    '"sign_in"',
    '"sign_in_failed"',
    '"second_factor_failed"',
    '"two_factor_enabled"',
  ];
  // A run of a few chosen files need not sign anyone in with a second factor; the whole suite must.
  const missing = partialRun ? [] : events.filter((event) => !text.includes(event));
  for (const leak of leaks)
    process.stdout.write(`# LEAK: a ${leak.kind} used by the tests appears in the logs\n`);
  for (const event of missing) process.stdout.write(`# the logs hold no ${event} event\n`);
  process.stdout.write(
    `# log scan: ${logs.length} log files, ${secrets.length} secret values searched, ${leaks.length} found, ${partialRun ? 'auth events not checked on a partial run' : `${events.length - missing.length}/${events.length} auth events present`}\n`,
  );
  return leaks.length + missing.length;
}
