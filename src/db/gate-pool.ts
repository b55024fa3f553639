import pg from 'pg';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

/**
 * The forward-auth gate's own connections, which run nothing but its one statement
 * (auth/gate-lookup.ts), prepared once per connection.
 *
 * They run it on its generic plan. Left to choose, PostgreSQL plans the statement afresh for
 * every call: it guesses 100 rows for the arrays it unnests, so the generic plan looks dearer
 * than a plan made for the actual few. Planned every time, a statement took 0.85 ms, against
 * 0.35 ms on the generic plan (the bench machine, a batch of one), which does the same index
 * lookups. `plan_cache_mode` cannot be set for one statement, and on the app's
 * shared connections it would also turn knex's one-off statements into generic plans (a LIKE
 * search among them), hence a pool of its own.
 */
export interface GatePool {
  pool: pg.Pool;
  close(): Promise<void>;
}

/** The gate runs one statement at a time (gate-lookup.ts); the second connection is a spare. */
const GATE_CONNECTIONS = 2;

export function createGatePool(config: Config, databaseUrl: string, logger: Logger): GatePool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: GATE_CONNECTIONS,
    application_name: 'keygate-gate',
    statement_timeout: config.dbStatementTimeoutMs,
    connectionTimeoutMillis: 5000,
  });
  // A SET as each connection opens, not a startup option: a connection pooler such as PgBouncer
  // refuses startup options it does not know. (A client runs its queries in order, so the SET
  // goes before the connection's first lookup.)
  pool.on('connect', (client) => {
    client.query('SET plan_cache_mode = force_generic_plan').catch((error: unknown) => {
      logger.warn({ err: error }, 'gate connection: could not set the generic plan');
    });
  });
  // An idle connection killed by the server must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error }, 'gate pool connection lost'));
  return {
    pool,
    async close() {
      await pool.end();
    },
  };
}
