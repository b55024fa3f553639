import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * PostgreSQL refuses to run as root, so as root the embedded server runs as the `postgres` system
 * user. That user must reach the binaries and the cluster: a project cloned into root's home
 * (mode 0700) gives it neither. This module finds out, and keeps what it cannot reach in
 * ROOT_RUNTIME_DIR instead (README, "Running as root").
 */
export interface PostgresUser {
  uid: number;
  gid: number;
  /** Every group the user is in (for the group bits of a directory's mode). */
  groups: number[];
}

/** Where, as root, the binaries and any cluster the postgres user cannot reach in place are kept. */
export const ROOT_RUNTIME_DIR = '/var/lib/keygate';

/** The postgres system user when we are root (created if missing), else null. */
export async function postgresUserIfRoot(): Promise<PostgresUser | null> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const lookup = async (): Promise<PostgresUser> => {
    const [uid, gid, groups] = await Promise.all(
      ['-u', '-g', '-G'].map((flag) => run('id', [flag, 'postgres']).then((r) => r.stdout.trim())),
    );
    return { uid: Number(uid), gid: Number(gid), groups: groups!.split(/\s+/).map(Number) };
  };
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

/** Whether `user` has every bit of `want` (4 read, 2 write, 1 execute) on `target`. */
function allows(user: PostgresUser, target: string, want: number): boolean {
  const stat = fs.statSync(target);
  const bits =
    stat.uid === user.uid
      ? (stat.mode >> 6) & 7
      : user.groups.includes(stat.gid)
        ? (stat.mode >> 3) & 7
        : stat.mode & 7;
  return (bits & want) === want;
}

/**
 * The first directory from / down to `dir` (inclusive) that `user` cannot pass through, or null.
 * Missing directories below an existing one are ours to create, so they do not count.
 */
export function firstBlockingDirectory(user: PostgresUser, dir: string): string | null {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (const part of ['', ...parts]) {
    current = path.join(current, part);
    if (!fs.existsSync(current)) return null;
    if (!allows(user, current, 1)) return current;
  }
  return null;
}

export function describeMode(dir: string): string {
  return `${dir} is mode ${(fs.statSync(dir).mode & 0o777).toString(8).padStart(4, '0')}`;
}

/**
 * The directory of `initdb`/`pg_ctl`/`postgres` (with lib/ and share/ beside it) where `user` can
 * run them: in place when reachable, else a copy in ROOT_RUNTIME_DIR made once per version.
 * The copy goes to a temporary name and is renamed into place, so two starts at once never
 * see half a copy.
 */
export function reachableBinaryDir(
  user: PostgresUser,
  nativeDir: string,
  version: string,
  log: (message: string) => void,
): string {
  const binDir = path.join(nativeDir, 'bin');
  const blocking = firstBlockingDirectory(user, binDir);
  if (!blocking && allows(user, path.join(binDir, 'initdb'), 5)) return nativeDir;
  const target = path.join(ROOT_RUNTIME_DIR, `postgres-${version}`);
  if (!fs.existsSync(path.join(target, 'bin', 'pg_ctl'))) {
    fs.mkdirSync(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
    fs.chmodSync(ROOT_RUNTIME_DIR, 0o755);
    const partial = `${target}.partial-${crypto.randomBytes(4).toString('hex')}`;
    fs.cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(partial, 0o755);
    try {
      fs.renameSync(partial, target);
    } catch (error) {
      // Another start finished its copy first: use that one.
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(path.join(target, 'bin', 'pg_ctl'))) throw error;
    }
  }
  log(
    `running as root: the postgres user cannot reach ${nativeDir} (${describeMode(blocking ?? binDir)}), so the embedded PostgreSQL runs from a copy of its binaries in ${target}`,
  );
  return target;
}

/**
 * Where the cluster meant for `dataDir` lives: `dataDir` itself when `user` can reach its parent,
 * else a directory of its own under ROOT_RUNTIME_DIR, named after `dataDir` so that every command
 * run on the same project finds the same cluster. A cluster already in an unreachable `dataDir`
 * is never replaced by a new empty one: that refuses with what to do.
 */
export function reachableClusterDir(
  user: PostgresUser,
  dataDir: string,
  log: (message: string) => void,
): string {
  const blocking = firstBlockingDirectory(user, path.dirname(dataDir));
  if (!blocking) return dataDir;
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new Error(
      `the embedded PostgreSQL runs as the postgres user, which cannot reach its data in ${dataDir} (${describeMode(blocking)}); run "chmod o+x ${blocking}" or move the project to a folder others can enter`,
    );
  }
  const id = crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const relocated = path.join(ROOT_RUNTIME_DIR, 'clusters', id, 'postgres');
  log(
    `running as root: the postgres user cannot reach ${dataDir} (${describeMode(blocking)}), so the embedded PostgreSQL keeps its data in ${relocated}`,
  );
  fs.mkdirSync(path.dirname(relocated), { recursive: true, mode: 0o711 });
  fs.chmodSync(ROOT_RUNTIME_DIR, 0o755);
  fs.chmodSync(path.dirname(path.dirname(relocated)), 0o711);
  return relocated;
}
