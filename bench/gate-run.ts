/**
 * `npm run bench:gate [-- --quick] [--users N] [--scale-users N] [--seconds S] [--floor]`:
 * scenario 10 of `npm run bench` alone (the forward-auth gate through nginx), at --users and,
 * unless --scale-users is 0, again at --scale-users; prints its rows. --floor also measures the
 * bare endpoint waiting for a `SELECT 1`, batched as Keygate batches its lookup (what the round
 * trip alone costs here).
 */
import { loadConfig } from '../src/config.ts';
import { Browser } from './client.ts';
import type { BenchContext } from './context.ts';
import { parseOptions } from './options.ts';
import { renderTable } from './report.ts';
import { gateRows } from './rows.ts';
import { gateScenario, type GateResult } from './scenarios/gate.ts';
import { seedMaterial, seedUsers, UserPool } from './seed.ts';
import { build, startStack } from './stack.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);
const floor = process.argv.includes('--floor');
const options = parseOptions(process.argv.slice(2).filter((arg) => arg !== '--floor'));
await build();
const stack = await startStack();
try {
  const config = loadConfig(stack.env);
  const material = await seedMaterial(config.totpKeys, config.bcryptCost);
  const ctx: BenchContext = {
    options,
    stack,
    material,
    keys: config.totpKeys,
    bcryptCost: config.bcryptCost,
    sessionSecret: config.sessionSecrets[0]!,
    pruneIntervalMs: config.pruneIntervalMs,
    pool: new UserPool(2, options.users),
    userCount: options.users,
    admin: null as unknown as Browser,
  };
  await seedUsers(stack.db, material, 1, options.users);
  say(`seeded ${options.users} users; gate with ${options.gateSessions} live sessions`);
  const results: GateResult[] = [await gateScenario(ctx, options.gateSessions, { floor })];
  if (options.scaleUsers) {
    await seedUsers(stack.db, material, options.users + 1, options.scaleUsers);
    await stack.db.raw('VACUUM ANALYZE users');
    ctx.userCount = options.scaleUsers;
    say(`seeded up to ${options.scaleUsers} users`);
    results.push(await gateScenario(ctx, options.gateSessions, { floor }));
  }
  const rows = gateRows(results);
  console.log(`\nKeygate gate benchmark${options.quick ? ' (quick)' : ''}\n`);
  console.log(renderTable(rows));
  const passed = rows.filter((r) => r.pass === true).length;
  const failed = rows.filter((r) => r.pass === false).length;
  console.log(`\n${passed} passed, ${failed} failed`);
} finally {
  await stack.stop();
}
