/**
 * `npm run bench:profile -- <page|code|search|flood> [--users N] [--seconds S]`
 *
 * One kind of request at full speed against the production server started with `--cpu-prof`,
 * to see where a scenario's time goes: server and PostgreSQL CPU per request, the server's
 * hottest packages and functions, and for `search` the plan of the list query
 * (EXPLAIN ANALYZE). The .cpuprofile file opens in Chrome DevTools or speedscope.
 *
 *   page    GET /login for new visitors (scenario 3)
 *   code    POST /login/2fa with a valid code, one pending sign-in per user (scenario 2)
 *   search  the admin user list searched for one user (scenario 7)
 *   list    the admin user list's first page, 50 users (scenario 7)
 *   flood   wrong passwords on a throttled account (scenario 6's flood)
 *   gate    nginx's authz call for a live session, straight to Keygate (scenario 10, no nginx)
 */
import fs from 'node:fs';
import path from 'node:path';
import { hashGateToken } from '../src/auth/gate.ts';
import { GATE_LOOKUP } from '../src/auth/gate-lookup.ts';
import { listUsers } from '../src/auth/user-list.ts';
import { loadConfig } from '../src/config.ts';
import { ROOT } from '../src/dirs.ts';
import { signInAdmin } from './admin.ts';
import { codesAhead } from './context.ts';
import { cpuPerRequest, cpuSnapshot } from './cpu-split.ts';
import { load, type RequestShape } from './load.ts';
import { summariseProfile } from './profile-summary.ts';
import { nameSearch } from './names.ts';
import { emailOf, seedMaterial, seedUsers } from './seed.ts';
import type { BenchContext } from './context.ts';
import { GATE_HOST, liveGateTokens } from './scenarios/gate.ts';
import { anonymousForm, pendingSignIns, seedSessions } from './sessions.ts';
import { build, startStack } from './stack.ts';

const KINDS = ['page', 'code', 'search', 'list', 'flood', 'gate'] as const;
type Kind = (typeof KINDS)[number];
const USAGE = `usage: npm run bench:profile -- <${KINDS.join('|')}> [--users N] [--seconds S]`;

function parse(argv: string[]) {
  const kind = argv[0] as Kind;
  if (!KINDS.includes(kind)) throw new Error(USAGE);
  const options = { kind, users: kind === 'search' ? 1_000_000 : 10_000, seconds: 10 };
  for (let i = 1; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (!Number.isInteger(value) || value < 1) throw new Error(USAGE);
    if (argv[i] === '--users') options.users = Math.max(1000, value);
    else if (argv[i] === '--seconds') options.seconds = value;
    else throw new Error(USAGE);
  }
  return options;
}

