import { Browser } from '../client.ts';
import { currentCode, type BenchContext } from '../context.ts';
import { emailOf, PASSWORD } from '../seed.ts';

export interface StepWork {
  statements: number;
  writes: number;
  /** Rows the write statements report (a CTE's inner INSERT or DELETE is not among them). */
  rowsWritten: number;
}

export interface DatabaseWorkResult {
  available: boolean;
  signIns: number;
  /** Per complete sign-in (POST /login + POST /login/2fa), averaged. */
  perSignIn: StepWork;
  /** Per request of the whole browser flow, averaged. */
  perRequest: Record<string, StepWork>;
  /** The statements of one sign-in, by text, for the report. */
  statements: { query: string; calls: number }[];
  /**
   * Rows inserted, updated and deleted per sign-in (both POSTs), from the table statistics:
   * every row, those of a statement's CTEs included. The statistics cover the whole flow; the
   * rows of the two GETs (single-row statements, counted exactly above) are taken off.
   */
  tableRowsPerSignIn: number;
}

const WRITE = /^\s*(with\b[\s\S]*\b)?(insert|update|delete)\b/i;

/**
 * pg_stat_statements (preloaded by the embedded PostgreSQL) counts every statement the app sends,
 * BEGIN and COMMIT included. Each request of a real sign-in runs alone, between two reads of the
 * counters, so the numbers are exact.
 */
async function counters(ctx: BenchContext) {
  const { rows } = await ctx.stack.db.raw<{
    rows: { query: string; calls: string; rows: string }[];
  }>(
    `SELECT query, calls, rows FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT ILIKE '%pg_stat_statements%'`,
  );
  return new Map(rows.map((r) => [r.query, { calls: Number(r.calls), rows: Number(r.rows) }]));
}

/** Statements run on this database so far (pg_stat_statements), or null without the extension. */
export async function statementCalls(ctx: BenchContext): Promise<number | null> {
  try {
    const all = await counters(ctx);
    return [...all.values()].reduce((sum, c) => sum + c.calls, 0);
  } catch {
    return null;
  }
}

/**
 * Rows inserted, updated and deleted so far in this database (pg_stat_user_tables). A backend
 * that is idle reports its counts within 10 seconds (PGSTAT_IDLE_INTERVAL), so this waits first.
 */
async function tableRows(ctx: BenchContext): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  const { rows } = await ctx.stack.db.raw<{ rows: { n: string }[] }>(
    'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_user_tables',
  );
  return Number(rows[0]!.n);
}

async function measure<T>(ctx: BenchContext, fn: () => Promise<T>) {
  const before = await counters(ctx);
  const value = await fn();
  const after = await counters(ctx);
  const work: StepWork = { statements: 0, writes: 0, rowsWritten: 0 };
  const byQuery: { query: string; calls: number }[] = [];
  for (const [query, now] of after) {
    const calls = now.calls - (before.get(query)?.calls ?? 0);
    if (calls <= 0) continue;
    byQuery.push({ query, calls });
    work.statements += calls;
    if (WRITE.test(query)) {
      work.writes += calls;
      work.rowsWritten += now.rows - (before.get(query)?.rows ?? 0);
    }
  }
  return { value, work, byQuery };
}

export async function databaseWork(ctx: BenchContext): Promise<DatabaseWorkResult> {
  try {
    await ctx.stack.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await ctx.stack.db.raw('SELECT count(*) FROM pg_stat_statements');
  } catch {
    return {
      available: false,
      signIns: 0,
      perSignIn: { statements: NaN, writes: NaN, rowsWritten: NaN },
      perRequest: {},
      statements: [],
      tableRowsPerSignIn: NaN,
    };
  }
  const signIns = ctx.options.quick ? 2 : 10;
  const steps = ['GET /login', 'POST /login', 'GET /login/2fa', 'POST /login/2fa'] as const;
  const totals: Record<string, StepWork> = {};
  for (const step of steps) totals[step] = { statements: 0, writes: 0, rowsWritten: 0 };
  let sample: { query: string; calls: number }[] = [];
  // The statistics need 10 s to settle at each end: too long for a --quick run.
  const countRows = !ctx.options.quick;
  const tableRowsBefore = countRows ? await tableRows(ctx) : 0;
  for (const userId of ctx.pool.take(signIns)) {
    const browser = new Browser(ctx.stack.url);
    const add = (step: string, work: StepWork) => {
      const total = totals[step]!;
      total.statements += work.statements;
      total.writes += work.writes;
      total.rowsWritten += work.rowsWritten;
    };
    const page = await measure(ctx, () => browser.get('/login'));
    add('GET /login', page.work);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.value.body)![1]!;
    const password = await measure(ctx, () =>
      browser.post('/login', { email: emailOf(userId), password: PASSWORD, _csrf: token }),
    );
    if (password.value.location !== '/login/2fa') throw new Error('password step failed');
    add('POST /login', password.work);
    const codePage = await measure(ctx, () => browser.get('/login/2fa'));
    add('GET /login/2fa', codePage.work);
    const codeToken = /name="_csrf" value="([^"]+)"/.exec(codePage.value.body)![1]!;
    const code = await currentCode(ctx.material.totpSecret);
    const done = await measure(ctx, () => browser.post('/login/2fa', { code, _csrf: codeToken }));
    if (done.value.status !== 303 || done.value.location !== '/')
      throw new Error('code step failed');
    add('POST /login/2fa', done.work);
    sample = [...password.byQuery, ...done.byQuery];
  }
  const perRequest: Record<string, StepWork> = {};
  for (const step of steps) {
    const t = totals[step]!;
    perRequest[step] = {
      statements: t.statements / signIns,
      writes: t.writes / signIns,
      rowsWritten: t.rowsWritten / signIns,
    };
  }
  const both = ['POST /login', 'POST /login/2fa'].map((s) => perRequest[s]!);
  return {
    available: true,
    signIns,
    perSignIn: {
      statements: both[0]!.statements + both[1]!.statements,
      writes: both[0]!.writes + both[1]!.writes,
      rowsWritten: both[0]!.rowsWritten + both[1]!.rowsWritten,
    },
    perRequest,
    tableRowsPerSignIn: !countRows
      ? NaN
      : ((await tableRows(ctx)) - tableRowsBefore) / signIns -
        perRequest['GET /login']!.rowsWritten -
        perRequest['GET /login/2fa']!.rowsWritten,
    statements: sample.map((s) => ({
      query: s.query.replace(/\s+/g, ' ').slice(0, 140),
      calls: s.calls,
    })),
  };
}
