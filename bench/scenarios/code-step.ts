import { codesAhead, type BenchContext } from '../context.ts';
import { expectStatuses, load } from '../load.ts';
import { pendingSignIns, seedSessions } from '../sessions.ts';

export interface ThroughputResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

/**
 * Scenario 2: valid TOTP codes, each for a pending sign-in of its own user (a step works once per
 * user). The pending sign-ins are seeded rows: making each through the password step would cost
 * a bcrypt comparison that this scenario does not measure.
 */
export async function codeStep(ctx: BenchContext): Promise<ThroughputResult> {
  const amount = Math.min(ctx.pool.remaining - 500, ctx.options.quick ? 200 : 2000);
  const userIds = ctx.pool.take(amount);
  const sessions = await seedSessions(ctx.stack.db, ctx.sessionSecret, pendingSignIns(userIds));
  const codeNow = await codesAhead(ctx.material.totpSecret, 10);
  const result = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    amount,
    request: (i) => {
      const session = sessions[i]!;
      return {
        method: 'POST',
        path: '/login/2fa',
        headers: { cookie: session.cookie },
        body: `code=${codeNow()}&_csrf=${encodeURIComponent(session.csrfToken)}`,
      };
    },
  });
  expectStatuses('code step', result, [303]);
  return { rps: result.rps, p50: result.p50, p99: result.p99, requests: result.requests };
}
