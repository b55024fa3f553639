import { pruneOldRecords } from '../../src/auth/retention.ts';
import type { BenchContext } from '../context.ts';
import { load } from '../load.ts';

export interface AnonymousSessionsResult {
  views: number;
  rowsBefore: number;
  rowsAfterViews: number;
  rowsAfterPruneNow: number;
  rowsAfterPruneInterval: number;
  pruneIntervalMs: number;
}

/** Sessions without a signed-in user or a sign-in in progress: what bots and new visitors leave. */
async function anonymousRows(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.stack.db.raw<{ rows: { n: string }[] }>(
    `SELECT count(*) AS n FROM sessions
     WHERE user_id IS NULL AND (sess::jsonb -> 'pending') IS NULL AND (sess::jsonb -> 'enrolment') IS NULL`,
  );
  return Number(rows[0]!.n);
}

/**
 * Scenario 9: N GET /login without cookies (a bot), then the anonymous session rows: before,
 * right after, after the app's pruning job runs now, and after it runs one PRUNE_INTERVAL later
 * (the same function the server's timer calls, given the later time).
 */
export async function anonymousSessions(ctx: BenchContext): Promise<AnonymousSessionsResult> {
  const rowsBefore = await anonymousRows(ctx);
  const run = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    amount: ctx.options.bulkRequests,
    request: () => ({ path: '/login' }),
  });
  const rowsAfterViews = await anonymousRows(ctx);
  const retention = { attemptsMs: 90 * 86_400_000, auditMs: 365 * 86_400_000 };
  await pruneOldRecords(ctx.stack.db, new Date(), retention);
  const rowsAfterPruneNow = await anonymousRows(ctx);
  await pruneOldRecords(ctx.stack.db, new Date(Date.now() + ctx.pruneIntervalMs), retention);
  const rowsAfterPruneInterval = await anonymousRows(ctx);
  return {
    views: run.requests,
    rowsBefore,
    rowsAfterViews,
    rowsAfterPruneNow,
    rowsAfterPruneInterval,
    pruneIntervalMs: ctx.pruneIntervalMs,
  };
}
