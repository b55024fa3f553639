import fs from 'node:fs';
import path from 'node:path';

/** The line initialise() appends last: a cluster without it was never finished. */
export const CONFIG_MARKER = '# Keygate embedded server';

/**
 * A start that failed half-way (initdb could not run, or was killed) leaves a directory that
 * holds no data yet: no finished configuration, and no server ever started on it (a postmaster
 * writes postmaster.opts at every start). Such a directory is removed so that this start builds
 * the cluster again. Anything else is not ours to delete: that refuses with what to do.
 */
export function removeHalfMadeCluster(dataDir: string, log: (message: string) => void) {
  if (!fs.existsSync(dataDir)) return;
  const entries = fs.readdirSync(dataDir);
  let finished = false;
  try {
    finished = fs
      .readFileSync(path.join(dataDir, 'postgresql.conf'), 'utf8')
      .includes(CONFIG_MARKER);
  } catch {
    // no postgresql.conf: initdb never got that far
  }
  if (finished) return;
  const madeByInitdb = entries.length === 0 || entries.includes('PG_VERSION');
  if (!madeByInitdb || entries.includes('postmaster.opts')) {
    throw new Error(
      `${dataDir} holds files that are not a cluster Keygate made; move that folder away (or set DATA_DIR to another folder) and start again`,
    );
  }
  log(
    `rebuilding the embedded PostgreSQL cluster in ${dataDir}: an earlier start stopped before it was ready (it held no data)`,
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
}
