import fs from 'node:fs';

/**
 * Where a load's CPU went, machine-wide (Linux /proc): every process's user + system time before
 * and after, grouped as the bench client (this process, autocannon included), PostgreSQL, nginx,
 * the auth server asked, and everything else. On a 2-core machine the parts compete for the same
 * cores, so a call's cost is the sum of what every process spent on it.
 */
export type CpuGroup = 'client' | 'postgres' | 'nginx' | 'auth server' | 'other';

type Snapshot = Map<number, { group: CpuGroup; ticks: number }>;

const TICKS_PER_SECOND = 100;

function groupOf(pid: number, comm: string, authPid: number | undefined): CpuGroup {
  if (pid === process.pid) return 'client';
  if (pid === authPid) return 'auth server';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'nginx') return 'nginx';
  return 'other';
}

/** Every process's CPU ticks so far, grouped. Processes that end between snapshots are lost. */
export function cpuSnapshot(authPid?: number): Snapshot {
  const snapshot: Snapshot = new Map();
  if (process.platform !== 'linux') return snapshot;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const pid = Number(entry);
      snapshot.set(pid, {
        group: groupOf(pid, comm, authPid),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process ended while the directory was read.
    }
  }
  return snapshot;
}

/** Microseconds of CPU per request, by group, between two snapshots (empty off Linux). */
export function cpuPerRequest(
  before: Snapshot,
  after: Snapshot,
  requests: number,
): Partial<Record<CpuGroup, number>> {
  const totals: Partial<Record<CpuGroup, number>> = {};
  for (const [pid, now] of after) {
    const ticks = now.ticks - (before.get(pid)?.ticks ?? 0);
    if (ticks <= 0) continue;
    totals[now.group] = (totals[now.group] ?? 0) + ticks;
  }
  const perRequest: Partial<Record<CpuGroup, number>> = {};
  for (const [group, ticks] of Object.entries(totals) as [CpuGroup, number][])
    perRequest[group] = ((ticks / TICKS_PER_SECOND) * 1e6) / Math.max(1, requests);
  return perRequest;
}

/** "client 61, nginx 70, auth server 49, postgres 30 µs" for a report line. */
export function cpuText(split: Partial<Record<CpuGroup, number>>): string {
  const order: CpuGroup[] = ['client', 'nginx', 'auth server', 'postgres', 'other'];
  const parts = order
    .filter((group) => split[group] !== undefined)
    .map((group) => `${group} ${Math.round(split[group]!)}`);
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  return parts.length ? `${parts.join(', ')}; total ${Math.round(total)} µs` : 'not measured';
}
