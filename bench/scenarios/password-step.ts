import { bcryptCeiling, type BenchContext } from '../context.ts';
import { expectStatuses, load } from '../load.ts';
import { fmt, ratioText, type Row } from '../report.ts';
import { emailOf, PASSWORD } from '../seed.ts';
import { anonymousForm } from '../sessions.ts';

export interface PasswordStepResult {
  rps: number;
  p99: number;
  ceiling: number;
  ceilings: number[];
  ratio: number;
}

/**
 * Scenario 1: correct passwords of 2FA users, each request with a form cookie of its own (as a fresh
 * GET /login sets), spread over the users no scenario has used yet (none near a limit). The ceiling is bcrypt alone at
 * the same cost and pool size, measured right before and right after.
 */
export async function passwordStep(ctx: BenchContext): Promise<PasswordStepResult> {
  const seconds = ctx.options.seconds;
  const ceilingSeconds = ctx.options.quick ? 0.5 : Math.max(1, seconds / 2);
  const before = await bcryptCeiling(ctx.bcryptCost, ceilingSeconds);
  const needed = Math.ceil(before * seconds * 3) + 100;
  const sessions = Array.from({ length: needed }, () => anonymousForm(ctx.sessionSecret));
  const userIds = ctx.pool.spread(needed);
  const result = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    // A quick run sends a fixed number and waits for every answer: on a busy machine the first
    // bcrypt answers can take longer than its one second, which would leave nothing to count.
    ...(ctx.options.quick ? { amount: ctx.options.connections } : { seconds }),
    request: (i) => {
      const session = sessions[i % needed]!;
      return {
        method: 'POST',
        path: '/login',
        headers: { cookie: session.cookie },
        body: new URLSearchParams({
          email: emailOf(userIds[i % needed]!),
          password: PASSWORD,
          _csrf: session.csrfToken,
        }).toString(),
      };
    },
  });
  expectStatuses('password step', result, [303]);
  const after = await bcryptCeiling(ctx.bcryptCost, ceilingSeconds);
  const ceiling = (before + after) / 2;
  return {
    rps: result.rps,
    p99: result.p99,
    ceiling,
    ceilings: [before, after],
    ratio: result.rps / ceiling,
  };
}

export function passwordStepRows(r: PasswordStepResult, label: string): Row[] {
  return [
    {
      scenario: `1 password step${label}`,
      figure: 'sign-ins/s vs bcrypt ceiling',
      measured: `${fmt(r.rps, 2)}/s (p99 ${fmt(r.p99, 0)} ms)`,
      baseline: `bcrypt ${fmt(r.ceiling, 2)}/s (${r.ceilings.map((c) => fmt(c, 2)).join(', ')})`,
      ratio: ratioText(r.ratio),
      target: '≥ 0.90',
      pass: r.ratio >= 0.9,
    },
  ];
}
