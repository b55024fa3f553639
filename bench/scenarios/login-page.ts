import fs from 'node:fs';
import path from 'node:path';
import { measurementSeconds, type BenchContext } from '../context.ts';
import { expectStatuses, load, type LoadResult } from '../load.ts';
import { sharedHelper } from '../stack.ts';
import { proxyHeaders } from '../client.ts';
import { loadConfig } from '../../src/config.ts';

export interface LoginPageResult {
  rps: number;
  p99: number;
  /** The baseline: a bare Express 5 app rendering the same template to the same bytes. */
  bareRps: number;
  bareP99: number;
  /** Reported only: the same bare app sending the page's bytes as a string. */
  bytesRps: number;
  bytesP99: number;
  pageBytes: number;
  ratio: number;
}

/** The page with its one per-visitor part, the form's token, blanked. */
const withoutToken = (html: string) =>
  html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');

function combine(runs: LoadResult[]) {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  return { rps: requests / seconds, p99: Math.max(...runs.map((r) => r.p99)) };
}

/**
 * Scenario 3: GET /login for new visitors (no cookie), against a bare Express 5 app rendering the
 * same template to the same bytes (and, reported, sending them as a string). They alternate
 * (Keygate, bare, Keygate, bare) so drift on a shared machine hits both alike. The bare page is
 * checked to be Keygate's, byte for byte but for the form's token.
 */
export async function loginPage(ctx: BenchContext): Promise<LoginPageResult> {
  const response = await fetch(`${ctx.stack.url}/login`, { headers: proxyHeaders() });
  const html = await response.text();
  const file = path.join(ctx.stack.tmp, 'login.html');
  fs.writeFileSync(file, html);
  const config = loadConfig(ctx.stack.env);
  const localsFile = path.join(ctx.stack.tmp, 'login-locals.json');
  const token = /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
  fs.writeFileSync(
    localsFile,
    JSON.stringify({
      appName: config.appName,
      baseUrl: config.baseUrl,
      resetByEmail: config.mail.transport !== 'off',
      values: { email: '', next: '' },
      errors: {},
      csrfToken: token,
    }),
  );
  const { match } = await sharedHelper(
    ['--import', 'tsx', 'bench/bare-app.ts', file, localsFile],
    /bare app listening on (http:\/\/\S+)/,
  );
  const bareUrl = match[1]!;
  const rendered = await (await fetch(`${bareUrl}/login`)).text();
  if (withoutToken(rendered) !== withoutToken(html)) {
    throw new Error('scenario 3: the bare app does not render the page Keygate sends');
  }
  const seconds = measurementSeconds(ctx);
  const keygate: LoadResult[] = [];
  const bare: LoadResult[] = [];
  const bytes: LoadResult[] = [];
  const run = async (url: string, urlPath: string, what: string, into: LoadResult[]) => {
    const result = await load({
      url,
      connections: ctx.options.connections,
      seconds,
      request: () => ({ path: urlPath }),
    });
    expectStatuses(what, result, [200]);
    into.push(result);
  };
  for (let round = 0; round < (ctx.options.quick ? 1 : 2); round++) {
    await run(ctx.stack.url, '/login', 'GET /login', keygate);
    await run(bareUrl, '/login', 'bare app', bare);
  }
  await run(bareUrl, '/login.html', 'bare app (bytes)', bytes);
  const k = combine(keygate);
  const b = combine(bare);
  const c = combine(bytes);
  return {
    rps: k.rps,
    p99: k.p99,
    bareRps: b.rps,
    bareP99: b.p99,
    bytesRps: c.rps,
    bytesP99: c.p99,
    pageBytes: Buffer.byteLength(html),
    ratio: k.rps / b.rps,
  };
}
