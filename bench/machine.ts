import fs from 'node:fs';
import os from 'node:os';
import type { Knex } from 'knex';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  postgres: string;
  platform: string;
  uvThreadpoolSize: number;
  loadAverageAtStart: number[];
}

/** What the figures were measured on: ratios travel between machines, absolute numbers do not. */
export async function machineInfo(db: Knex): Promise<MachineInfo> {
  const { rows } = await db.raw<{ rows: { server_version: string }[] }>('SHOW server_version');
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: rows[0]?.server_version ?? 'unknown',
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    uvThreadpoolSize: uvThreadpoolSize(),
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

/** The server inherits our environment, so this is its libuv pool size too (bcrypt runs there). */
export function uvThreadpoolSize(): number {
  return Number(process.env.UV_THREADPOOL_SIZE) || 4;
}

/** The machine's CPU time so far, from /proc/stat (Linux; null elsewhere), in clock ticks. */
export interface CpuTimes {
  total: number;
  steal: number;
}

export function cpuTimes(): CpuTimes | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7]! };
  } catch {
    return null;
  }
}

/**
 * Steal between two readings, as a share of the machine's CPU time: time this virtual machine's
 * processors were ready to run and the hypervisor ran another guest instead. A run with much of it
 * measured a machine shared with others, which no ratio in the run fully cancels.
 */
export function stealShare(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return (after.steal - before.steal) / (after.total - before.total);
}
