import http from 'node:http';
import type { RequestHandler } from 'express';
import type pg from 'pg';
import client from 'prom-client';
import type { Db } from './db/knex.ts';
import type { Logger } from './logger.ts';

/**
 * Prometheus metrics, named in the style of Authelia's (`authelia_authn`, …) with a keygate_
 * prefix. The counters live for the process (one registry, module state: counting must not need
 * a handle threaded through every domain function); the gauges read their sources when scraped.
 * Served on a listener of its own (METRICS_PORT, see startMetricsServer), never on the app's.
 * The mail outbox has no metrics of its own yet (its state is in the mail_outbox table).
 */
const registry = new client.Registry();

const authn = new client.Counter({
  name: 'keygate_authn_total',
  help: 'Password steps of sign-in, by result (success, failure, throttled).',
  labelNames: ['result'] as const,
  registers: [registry],
});
const secondFactor = new client.Counter({
  name: 'keygate_authn_second_factor_total',
  help: "Second-factor checks (sign-in, confirm-it's-you, turning 2FA off), by type and result.",
  labelNames: ['type', 'result'] as const,
  registers: [registry],
});
const signIns = new client.Counter({
  name: 'keygate_sign_ins_total',
  help: 'Completed sign-ins, by the method of their last step (password, totp, recovery_code, trusted_browser).',
  labelNames: ['method'] as const,
  registers: [registry],
});
const passwordChecks = new client.Counter({
  name: 'keygate_password_checks_total',
  help: 'Every password check, by purpose (sign_in, reauthentication, password_change) and result.',
  labelNames: ['purpose', 'result'] as const,
  registers: [registry],
});
const throttleRefusals = new client.Counter({
  name: 'keygate_throttle_refusals_total',
  help: 'Attempts refused by a limit before any check, by limit.',
  labelNames: ['limit'] as const,
  registers: [registry],
});
const authzDecisions = new client.Counter({
  name: 'keygate_authz_decisions_total',
  help: 'Forward-auth answers to proxies, by endpoint and outcome.',
  labelNames: ['endpoint', 'outcome'] as const,
  registers: [registry],
});
const requestDuration = new client.Histogram({
  name: 'keygate_http_request_duration_seconds',
  help: 'Time to answer HTTP requests, by method, route pattern and status class.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
client.collectDefaultMetrics({ register: registry, prefix: 'keygate_' });

/** One answer of /api/authz/* (allowed, sign_in_redirect, denied, …). */
export function countAuthzDecision(endpoint: string, outcome: string): void {
  authzDecisions.inc({ endpoint, outcome });
}

type PasswordResult = 'success' | 'failure' | 'throttled';

export function countPasswordCheck(
  purpose: 'sign_in' | 'reauthentication' | 'password_change',
  result: PasswordResult,
  limit?: 'account_ip' | 'account' | 'ip',
): void {
  passwordChecks.inc({ purpose, result });
  if (purpose === 'sign_in') authn.inc({ result });
  if (limit) throttleRefusals.inc({ limit: `password_${limit}` });
}

export function countSecondFactor(
  type: 'totp' | 'recovery_code',
  result: 'success' | 'failure' | 'locked' | 'pending_exhausted',
): void {
  secondFactor.inc({ type, result });
  if (result === 'locked') throttleRefusals.inc({ limit: 'second_factor_account' });
  if (result === 'pending_exhausted') throttleRefusals.inc({ limit: 'second_factor_pending' });
}

export function countSignIn(
  method: 'password' | 'totp' | 'recovery_code' | 'trusted_browser',
): void {
  signIns.inc({ method });
}

/**
 * Times every request under its route pattern (`/admin/users/:id`, never the path itself, so
 * ids and tokens never become labels); unmatched paths share one label.
 */
export const timeRequests: RequestHandler = (req, res, next) => {
  const end = requestDuration.startTimer();
  res.once('finish', () => {
    const pattern = (req.route as { path?: unknown } | undefined)?.path;
    const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
    end({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` });
  });
  next();
};

interface Sources {
  db: Db;
  sessionPool: pg.Pool;
  gatePool: pg.Pool;
}

/** The registry for one listener: the process's counters plus gauges read from `sources`. */
function registryFor(sources: Sources): client.Registry {
  const local = new client.Registry();
  new client.Gauge({
    name: 'keygate_db_pool_connections',
    help: 'Database connections by pool (app, sessions, gate) and state (used, idle, waiting).',
    labelNames: ['pool', 'state'] as const,
    registers: [local],
    collect() {
      const tarn = (sources.db.client as { pool?: TarnPool }).pool;
      if (tarn) {
        this.set({ pool: 'app', state: 'used' }, tarn.numUsed());
        this.set({ pool: 'app', state: 'idle' }, tarn.numFree());
        this.set({ pool: 'app', state: 'waiting' }, tarn.numPendingAcquires());
      }
      for (const [name, pool] of [
        ['sessions', sources.sessionPool],
        ['gate', sources.gatePool],
      ] as const) {
        this.set({ pool: name, state: 'used' }, pool.totalCount - pool.idleCount);
        this.set({ pool: name, state: 'idle' }, pool.idleCount);
        this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
      }
    },
  });
  new client.Gauge({
    name: 'keygate_sessions',
    help: 'Unexpired sessions by state (signed_in, pending_second_factor, anonymous), read when scraped.',
    labelNames: ['state'] as const,
    registers: [local],
    async collect() {
      const row = (await sources
        .db('sessions')
        .where('expire', '>', sources.db.fn.now())
        .first(
          sources.db.raw('count(*) FILTER (WHERE user_id IS NOT NULL) AS signed_in'),
          sources.db.raw(
            `count(*) FILTER (WHERE user_id IS NULL AND sess -> 'pending' IS NOT NULL) AS pending`,
          ),
          sources.db.raw('count(*) FILTER (WHERE user_id IS NULL) AS anonymous'),
        )) as { signed_in: string; pending: string; anonymous: string };
      this.set({ state: 'signed_in' }, Number(row.signed_in));
      this.set({ state: 'pending_second_factor' }, Number(row.pending));
      this.set({ state: 'anonymous' }, Number(row.anonymous) - Number(row.pending));
    },
  });
  return client.Registry.merge([registry, local]);
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/**
 * The metrics listener: `GET /metrics` in the Prometheus text format, 404 for anything else. It
 * is a plain HTTP server apart from the app (no session, no CSRF, no sign-in), bound to
 * 127.0.0.1 unless METRICS_HOST says otherwise: whoever can reach it sees traffic volumes.
 */
export async function startMetricsServer(
  options: Sources & { port: number; host: string; logger: Logger },
): Promise<http.Server> {
  const metrics = registryFor(options);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    metrics.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) => {
        options.logger.warn({ err: error }, 'metrics could not be collected');
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('Unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