async function main() {
  const options = parse(process.argv.slice(2));
  const dir = path.join(
    ROOT,
    'bench',
    'results',
    'profiles',
    `${options.kind}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  fs.mkdirSync(dir, { recursive: true });
  await build();
  const stack = await startStack(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  let explained = '';
  try {
    const config = loadConfig(stack.env);
    const material = await seedMaterial(config.totpKeys, config.bcryptCost);
    const seeding = Date.now();
    await seedUsers(stack.db, material, 1, options.users);
    console.log(`seeded ${options.users} users in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    let request: (index: number) => RequestShape;
    if (options.kind === 'page') {
      request = () => ({ path: '/login' });
    } else if (options.kind === 'code') {
      const ids = Array.from({ length: options.users - 1 }, (_, i) => i + 2);
      const sessions = await seedSessions(stack.db, config.sessionSecrets[0]!, pendingSignIns(ids));
      const codeNow = await codesAhead(material.totpSecret, 10);
      request = (i) => {
        const session = sessions[i % sessions.length]!;
        return {
          method: 'POST',
          path: '/login/2fa',
          headers: { cookie: session.cookie },
          body: `code=${codeNow()}&_csrf=${encodeURIComponent(session.csrfToken)}`,
        };
      };
    } else if (options.kind === 'search') {
      const admin = await signInAdmin({ stack, material });
      const search = encodeURIComponent(nameSearch(Math.floor(options.users / 3)));
      request = () => ({ path: `/admin/users?q=${search}`, headers: { cookie: admin.cookie } });
      // The statement the page runs, captured from the app's own function, then explained.
      let sql: { sql: string; bindings: readonly unknown[] } | null = null;
      const capture = (query: { sql: string; bindings: readonly unknown[] }) => (sql ??= query);
      stack.db.on('query', capture);
      await listUsers(stack.db, {
        search,
        sort: 'last_sign_in',
        twoFactor: '',
        role: '',
        active: '',
        after: '',
        before: '',
      });
      stack.db.removeListener('query', capture);
      const captured = sql as { sql: string; bindings: readonly unknown[] } | null;
      if (captured) {
        const { rows } = await stack.db.raw<{ rows: Record<string, string>[] }>(
          // knex reports the statement with PostgreSQL's $1 placeholders; raw() takes ?.
          `EXPLAIN (ANALYZE, BUFFERS) ${captured.sql.replace(/\$\d+/g, '?')}`,
          captured.bindings as never,
        );
        explained = rows.map((row) => row['QUERY PLAN']).join('\n');
      }
    } else if (options.kind === 'list') {
      const admin = await signInAdmin({ stack, material });
      request = () => ({ path: '/admin/users', headers: { cookie: admin.cookie } });
    } else if (options.kind === 'gate') {
      const tokens = await liveGateTokens(
        { stack, userCount: options.users } as BenchContext,
        100_000,
      );
      // The statement eight calls that arrive together share, explained.
      const eight = tokens.slice(0, 8);
      const { rows } = await stack.db.raw<{ rows: Record<string, string>[] }>(
        `EXPLAIN (ANALYZE, BUFFERS) ${GATE_LOOKUP.replace(/\$\d+/g, '?')}`,
        [eight.map(() => GATE_HOST), eight.map(hashGateToken), eight.map(() => Date.now() / 1000)],
      );
      const generic = await stack.db.raw<{ rows: Record<string, string>[] }>(
        `EXPLAIN (GENERIC_PLAN) ${GATE_LOOKUP}`,
      );
      explained = [...rows, { 'QUERY PLAN': '\ngeneric plan:' }, ...generic.rows]
        .map((row) => row['QUERY PLAN'])
        .join('\n');
      request = (i) => ({
        path: '/api/authz/auth-request',
        headers: {
          cookie: `__Secure-keygate-gate=${tokens[i % tokens.length]}`,
          'x-original-url': `https://${GATE_HOST}/`,
          'x-original-method': 'GET',
          accept: 'text/html',
        },
      });
    } else {
      const sessions = [anonymousForm(config.sessionSecrets[0]!)];
      const victim = 2;
      const body = `email=${encodeURIComponent(emailOf(victim))}&password=wrong-password-1234&_csrf=${encodeURIComponent(sessions[0]!.csrfToken)}`;
      request = () => ({
        method: 'POST',
        path: '/login',
        headers: { cookie: sessions[0]!.cookie, 'x-forwarded-for': '198.51.100.200' },
        body,
      });
    }
    // Warm up (and, for the flood, get the account throttled), then measure.
    await load({ url: stack.url, connections: 16, seconds: 2, request });
    const cpuBefore = cpuSnapshot(stack.server.pid);
    const offset = 5000;
    const result = await load({
      url: stack.url,
      connections: 16,
      seconds: options.seconds,
      amount: options.kind === 'code' ? options.users - 1 - offset : undefined,
      request: (i) => request(i + offset),
    });
    const cpu = cpuPerRequest(cpuBefore, cpuSnapshot(stack.server.pid), result.requests);
    const serverMs = (cpu['auth server'] ?? 0) / 1000;
    const postgresMs = (cpu.postgres ?? 0) / 1000;
    console.log(
      `\n${options.kind}: ${options.users} users, ${result.requests} requests in ${result.seconds} s: ${result.rps.toFixed(0)} rps, p50 ${result.p50} ms, p99 ${result.p99} ms, statuses ${JSON.stringify(result.statuses)}`,
    );
    console.log(
      `CPU per request: server ${serverMs.toFixed(2)} ms, PostgreSQL ${postgresMs.toFixed(2)} ms`,
    );
  } finally {
    await stack.stop();
  }
  // The server writes its profile as it exits; it covers the warm-up and seeding too.
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (file) {
    console.log(summariseProfile(path.join(dir, file), 25));
    console.log(`\nprofile: ${path.relative(ROOT, path.join(dir, file))}`);
  }
  if (explained)
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the ${options.kind} statement:\n${explained}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
