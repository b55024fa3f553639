import type { Db } from '../../src/db/knex.ts';

/** A statement that writes: INSERT, UPDATE or DELETE, also as the body of a WITH. */
export const WRITE_STATEMENT = /^\s*(with\b[\s\S]*\b)?(insert|update|delete)\b/i;

/**
 * How often each statement has run on this test database so far, as pg_stat_statements counts
 * (every statement, prepared or not, the session store's and BEGIN/COMMIT included; knex's query
 * events miss some). Its own queries are left out. The test creates the extension first.
 */
export async function statementCalls(db: Db): Promise<Map<string, number>> {
  const { rows } = await db.raw<{ rows: { query: string; calls: string }[] }>(
    `SELECT query, calls FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT ILIKE '%pg_stat_statements%'`,
  );
  return new Map(rows.map((row) => [row.query, Number(row.calls)]));
}
