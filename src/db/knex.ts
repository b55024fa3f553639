import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from '../logger.ts';
import { MIGRATIONS_DIR } from '../dirs.ts';

export type Db = Knex;

export interface DbOptions {
  url: string;
  statementTimeoutMs: number;
  poolMax?: number;
  /** Where knex's own warnings go (lost connections and the like); silent by default. */
  logger?: Pick<Logger, 'warn' | 'error' | 'debug'>;
}

export function createDb(options: DbOptions): Db {
  return knexFactory(knexConfig(options));
}

/** The knex settings Keygate uses everywhere (knexfile.ts included, so the CLI agrees). */
export function knexConfig({
  url,
  statementTimeoutMs,
  poolMax = 10,
  logger,
}: DbOptions): Knex.Config {
  const say = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    logger?.[level](
      { detail: message instanceof Error ? message.message : String(message) },
      'database client',
    );
  return {
    log: { warn: say('warn'), error: say('error'), debug: say('debug'), deprecate: say('debug') },
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: 'keygate',
      // A stuck query fails (and the page says "temporarily unavailable") instead of hanging.
      statement_timeout: statementTimeoutMs,
      connectionTimeoutMillis: 5000,
    },
    pool: { min: 0, max: poolMax },
    // A dead database must fail a request quickly, not queue it for a minute.
    acquireConnectionTimeout: 5000,
    migrations: { migrationSource: migrationSource(), tableName: 'knex_migrations' },
  };
}

interface MigrationModule {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/**
 * Migrations are the YYYYMMDDHHMMSS_verb_noun files in migrations/, as .ts under tsx and as
 * compiled .js in dist/. Names are recorded without extension so both runs agree.
 */
function migrationSource(): Knex.MigrationSource<string> {
  const pattern = /^(\d{14}_[a-z0-9_]+)\.(ts|js)$/;
  return {
    async getMigrations() {
      return fs
        .readdirSync(MIGRATIONS_DIR)
        .filter((file) => pattern.test(file))
        .sort();
    },
    getMigrationName(file) {
      return file.replace(pattern, '$1');
    },
    async getMigration(file) {
      return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as MigrationModule;
    },
  };
}

/**
 * Brings the schema up to date. Several instances may start at once: knex lets one migrate and
 * tells the others the table is locked, so they wait and check again.
 */
export async function migrateToLatest(db: Db, attempts = 60): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [, applied] = (await db.migrate.latest()) as [number, string[]];
      return applied;
    } catch (error) {
      if ((error as Error).name !== 'MigrationLocked' || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
