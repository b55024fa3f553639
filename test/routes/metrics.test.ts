import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startMetricsServer } from '../../src/metrics.ts';
import { createBrowser } from '../helpers/agent.ts';
import { createTestApp, testSecrets, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { codeAt, makeUserWithTwoFactor, startSignIn } from '../helpers/two-factor.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format (version 0.0.4), as a scraper reads it. */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('metrics listener', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let server: http.Server;
  let base: string;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off' });
    pool = new pg.Pool({ connectionString: t.database.url, max: 1 });
    server = await startMetricsServer({
      port: 0,
      host: '127.0.0.1',
      db: t.db,
      sessionPool: pool,
      gatePool: pool,
      logger: createLogger('silent'),
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await pool.end();
    await t.close();
  });

  it('when METRICS_PORT is unset, then there is no listener; set, it binds to 127.0.0.1 unless METRICS_HOST says otherwise', () => {
    assert.equal(loadConfig({ NODE_ENV: 'test', ...testSecrets() }).metrics, null);
    assert.deepEqual(
      loadConfig({ NODE_ENV: 'test', METRICS_PORT: '9464', ...testSecrets() }).metrics,
      {
        port: 9464,
        host: '127.0.0.1',
      },
    );
  });

  it('when sign-ins succeed, fail and are throttled, then /metrics counts them in the Prometheus text format', async () => {
    const user = await makeUser(t.db);
    const ok = createBrowser(t.app);
    assert.equal(
      (await ok.submit('/login', '/login', { email: user.email, password: user.password })).status,
      303,
    );
    for (let i = 0; i < 11; i++) {
      await createBrowser(t.app).submit('/login', '/login', {
        email: user.email,
        password: 'wrong password here',
      });
    }
    const { user: twoFactorUser, secret } = await makeUserWithTwoFactor(t);
    const pending = await startSignIn(t, twoFactorUser.email, twoFactorUser.password);
    await pending.submit('/login/2fa', '/login/2fa', { code: '000001' });
    await pending.submit('/login/2fa', '/login/2fa', { code: await codeAt(t, secret) });

    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const { samples, types } = parseMetrics(await response.text());

    assert.equal(types.get('keygate_authn_total'), 'counter');
    assert.ok(value(samples, 'keygate_authn_total', { result: 'success' }) >= 3);
    assert.equal(value(samples, 'keygate_authn_total', { result: 'failure' }), 10);
    assert.equal(value(samples, 'keygate_authn_total', { result: 'throttled' }), 1);
    assert.equal(
      value(samples, 'keygate_throttle_refusals_total', { limit: 'password_account_ip' }),
      1,
    );
    assert.equal(
      value(samples, 'keygate_authn_second_factor_total', { type: 'totp', result: 'failure' }),
      1,
    );
    assert.ok(
      value(samples, 'keygate_authn_second_factor_total', { type: 'totp', result: 'success' }) >= 1,
    );
    assert.ok(value(samples, 'keygate_sign_ins_total', { method: 'totp' }) >= 1);
    assert.ok(value(samples, 'keygate_sign_ins_total', { method: 'password' }) >= 2);

    assert.equal(types.get('keygate_http_request_duration_seconds'), 'histogram');
    assert.ok(
      value(samples, 'keygate_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/login',
      }) >= 12,
    );
    assert.ok(
      samples.every((s) => !/^\/admin\/users\/\d/.test(s.labels.route ?? '')),
      'routes are patterns, never paths with ids',
    );
    assert.ok(value(samples, 'keygate_sessions', { state: 'signed_in' }) >= 2);
    assert.ok(
      samples.some((s) => s.name === 'keygate_db_pool_connections' && s.labels.pool === 'app'),
    );
    assert.ok(samples.some((s) => s.name === 'keygate_process_cpu_seconds_total'));
  });

  it('when anything but GET /metrics is asked for, then 404', async () => {
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
  });

  it('when the app itself is asked for /metrics, then it is not there', async () => {
    const response = await createBrowser(t.app).get('/metrics');
    assert.equal(response.status, 404);
  });
});
