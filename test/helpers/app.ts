import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createDb, type Db } from '../../src/db/knex.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createSessionMiddleware } from '../../src/middleware/session/setup.ts';
import { createGatePool } from '../../src/db/gate-pool.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { rememberSecret } from './secrets.ts';

/** A clock the test moves by hand. */
export interface TestClock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function createTestClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

export interface TestApp {
  app: Express;
  db: Db;
  config: Config;
  clock: TestClock;
  database: TestDatabase;
  logger: Logger;
  /** Everything this app logged so far (JSON lines). */
  logs(): string;
  close(): Promise<void>;
}

export function testSecrets() {
  const secrets = {
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    TOTP_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  };
  rememberSecret('session secret', secrets.SESSION_SECRET);
  rememberSecret('encryption key', secrets.TOTP_ENCRYPTION_KEY);
  return secrets;
}

/**
 * The real app on a real database of its own: real sessions in PostgreSQL, real bcrypt (at the
 * minimum allowed cost, 10, for speed), real CSRF. Only the clock is the test's.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  existing?: TestDatabase,
): Promise<TestApp> {
  const database = existing ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    BCRYPT_COST: '10',
    LOG_LEVEL: 'info',
    ...testSecrets(),
    ...env,
  });
  const logFile = path.join(process.env.KEYGATE_TEST_LOG_DIR ?? '/tmp', `${database.name}.log`);
  const destination = pino.destination({ dest: logFile, sync: true, mkdir: true });
  const logger = createLogger(config.logLevel, destination);
  const db = createDb({
    url: database.url,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    logger,
  });
  const sessions = createSessionMiddleware(config, database.url, logger);
  const gate = createGatePool(config, database.url, logger);
  const clock = createTestClock();
  const app = createApp({ db, config, logger, clock, sessions, gate });
  return {
    app,
    db,
    config,
    clock,
    database,
    logger,
    logs: () => fs.readFileSync(logFile, 'utf8'),
    async close() {
      await sessions.close();
      await gate.close();
      await db.destroy();
      await database.drop();
    },
  };
}
