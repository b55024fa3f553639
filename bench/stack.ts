import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createDb, type Db } from '../src/db/knex.ts';
import { ROOT } from '../src/dirs.ts';

const run = promisify(execFile);

/** The production server under test, its database, and a handle of our own on that database. */
export interface Stack {
  url: string;
  /** The environment the server runs with (the bench derives its keys from the same values). */
  env: NodeJS.ProcessEnv;
  db: Db;
  /** The server's database, for helpers of the bench that connect on their own. */
  databaseUrl: string;
  server: ChildProcess;
  tmp: string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a child process and resolves with it once `ready` matches its stderr (or stdout). */
export function spawnUntil(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  stdoutFile?: string,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env });
  children.add(child);
  child.on('exit', () => children.delete(child));
  if (stdoutFile) child.stdout!.pipe(fs.createWriteStream(stdoutFile));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start:\n${output}`)),
      60_000,
    );
    const look = (chunk: Buffer) => {
      output += chunk;
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stderr!.on('data', look);
    if (!stdoutFile) child.stdout!.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

const helpers = new Map<string, Promise<{ child: ChildProcess; match: RegExpExecArray }>>();

/**
 * A baseline's helper process (a bare app), started the first time a scenario asks for it with
 * these arguments and reused by the next phase, instead of paying Node's start-up again; like
 * every child, it is killed when the bench exits.
 */
export function sharedHelper(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const key = args.join('\0');
  let helper = helpers.get(key);
  if (!helper) {
    helper = spawnUntil(args, process.env, ready);
    helpers.set(key, helper);
  }
  return helper;
}

async function stopHelpers(): Promise<void> {
  const started = [...helpers.values()];
  helpers.clear();
  for (const helper of started) {
    const stopped = await helper.then(({ child }) => child).catch(() => null);
    if (stopped) await stopChild(stopped);
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * `npm run build` without its type check (`--noCheck`): the benchmark measures the compiled
 * production server, not tsx. tsc writes the same files either way; checking types is `npm test`'s
 * job, and here it took 8 s of a quick run's minute.
 */
export async function build(): Promise<void> {
  await run('npm', ['run', 'build', '--silent', '--', '--noCheck'], { cwd: ROOT });
}

/** A throwaway database on the server DATABASE_URL names (that server's own data is left alone). */
async function throwawayDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `keygate_bench_${crypto.randomBytes(4).toString('hex')}`;
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const own = new URL(url);
  own.pathname = `/${name}`;
  return {
    url: own.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * The Node flags `npm start` runs the server with (package.json's start script), so that the
 * bench measures the process people run.
 */
export function serverNodeFlags(): string[] {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const match = /\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/src\/server\.js/.exec(
    scripts.start ?? '',
  );
  if (!match)
    throw new Error('package.json: the start script does not run node … dist/src/server.js');
  return match[1]!.trim().split(/\s+/).filter(Boolean);
}

/**
 * Builds Keygate and starts `node dist/src/server.js` (with npm start's Node flags) with NODE_ENV=production, throwaway secrets,
 * a throwaway DATA_DIR (its embedded PostgreSQL, unless DATABASE_URL is set) and TRUST_PROXY, so
 * that requests sent as if through a TLS proxy (X-Forwarded-Proto: https) get the Secure
 * `__Host-` cookie exactly as in production.
 */
export async function startStack(
  nodeArgs: string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Stack> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keygate-bench-'));
  // The embedded PostgreSQL runs as the postgres user when we are root: it must traverse this.
  fs.chmodSync(tmp, 0o711);
  const external = process.env.DATABASE_URL
    ? await throwawayDatabase(process.env.DATABASE_URL)
    : null;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(tmp, 'data'),
    DATABASE_URL: external?.url ?? '',
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOTP_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    TRUST_PROXY: 'loopback',
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const { child, match } = await spawnUntil(
    [...serverNodeFlags(), ...nodeArgs, 'dist/src/server.js'],
    env,
    /Keygate is running: (http:\/\/\S+)\/login/,
    path.join(tmp, 'server.log'),
  );
  const databaseUrl =
    external?.url ??
    (await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data', 'postgres') })).url;
  const db = createDb({ url: databaseUrl, statementTimeoutMs: 600_000, poolMax: 4 });
  return {
    url: match[1]!.replace('localhost', '127.0.0.1'),
    env,
    db,
    databaseUrl,
    server: child,
    tmp,
    async stop() {
      await stopHelpers();
      await db.destroy();
      await stopChild(child);
      await external?.drop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Resident memory of a process, in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}
