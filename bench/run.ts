/**
 * `npm run bench [-- --quick] [--users N] [--scale-users N] [--seconds S]`
 *
 * Builds Keygate, starts the production server as its own process on a throwaway database,
 * seeds users, drives each scenario with autocannon from this process, and prints one table
 * (every figure next to the baseline measured in the same run) plus a JSON file in bench/results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { ROOT } from '../src/dirs.ts';
import { Browser } from './client.ts';
import { signInAdmin } from './admin.ts';
import type { BenchContext } from './context.ts';
import { cpuTimes, machineInfo, stealShare } from './machine.ts';
import { parseOptions } from './options.ts';
import { runPhase, type PhaseResult } from './phase.ts';
import { renderTable, type Row } from './report.ts';
import {
  anonymousRows,
  attackRows,
  databaseRows,
  gateRows,
  memoryRows,
  oidcRows,
  outboxRows,
  phaseRows,
  recoveryRows,
  scaleRows,
} from './rows.ts';
import { anonymousSessions } from './scenarios/anonymous-sessions.ts';
import { attackIsolation } from './scenarios/attack.ts';
import { databaseWork } from './scenarios/database-work.ts';
import { gateScenario, type GateResult } from './scenarios/gate.ts';
import { memory } from './scenarios/memory.ts';
import { oidcScenario } from './scenarios/oidc.ts';
import { outboxScenario } from './scenarios/outbox.ts';
import { recoveryCodes } from './scenarios/recovery.ts';
import { seedMaterial, seedUsers, UserPool } from './seed.ts';
import { build, startStack, type Stack } from './stack.ts';

const started = Date.now();
const cpuAtStart = cpuTimes();
let cpuAtLastLine = cpuAtStart;
let lastLine = '';
let lastLineAt = Date.now();
/** Steps during which the hypervisor took more than this share of the CPU: listed after the table. */
const NOISY_STEAL = 0.05;
const noisySteps: { step: string; steal: number }[] = [];
/** A progress line, with the hypervisor's steal during the step it ends (machine.ts). */
const say = (line: string) => {
  const now = cpuTimes();
  const steal = stealShare(cpuAtLastLine, now);
  cpuAtLastLine = now;
  // A step of under a second (a progress line right after another) has too few ticks to judge.
  if (steal !== null && steal > NOISY_STEAL && lastLine && Date.now() - lastLineAt >= 1000)
    noisySteps.push({ step: lastLine.trim(), steal });
  lastLine = line;
  lastLineAt = Date.now();
  const stolen =
    steal === null ? '' : `   (steal during the step before: ${(steal * 100).toFixed(1)} %)`;
  process.stderr.write(
    `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}${stolen}\n`,
  );
};

