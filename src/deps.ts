import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { GatePool } from './db/gate-pool.ts';
import type { Db } from './db/knex.ts';
import type { Logger } from './logger.ts';
import type { SessionStore } from './middleware/session/setup.ts';

/** What the app is made of: every router takes these (and so never imports app.ts). */
export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  sessions: SessionStore;
  /** The forward-auth gate's own connections (db/gate-pool.ts). */
  gate: GatePool;
}
