import type { Server } from 'node:http';
import type { Express } from 'express';
import { createApp } from './app.ts';
import { pruneOldRecords } from './auth/retention.ts';
import { createSetupToken } from './auth/setup-tokens.ts';
import { hasAnyUser } from './auth/users.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openDatabaseServer } from './db/database.ts';
import { createDb, migrateToLatest } from './db/knex.ts';
import { transportFor } from './mail/transport.ts';
import { createMailWorker } from './mail/worker.ts';
import { chooseLogFormat, createLogger, prettyDestination } from './logger.ts';
import { startMetricsServer } from './metrics.ts';
import { createSessionMiddleware } from './middleware/session/setup.ts';
import { createGatePool } from './db/gate-pool.ts';

/** How long in-flight requests get to finish after SIGTERM/SIGINT before we exit anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keygate: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Express 5 hands a listen error (port taken, address not ours) to the callback, not to a
 * promise: until the callback runs, nothing listens.
 */
function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) =>
      error ? reject(error) : resolve(server),
    );
  });
}

function listenFailure(error: NodeJS.ErrnoException, config: Config): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${config.port} is in use; set PORT to another port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${config.host}: no network interface of this machine has that address; set HOST to another address`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${config.host}: no such host name; set HOST to an address of this machine`;
    case 'EACCES':
      return `not allowed to listen on port ${config.port} (ports below 1024 need extra rights); set PORT to 1024 or above`;
    default:
      return `cannot listen on ${config.host}:${config.port}: ${error.message}`;
  }
}

async function main() {
  const config = readConfig();
  const logger = createLogger(
    config.logLevel,
    chooseLogFormat(config, Boolean(process.stdout.isTTY)) === 'pretty'
      ? prettyDestination()
      : undefined,
  );
  for (const note of config.notes) logger.info(note);

  const database = await openDatabaseServer(config, (message) => logger.info(message));
  const db = createDb({
    url: database.url,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    logger,
  });
  const applied = await migrateToLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const sessions = createSessionMiddleware(config, database.url, logger);
  const gate = createGatePool(config, database.url, logger);
  const app = createApp({ db, config, logger, clock: systemClock, sessions, gate });

  let server: Server;
  try {
    server = await listen(app, config.port, config.host);
  } catch (error) {
    // Nothing is serving yet: give back what we opened, so no embedded PostgreSQL is left running.
    await sessions.close();
    await gate.close();
    await db.destroy();
    await database.stop();
    throw new Error(listenFailure(error as NodeJS.ErrnoException, config));
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = config.port === port ? config.baseUrl : `http://localhost:${port}`;
  logger.info({ url: `${url}/login`, embeddedDatabase: database.embedded }, 'Keygate is listening');
  process.stderr.write(`\nKeygate is running: ${url}/login\n`);

  // Stopping is possible from the moment the server listens: a SIGTERM during the rest of the
  // start (metrics, the setup link) must still close the embedded PostgreSQL, not kill us.
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | null = null;
  let pruneTimer: NodeJS.Timeout | undefined = undefined;
  let mailWorker: ReturnType<typeof createMailWorker> | null = null;
  let startupFinished = () => {};
  const startup = new Promise<void>((resolve) => (startupFinished = resolve));
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    // The rest of the start uses the database: let it finish (it takes milliseconds) first.
    await startup;
    if (pruneTimer) clearInterval(pruneTimer);
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      logger.error('requests did not finish in time: exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    await mailWorker?.stop();
    await sessions.close();
    await gate.close();
    await db.destroy();
    await database.stop();
    logger.info('stopped');
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  metricsServer = config.metrics
    ? await startMetricsServer({
        ...config.metrics,
        db,
        sessionPool: sessions.pool,
        gatePool: gate.pool,
        logger,
      })
    : null;
  if (config.metrics)
    logger.info(
      { url: `http://${config.metrics.host}:${config.metrics.port}/metrics` },
      'metrics listening',
    );

  if (!(await hasAnyUser(db))) {
    const token = await createSetupToken(db);
    // The token is printed for the operator, never logged.
    logger.info('no user exists yet: a one-time setup link was printed to the terminal');
    process.stderr.write(
      `\nNo user exists yet. Create the first administrator here (this link works once):\n  ${url}/setup?token=${token}\n` +
        `Lost the link? Start Keygate again: while no user exists, each start prints a new one.\n\n`,
    );
  }

  // Expired sessions and old attempt and audit rows go on a timer (README, "Operations").
  const prune = async () => {
    try {
      const report = await pruneOldRecords(db, new Date(), {
        attemptsMs: config.attemptRetentionMs,
        auditMs: config.auditRetentionMs,
      });
      const removed =
        report.sessions +
        report.trustedBrowsers +
        report.attempts +
        report.audit +
        report.oidc +
        report.mail;
      if (removed > 0) logger.info(report, 'pruned old records');
    } catch (error) {
      logger.warn({ err: error }, 'pruning failed; will try again');
    }
  };
  void prune();
  pruneTimer = setInterval(() => void prune(), config.pruneIntervalMs);
  pruneTimer.unref();

  // Mail goes out from the outbox in the background (src/mail/worker.ts); none when mail is off.
  const transport = transportFor(config);
  mailWorker = transport
    ? createMailWorker({ db, config, logger, clock: systemClock, transport })
    : null;
  mailWorker?.start();
  startupFinished();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `keygate: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