async function seed(ctx: BenchContext, from: number, to: number) {
  // A line before and one after, so that the seed's steal is its own, not the step's before it.
  say(`seeding users ${from}..${to}`);
  const t = Date.now();
  await seedUsers(ctx.stack.db, ctx.material, from, to);
  say(`seeded users ${from}..${to} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return (Date.now() - t) / 1000;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  say(`building (npm run build)`);
  await build();
  say('starting the production server and its database');
  // A quick run is CI's smoke test: its bcrypt runs at the lowest cost Keygate accepts, unless
  // BCRYPT_COST says otherwise (the full run keeps the server's default).
  let stack: Stack | null = await startStack(
    [],
    options.quick ? { BCRYPT_COST: process.env.BCRYPT_COST ?? '10' } : {},
  );
  const interrupted = () => {
    void (stack ? stack.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const config = loadConfig(stack.env);
    const keys = config.totpKeys;
    const material = await seedMaterial(keys, config.bcryptCost);
    const ctx: BenchContext = {
      options,
      stack,
      material,
      keys,
      bcryptCost: config.bcryptCost,
      sessionSecret: config.sessionSecrets[0]!,
      pruneIntervalMs: config.pruneIntervalMs,
      pool: new UserPool(2, options.users),
      userCount: options.users,
      admin: null as unknown as Browser,
    };
    const seedSeconds: Record<string, number> = {};
    seedSeconds[options.users] = await seed(ctx, 1, options.users);
    ctx.admin = await signInAdmin(ctx);
    const machine = await machineInfo(stack.db);
    say(
      `machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, PostgreSQL ${machine.postgres}`,
    );

    const phases: PhaseResult[] = [await runPhase(ctx, say)];
    say('4 database work per sign-in');
    const database = await databaseWork(ctx);
    say('5 recovery codes');
    const recovery = await recoveryCodes(ctx);
    say('6 attack isolation');
    const attack = await attackIsolation(ctx);
    // 8 and 9 run at the main user count, like 1-6; only scenario 7 grows the table.
    say(`8 memory (${options.bulkRequests} mixed requests)`);
    const mem = await memory(ctx);
    say(`9 anonymous sessions (${options.bulkRequests} page views)`);
    const anonymous = await anonymousSessions(ctx);
    say(`10 forward-auth gate through nginx (${options.gateSessions} live sessions)`);
    // At the first size the gate's runs alternate with a third, the floor: the bare endpoint
    // waiting for a batched SELECT 1, what one round trip to the database costs on this machine
    // with nothing else done (row 10 cannot beat it while each call asks the database). Not in a
    // quick run, which has a minute (`npm run bench:gate -- --quick --floor` runs it alone).
    const gate: GateResult[] = [
      await gateScenario(ctx, options.gateSessions, { floor: !options.quick }),
    ];
    say('12 OpenID provider: code exchange and userinfo');
    const oidc = await oidcScenario(ctx);
    say('13 outbox: sign-ins that queue a mail vs none');
    const outbox = await outboxScenario(ctx);

    if (options.scaleUsers) {
      seedSeconds[options.scaleUsers] = await seed(ctx, options.users + 1, options.scaleUsers);
      ctx.userCount = options.scaleUsers;
      ctx.pool = new UserPool(options.users + 1, options.scaleUsers);
      phases.push(await runPhase(ctx, say));
      say('10 forward-auth gate at the second size');
      gate.push(await gateScenario(ctx, options.gateSessions));
    }

    const rows: Row[] = [
      ...phases.flatMap(phaseRows),
      ...(phases.length === 2 ? scaleRows(phases[0]!, phases[1]!) : []),
      ...databaseRows(database),
      ...recoveryRows(recovery),
      ...attackRows(attack),
      ...memoryRows(mem),
      ...anonymousRows(anonymous),
      ...gateRows(gate),
      ...oidcRows(oidc, phases[0]!.login.rps),
      ...outboxRows(outbox),
    ].sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    say('done');
    const seconds = (Date.now() - started) / 1000;
    const steal = stealShare(cpuAtStart, cpuTimes());
    const table = renderTable(rows);
    console.log(
      `\nKeygate benchmark${options.quick ? ' (quick)' : ''}: ${options.users} users${options.scaleUsers ? ` and ${options.scaleUsers}` : ''}, BCRYPT_COST ${config.bcryptCost}, UV_THREADPOOL_SIZE ${machine.uvThreadpoolSize}, ${options.connections} connections`,
    );
    console.log(
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.platform}, Node ${machine.node}, PostgreSQL ${machine.postgres}${steal === null ? '' : `; steal ${(steal * 100).toFixed(1)} % of the CPU time during the run`}\n`,
    );
    console.log(table);
    const passed = rows.filter((r) => r.pass === true).length;
    const failed = rows.filter((r) => r.pass === false).length;
    console.log(`\n${passed} passed, ${failed} failed, in ${seconds.toFixed(0)} s`);
    // A VM's neighbours take CPU in bursts that no same-run ratio cancels: say where they did.
    if (noisySteps.length)
      console.log(
        `steps during which the hypervisor took more than ${NOISY_STEAL * 100} % of the CPU (steal): ${noisySteps
          .map(({ step, steal: share }) => `${step} (${(share * 100).toFixed(1)} %)`)
          .join('; ')}`,
      );

    const dir = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(
      dir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}${options.quick ? '-quick' : ''}.json`,
    );
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          seconds,
          steal,
          noisySteps,
          options,
          machine,
          seedSeconds,
          rows,
          phases,
          database,
          recovery,
          attack,
          memory: mem,
          anonymous,
          gate,
          oidc,
          outbox,
        },
        null,
        2,
      ),
    );
    console.log(`results: ${path.relative(ROOT, file)}`);
    const toStop = stack;
    stack = null;
    await toStop.stop();
  } finally {
    if (stack) {
      // A failed run keeps the server's log: the temporary directory goes with the stack.
      const kept = path.join(
        ROOT,
        'bench',
        'results',
        `server-${new Date().toISOString().replace(/[:.]/g, '-')}.log`,
      );
      try {
        fs.mkdirSync(path.dirname(kept), { recursive: true });
        fs.copyFileSync(path.join(stack.tmp, 'server.log'), kept);
        console.error(`server log kept: ${path.relative(ROOT, kept)}`);
      } catch {
        // no log to keep
      }
      await stack.stop().catch(() => undefined);
    }
  }
}

main().catch((error: unknown) => {
  console.error(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
