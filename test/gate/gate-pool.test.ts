import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashGateToken } from '../../src/auth/gate.ts';
import { GATE_LOOKUP, lookUpGate } from '../../src/auth/gate-lookup.ts';
import { loadConfig } from '../../src/config.ts';
import { createGatePool, type GatePool } from '../../src/db/gate-pool.ts';
import { createLogger } from '../../src/logger.ts';
import { testSecrets } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The gate's own connections run its statement on the generic plan (db/gate-pool.ts): left to
 * choose, PostgreSQL planned it again on every call.
 */
describe("the gate's connections", () => {
  let database: TestDatabase;
  let gate: GatePool;
  before(async () => {
    database = await createTestDatabase();
    const config = loadConfig({ NODE_ENV: 'test', ...testSecrets() });
    gate = createGatePool(config, database.url, createLogger('silent'));
  });
  after(async () => {
    await gate.close();
    await database.drop();
  });

  it('when the gate looks calls up, then its statement is planned once and never again (generic plan)', async () => {
    for (let i = 0; i < 12; i++) {
      const found = await lookUpGate(gate.pool, {
        tokenHash: hashGateToken(`no-such-token-${i}`),
        hostname: 'app.example.test',
        nowMs: Date.now(),
      });
      assert.equal(found.identity, null);
    }
    // One connection answered them all (one statement at a time): its prepared statement says
    // how it was planned.
    const client = await gate.pool.connect();
    try {
      const { rows } = await client.query<{ generic: string; custom: string }>(
        `SELECT generic_plans AS generic, custom_plans AS custom
           FROM pg_prepared_statements WHERE statement = $1`,
        [GATE_LOOKUP],
      );
      const setting = await client.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode');
      assert.equal(setting.rows[0]!.plan_cache_mode, 'force_generic_plan');
      assert.equal(rows.length, 1, 'the connection that answered holds the prepared statement');
      assert.equal(rows[0]!.custom, '0');
      assert.ok(Number(rows[0]!.generic) >= 12, `generic plans: ${rows[0]!.generic}`);
    } finally {
      client.release();
    }
  });
});
