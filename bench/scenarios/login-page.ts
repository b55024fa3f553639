import fs from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../context.ts';
import { expectStatuses, load, type LoadResult } from '../load.ts';
import { spawnUntil, stopChild } from '../stack.ts';
import { proxyHeaders } from '../client.ts';

export interface LoginPageResult {
  rps: number;
  p99: number;
  bareRps: number;
  bareP99: number;
  pageBytes: number;
  ratio: number;
}

function combine(runs: LoadResult[]) {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  return { rps: requests / seconds, p99: Math.max(...runs.map((r) => r.p99)) };
}

/**
 * Scenario 3: GET /login for new visitors (no cookie), against a bare Express 5 app sending the
 * same bytes. The two alternate (Keygate, bare, Keygate, bare) so drift on a shared machine hits
 * both alike.
 */
export async function loginPage(ctx: BenchContext): Promise<LoginPageResult> {
  const response = await fetch(`${ctx.stack.url}/login`, { headers: proxyHeaders() });
  const html = await response.text();
  const file = path.join(ctx.stack.tmp, 'login.html');
  fs.writeFileSync(file, html);
  const { child, match } = await spawnUntil(
    ['--import', 'tsx', 'bench/bare-app.ts', file],
    process.env,
    /bare app listening on (http:\/\/\S+)/,
  );
  const bareUrl = match[1]!;
  const seconds = Math.max(1, ctx.options.seconds / 2);
  const keygate: LoadResult[] = [];
  const bare: LoadResult[] = [];
  try {
    for (let round = 0; round < (ctx.options.quick ? 1 : 2); round++) {
      const own = await load({
        url: ctx.stack.url,
        connections: ctx.options.connections,
        seconds,
        request: () => ({ path: '/login' }),
      });
      expectStatuses('GET /login', own, [200]);
      keygate.push(own);
      const base = await load({
        url: bareUrl,
        connections: ctx.options.connections,
        seconds,
        request: () => ({ path: '/login' }),
      });
      expectStatuses('bare app', base, [200]);
      bare.push(base);
    }
  } finally {
    await stopChild(child);
  }
  const k = combine(keygate);
  const b = combine(bare);
  return {
    rps: k.rps,
    p99: k.p99,
    bareRps: b.rps,
    bareP99: b.p99,
    pageBytes: Buffer.byteLength(html),
    ratio: k.rps / b.rps,
  };
}
