import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hashGateToken, newGateToken } from '../../src/auth/gate.ts';
import { freePort, startProxy, viaProxy } from '../../test/helpers/proxies.ts';
import { measurementSeconds, type BenchContext } from '../context.ts';
import { cpuPerRequest, cpuSnapshot, type CpuGroup } from '../cpu-split.ts';
import { expectStatuses, load, type LoadResult } from '../load.ts';
import { sharedHelper } from '../stack.ts';

export interface GateResult {
  users: number;
  sessions: number;
  rps: number;
  p99: number;
  bareRps: number;
  bareP99: number;
  /** Per authz call, from pg_stat_statements (exact: the calls run one at a time). */
  statementsPerCall: number;
  writesPerCall: number;
  /**
   * With the floor (bench:gate --floor; a full run's first size): the bare server waiting for a
   * batched SELECT 1 (bench/bare-authz.ts).
   */
  floorRps?: number;
  floorP99?: number;
  /** CPU µs per request by process group (Linux), for Keygate's runs, the bare's and the floor's. */
  cpu: { keygate: CpuSplit; bare: CpuSplit; floor?: CpuSplit };
}

type CpuSplit = Partial<Record<CpuGroup, number>>;

const HOST = 'app.bench.test';
let seeded: string[] | undefined;
const WRITE = /^\s*(with\b[\s\S]*\b)?(insert|update|delete)\b/i;

/** Live signed-in sessions with gate tokens, written as the portal writes them; their cookies. */
async function seedGateSessions(ctx: BenchContext, count: number): Promise<string[]> {
  const now = Date.now();
  const tokens: string[] = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const token = newGateToken();
    tokens.push(token);
    // Users 2… (1 is the admin), spread over everyone seeded.
    const userId = String(2 + (i % (ctx.userCount - 1)));
    const sess = {
      cookie: {
        originalMaxAge: 3_600_000,
        expires: new Date(now + 3_600_000).toISOString(),
        secure: true,
        httpOnly: true,
        path: '/',
        sameSite: 'lax',
      },
      userId,
      generation: 0,
      createdAt: now,
      lastSeenAt: now,
      authAt: now,
      gateHash: hashGateToken(token),
    };
    rows.push({ sid: crypto.randomBytes(24).toString('base64url'), sess: JSON.stringify(sess) });
  }
  for (let i = 0; i < rows.length; i += 5000) {
    await ctx.stack.db.raw(
      `INSERT INTO sessions (sid, sess, expire)
       SELECT sid, sess::json, to_timestamp(?) FROM json_to_recordset(?::json) AS t(sid text, sess text)`,
      [(now + 3_600_000) / 1000, JSON.stringify(rows.slice(i, i + 5000))],
    );
  }
  await ctx.stack.db.raw('ANALYZE sessions');
  return tokens;
}

async function statementCounts(ctx: BenchContext) {
  const { rows } = await ctx.stack.db.raw<{ rows: { query: string; calls: string }[] }>(
    `SELECT query, calls FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT ILIKE '%pg_stat_statements%'`,
  );
  return new Map(rows.map((r) => [r.query, Number(r.calls)]));
}

interface Measured {
  run: LoadResult;
  cpu: CpuSplit;
}

function combine(runs: Measured[]) {
  const requests = runs.reduce((a, r) => a + r.run.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.run.seconds, 0);
  // CPU per request over all runs, weighted by their requests.
  const cpu: CpuSplit = {};
  for (const { run, cpu: split } of runs)
    for (const [group, us] of Object.entries(split) as [CpuGroup, number][])
      cpu[group] = (cpu[group] ?? 0) + (us * run.requests) / requests;
  return { rps: requests / seconds, p99: Math.max(...runs.map((r) => r.run.p99)), cpu };
}

export const GATE_HOST = HOST;

/**
 * The protected app on GATE_HOST and the gate cookies of `sessions` live sessions, seeded once:
 * the second size measures more users behind the same sessions, and scenario 8 uses them too.
 */
export async function liveGateTokens(ctx: BenchContext, sessions: number): Promise<string[]> {
  await ctx.stack
    .db('protected_apps')
    .insert({ name: `Bench ${ctx.userCount}`, host: HOST })
    // The unique index on (host, path_prefix) is partial: OIDC-only apps have no host.
    .onConflict(ctx.stack.db.raw(`(host, path_prefix) WHERE host <> ''`))
    .ignore();
  seeded ??= await seedGateSessions(ctx, sessions);
  return seeded;
}

/**
 * Scenario 10: a static page behind nginx's auth_request, asked about Keygate (a real gate cookie
 * of one of `sessions` live sessions per request) against the same page behind nginx asking a
 * bare Node server that answers 200. Same nginx template (proxy/nginx.conf.template), same static
 * upstream (served by nginx itself), alternating runs; plus the statements one call costs. With
 * `floor`, a third nginx asks the floor (bench/bare-authz.ts with a database), in the same rounds.
 */
