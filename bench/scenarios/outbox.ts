import { codeForStep, stepAt } from '../../src/auth/totp.ts';
import { Browser } from '../client.ts';
import { currentCode, type BenchContext } from '../context.ts';
import { percentile, timed } from '../load.ts';
import { emailOf, PASSWORD } from '../seed.ts';

export type OutboxResult =
  | { available: false; reason: string }
  | {
      available: true;
      /** Complete sign-ins (password + code) that queued a notification, and their p50. */
      queued: number;
      queuedP50: number;
      /** The same people signing in again from the same browser: nothing to tell them. */
      quiet: number;
      quietP50: number;
    };

async function outboxRows(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.stack.db.raw<{ rows: { n: string }[] }>(
    'SELECT count(*) AS n FROM mail_outbox',
  );
  return Number(rows[0]!.n);
}

/** A complete sign-in (four requests, one at a time), timed, and the outbox rows it queued. */
async function signIn(ctx: BenchContext, browser: Browser, userId: number, stepsAhead: number) {
  const before = await outboxRows(ctx);
  const [, ms] = await timed(async () => {
    const first = await browser.submit('/login', { email: emailOf(userId), password: PASSWORD });
    if (first.location !== '/login/2fa') throw new Error(`outbox password step: ${first.status}`);
    const code =
      stepsAhead === 0
        ? await currentCode(ctx.material.totpSecret)
        : await codeForStep(ctx.material.totpSecret, stepAt(Date.now()) + stepsAhead);
    const done = await browser.submit('/login/2fa', { code });
    if (done.location !== '/') throw new Error(`outbox code step: ${done.status}`);
  });
  return { ms, queued: (await outboxRows(ctx)) - before };
}

/**
 * Row 13 (issue 15's outbox): a sign-in that queues a mail (the first from a new device, with
 * NOTIFICATIONS=all by default) against the same person's next sign-in from the same
 * browser, which queues none, in one server and one run; p50 of each. Every sample is checked
 * against the outbox itself, so a build that queues for both (or neither) says so instead of
 * passing. Skipped, with the reason, when this build has no outbox table.
 */
export async function outboxScenario(ctx: BenchContext): Promise<OutboxResult> {
  const { rows } = await ctx.stack.db.raw<{ rows: { t: string | null }[] }>(
    `SELECT to_regclass('mail_outbox')::text AS t`,
  );
  if (!rows[0]!.t) return { available: false, reason: 'not available in this build (no outbox)' };
  // Each sample is a whole sign-in at the bcrypt cost (about 0.3 s here), one at a time; the
  // p50s of the two sides, 30 each, were 0.1 ms apart (315.6 and 315.7 ms), so 20 each suffice.
  const samples = ctx.options.quick ? 3 : 20;
  const queued: number[] = [];
  const quiet: number[] = [];
  const people = ctx.pool.take(samples).map((userId, i) => ({
    userId,
    browser: new Browser(ctx.stack.url, `203.0.113.${(i % 200) + 20}`),
  }));
  // People who have signed in before, elsewhere: a first sign-in is no "new device" (nothing to
  // compare with), a sign-in from a browser and IP not seen in 30 days is.
  await ctx.stack
    .db('users')
    .whereIn(
      'id',
      people.map((p) => p.userId),
    )
    .update({ last_sign_in_at: new Date(Date.now() - 86_400_000) });
  for (let round = 0; round < 2; round++) {
    for (const { userId, browser } of people) {
      // A TOTP step works once per user: the second sign-ins type the next step's code (one
      // step ahead is within the window, as for a phone whose clock runs a little fast).
      const { ms, queued: rowsQueued } = await signIn(ctx, browser, userId, round);
      (rowsQueued > 0 ? queued : quiet).push(ms);
      const out = await browser.submit('/logout', {});
      if (out.status !== 303) throw new Error(`outbox sign-out: ${out.status}`);
    }
  }
  return {
    available: true,
    queued: queued.length,
    queuedP50: queued.length ? percentile(queued, 50) : NaN,
    quiet: quiet.length,
    quietP50: quiet.length ? percentile(quiet, 50) : NaN,
  };
}
