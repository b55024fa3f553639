import assert from 'node:assert/strict';
import request from 'supertest';
import { createProtectedApp, type AppInput } from '../../src/auth/protected-apps.ts';
import type { Browser } from './agent.ts';
import type { TestApp } from './app.ts';
import { adminQuery } from './database.ts';
import { rememberSecret } from './secrets.ts';

/** Adds a protected app straight through the domain function (as the CLI does). */
export async function addApp(t: TestApp, input: Partial<AppInput> & { host: string }) {
  const result = await createProtectedApp(
    t.db,
    {
      name: input.name ?? input.host,
      host: input.host,
      pathPrefix: input.pathPrefix ?? '',
      policy: input.policy ?? 'signed-in',
      allowedGroups: input.allowedGroups ?? [],
    },
    { actorId: null, origin: null, now: new Date(t.clock.now()) },
  );
  assert.ok(result.ok, 'the app was added');
  return result.app;
}

/** The environment of a gate test app: the gate on for example.com, the portal under it. */
export const GATE_ENV = {
  REQUIRE_2FA: 'off',
  TRUST_PROXY: 'loopback',
  AUTH_COOKIE_DOMAIN: 'example.com',
  BASE_URL: 'http://auth.example.com',
};

/**
 * The gate cookie ("name=token") of a signed-in browser. The portal sets it for example.com,
 * which supertest's jar (talking to 127.0.0.1) would drop; it is put in the jar for this host
 * instead, so the browser presents it to the portal as a real one would.
 */
export async function gateCookieOf(browser: Browser): Promise<string> {
  const jar = (
    browser.agent as unknown as {
      jar: {
        getCookies(o: object): { name: string; value: string }[];
        setCookie(cookie: string): void;
      };
    }
  ).jar;
  const kept = jar
    .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
    .find((c) => c.name === 'keygate.gate');
  if (kept) return `${kept.name}=${kept.value}`;
  const home = await browser.get('/');
  assert.equal(home.status, 200, 'signed in');
  const line = ((home.headers['set-cookie'] as unknown as string[] | undefined) ?? []).find((c) =>
    c.startsWith('keygate.gate='),
  );
  assert.ok(line, 'a gate cookie was set');
  assert.match(line, /Domain=example\.com/i);
  const cookie = line.split(';')[0]!;
  rememberSecret('gate token', cookie.split('=')[1]);
  jar.setCookie(`${cookie}; Path=/`);
  return cookie;
}

/** nginx's subrequest: GET /api/authz/auth-request with X-Original-URL and -Method. */
export function authRequest(
  t: TestApp,
  url: string,
  options: { cookie?: string; method?: string; headers?: Record<string, string> } = {},
) {
  const call = request(t.app)
    .get('/api/authz/auth-request')
    .set('X-Original-URL', url)
    .set('X-Original-Method', options.method ?? 'GET');
  if (options.cookie) call.set('Cookie', options.cookie);
  for (const [name, value] of Object.entries(options.headers ?? {})) call.set(name, value);
  return call;
}

/** Caddy's or Traefik's call: GET /api/authz/forward-auth with X-Forwarded-Method, -Proto, -Host, -Uri. */
export function forwardAuth(
  t: TestApp,
  url: string,
  options: {
    cookie?: string;
    method?: string;
    accept?: string;
    headers?: Record<string, string>;
  } = {},
) {
  const parsed = new URL(url);
  const call = request(t.app)
    .get('/api/authz/forward-auth')
    .set('X-Forwarded-Method', options.method ?? 'GET')
    .set('X-Forwarded-Proto', parsed.protocol.slice(0, -1))
    .set('X-Forwarded-Host', parsed.host)
    .set('X-Forwarded-Uri', parsed.pathname + parsed.search)
    .set('Accept', options.accept ?? 'text/html,application/xhtml+xml');
  if (options.cookie) call.set('Cookie', options.cookie);
  for (const [name, value] of Object.entries(options.headers ?? {})) call.set(name, value);
  return call;
}

/** The database goes away for this app: existing connections are killed, new ones refused. */
export async function cutDatabase(name: string) {
  await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  for (let i = 0; i < 100; i++) {
    const { rows } = await adminQuery(
      'SELECT count(pg_terminate_backend(pid))::int AS alive FROM pg_stat_activity WHERE datname = $1',
      [name],
    );
    if (rows[0].alive === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('connections to the test database did not end');
}

export async function allowConnections(name: string) {
  await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
}