export async function gateScenario(
  ctx: BenchContext,
  sessions: number,
  options: { floor?: boolean } = {},
): Promise<GateResult> {
  const tokens = await liveGateTokens(ctx, sessions);
  await ctx.stack.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  // Every live session was active this minute (as in steady use): the idle clock's one write a
  // minute per session is not what a load of a few seconds over 100k sessions should measure.
  await ctx.stack.db.raw(
    `UPDATE sessions SET sess = (sess::jsonb || jsonb_build_object('lastSeenAt', ?::bigint))::json
     WHERE gate_hash IS NOT NULL`,
    [Date.now()],
  );
  await ctx.stack.db.raw('VACUUM ANALYZE sessions');
  const keygatePort = Number(new URL(ctx.stack.url).port);
  const { child: bareChild, match } = await sharedHelper(
    ['--import', 'tsx', 'bench/bare-authz.ts'],
    /bare authz listening on http:\/\/127\.0\.0\.1:(\d+)/,
  );
  const floorServer = options.floor
    ? await sharedHelper(
        ['--import', 'tsx', 'bench/bare-authz.ts', ctx.stack.databaseUrl],
        /bare authz listening on http:\/\/127\.0\.0\.1:(\d+)/,
      )
    : null;
  const staticDir = fs.mkdtempSync(path.join(ctx.stack.tmp, 'static-'));
  fs.chmodSync(staticDir, 0o755);
  fs.writeFileSync(
    path.join(staticDir, 'index.html'),
    '<!DOCTYPE html><title>app</title><p>A protected static page.</p>\n',
  );
  const staticPort = await freePort();
  const staticServer = `server {\n    listen 127.0.0.1:${staticPort};\n    root ${staticDir};\n}`;
  const start = async (authPort: number, withStatic: boolean) =>
    startProxy('nginx', {
      port: await freePort(),
      keygatePort: authPort,
      appPort: staticPort,
      authHost: 'auth.bench.test',
      appHosts: [HOST],
      // nginx closes a client's connection after its 1,000th request by default, and autocannon
      // counts a request caught in that as a connection error (about 1 in 16,000 here).
      extraHttp: `keepalive_requests 1000000;\n${withStatic ? staticServer : ''}`,
    });
  const gated = await start(keygatePort, true);
  const baseline = await start(Number(match[1]), false);
  const floor = floorServer ? await start(Number(floorServer.match[1]), false) : null;
  const shape = (port: number) => (index: number) => ({
    path: '/',
    headers: {
      host: `${HOST}:${port}`,
      cookie: `__Secure-keygate-gate=${tokens[index % tokens.length]}`,
      accept: 'text/html',
    },
  });
  try {
    const url = (port: number) => `http://127.0.0.1:${port}`;
    // Warm both (connections, plans), and check that both really serve the page.
    expectStatuses(
      'gate warm-up',
      await load({ url: url(gated.port), connections: 4, amount: 200, request: shape(gated.port) }),
      [200],
    );
    expectStatuses(
      'baseline warm-up',
      await load({
        url: url(baseline.port),
        connections: 4,
        amount: 200,
        request: shape(baseline.port),
      }),
      [200],
    );

    // The same sample twice: the first pass moves each session's idle clock (the one write a
    // session costs a minute), the second is counted: what a call costs in steady use.
    const calls = ctx.options.quick ? 20 : 300;
    const pass = async () => {
      for (let i = 0; i < calls; i++) {
        const answer = await viaProxy(gated.port, HOST, '/', {
          headers: { cookie: `__Secure-keygate-gate=${tokens[(i * 7) % tokens.length]}` },
        });
        if (answer.status !== 200) throw new Error(`gate call answered ${answer.status}`);
      }
    };
    await pass();
    const before = await statementCounts(ctx);
    await pass();
    const after = await statementCounts(ctx);
    let statements = 0;
    let writes = 0;
    for (const [query, count] of after) {
      const delta = count - (before.get(query) ?? 0);
      if (delta <= 0) continue;
      statements += delta;
      if (WRITE.test(query)) writes += delta;
    }

    const seconds = measurementSeconds(ctx);
    const gate: Measured[] = [];
    const bareRuns: Measured[] = [];
    const floorRuns: Measured[] = [];
    // One timed run of the static page behind one of the nginx instances, checked for 200s, and
    // the CPU every process on the machine spent on it.
    const measure = async (
      port: number,
      what: string,
      authPid: number | undefined,
      into: Measured[],
    ) => {
      const cpuBefore = cpuSnapshot(authPid);
      const run = await load({
        url: url(port),
        connections: ctx.options.connections,
        seconds,
        request: shape(port),
      });
      const cpu = cpuPerRequest(cpuBefore, cpuSnapshot(authPid), run.requests);
      expectStatuses(`static page behind ${what}`, run, [200]);
      into.push({ run, cpu });
    };
    for (let round = 0; round < (ctx.options.quick ? 1 : 2); round++) {
      await measure(gated.port, 'Keygate', ctx.stack.server.pid, gate);
      await measure(baseline.port, 'the bare auth server', bareChild.pid, bareRuns);
      if (floor && floorServer)
        await measure(floor.port, 'the batched SELECT 1 floor', floorServer.child.pid, floorRuns);
    }
    const g = combine(gate);
    const b = combine(bareRuns);
    const f = floorRuns.length ? combine(floorRuns) : null;
    return {
      ...(f ? { floorRps: f.rps, floorP99: f.p99 } : {}),
      users: ctx.userCount,
      sessions,
      rps: g.rps,
      p99: g.p99,
      bareRps: b.rps,
      bareP99: b.p99,
      statementsPerCall: statements / calls,
      writesPerCall: writes / calls,
      cpu: { keygate: g.cpu, bare: b.cpu, ...(f ? { floor: f.cpu } : {}) },
    };
  } finally {
    await gated.close();
    await baseline.close();
    await floor?.close();
  }
}
