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
