import type { BenchContext } from '../context.ts';
import { expectStatuses, load } from '../load.ts';
import { statementCalls } from './database-work.ts';

export interface AnonymousSessionsResult {
  views: number;
  rowsBefore: number;
  rowsAfterViews: number;
  /** Statements PostgreSQL ran during the views (null without pg_stat_statements). */
  statements: number | null;
}

async function sessionRows(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.stack.db.raw<{ rows: { n: string }[] }>(
    'SELECT count(*) AS n FROM sessions',
  );
  return Number(rows[0]!.n);
}

/**
 * Scenario 9 (and the statement count of 3): N GET /login without cookies (bots and new
 * visitors), then the rows in `sessions` (all of them: nothing else signs in meanwhile) and the
 * statements PostgreSQL ran meanwhile. The sign-in form's CSRF token is stateless, so both
 * should stay exactly where they were, with no pruning needed.
 */
export async function anonymousSessions(ctx: BenchContext): Promise<AnonymousSessionsResult> {
  const rowsBefore = await sessionRows(ctx);
  const statementsBefore = await statementCalls(ctx);
  const run = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    amount: ctx.options.bulkRequests,
    request: () => ({ path: '/login' }),
  });
  expectStatuses('GET /login', run, [200]);
  const statementsAfter = await statementCalls(ctx);
  return {
    views: run.requests,
    rowsBefore,
    rowsAfterViews: await sessionRows(ctx),
    // The read of the counters itself is not among them (its text is left out).
    statements:
      statementsBefore === null || statementsAfter === null
        ? null
        : statementsAfter - statementsBefore,
  };
}
