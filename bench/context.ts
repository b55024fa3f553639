import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KeyRing } from '../src/auth/encryption.ts';
import { codeForStep, stepAt } from '../src/auth/totp.ts';
import { ROOT } from '../src/dirs.ts';
import type { Browser } from './client.ts';
import type { BenchOptions } from './options.ts';
import type { SeedMaterial, UserPool } from './seed.ts';
import type { Stack } from './stack.ts';

const run = promisify(execFile);

export interface BenchContext {
  options: BenchOptions;
  stack: Stack;
  material: SeedMaterial;
  keys: KeyRing;
  bcryptCost: number;
  sessionSecret: string;
  pruneIntervalMs: number;
  /** Fresh users (no code used yet) for scenarios that complete sign-ins. */
  pool: UserPool;
  /** Highest user id seeded so far (ids start at 1, the admin). */
  userCount: number;
  /** The admin, signed in with password and code. */
  admin: Browser;
}

const codes = new Map<number, string>();

/** The code every seeded user's app shows now (they share one secret, encrypted per user). */
export async function currentCode(secret: string): Promise<string> {
  const step = stepAt(Date.now());
  let code = codes.get(step);
  if (!code) {
    code = await codeForStep(secret, step);
    codes.set(step, code);
  }
  return code;
}

/**
 * Codes for the next `minutes`, so that a long load run can pick the current one synchronously
 * (autocannon builds requests synchronously).
 */
export async function codesAhead(secret: string, minutes: number): Promise<() => string> {
  const first = stepAt(Date.now());
  const ahead = new Map<number, string>();
  for (let step = first; step <= first + minutes * 2 + 1; step++) {
    ahead.set(step, await codeForStep(secret, step));
  }
  return () => {
    const code = ahead.get(stepAt(Date.now()));
    if (!code) throw new Error('the run outlasted its precomputed codes');
    return code;
  };
}

/** A 6-digit code that is wrong now (not the code of any step within ±1). */
export async function wrongCode(secret: string): Promise<string> {
  const step = stepAt(Date.now());
  const near = await Promise.all([-1, 0, 1].map((offset) => codeForStep(secret, step + offset)));
  return ['000000', '111111', '222222', '333333'].find((code) => !near.includes(code))!;
}

/** bcrypt comparisons per second at `cost`, measured in a process of its own. */
export async function bcryptCeiling(cost: number, seconds: number): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'bench/bcrypt-ceiling.ts', String(cost), String(seconds)],
    { cwd: ROOT },
  );
  return (JSON.parse(stdout) as { perSecond: number }).perSecond;
}

/** A random seeded user id (not the admin). */
export function anyUser(ctx: BenchContext): number {
  return 2 + Math.floor(Math.random() * (ctx.userCount - 1));
}

/**
 * How long one of a scenario's alternating measurements runs: half of --seconds (at least 1 s),
 * or half a second in a quick run, CI's smoke test, whose figures only show that it all works.
 */
export function measurementSeconds(ctx: BenchContext): number {
  return ctx.options.quick ? 0.5 : Math.max(1, ctx.options.seconds / 2);
}
