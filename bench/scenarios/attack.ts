import { Browser } from '../client.ts';
import { currentCode, wrongCode, type BenchContext } from '../context.ts';
import { load, percentile, timed, type LoadOptions, type LoadResult } from '../load.ts';

type RequestBuilder = LoadOptions['request'];
import { emailOf, PASSWORD } from '../seed.ts';
import { anonymousForm, pendingSignIns, seedSessions } from '../sessions.ts';
import { cpuSeconds } from '../stack.ts';

export interface AttackResult {
  quietP99: number;
  floodP99: number;
  quietSamples: number;
  floodSamples: number;
  passwordFlood: { rps: number; statuses: Record<string, number> };
  codeFlood: { rps: number; statuses: Record<string, number> };
  /** Password attempts recorded for the attackers' addresses during the flood (see below). */
  bcryptCallsByFlood: number;
  throttledRequests: number;
  /** All server CPU during the flood, less the legitimate sign-ins' own (measured without flood). */
  serverCpuMsPerFloodRequest: number;
}

const ATTACKER_IPS = Array.from({ length: 10 }, (_, i) => `198.51.100.${i + 1}`);

/** A legitimate person signing in with password and code, like a browser: four requests. */
async function legitimateSignIn(ctx: BenchContext, userId: number, ip: string): Promise<number> {
  const browser = new Browser(ctx.stack.url, ip);
  const [, ms] = await timed(async () => {
    const first = await browser.submit('/login', { email: emailOf(userId), password: PASSWORD });
    if (first.location !== '/login/2fa')
      throw new Error(`legitimate password step: ${first.status}`);
    const code = await currentCode(ctx.material.totpSecret);
    const done = await browser.submit('/login/2fa', { code });
    if (done.location !== '/') throw new Error(`legitimate code step: ${done.status}`);
  });
  return ms;
}

/** Sign-ins started every `intervalMs` for `seconds` (a steady rate, not back to back). */
async function steadySignIns(ctx: BenchContext, seconds: number, intervalMs: number) {
  const count = Math.max(3, Math.floor((seconds * 1000) / intervalMs));
  const users = ctx.pool.take(count);
  const runs: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    runs.push(legitimateSignIn(ctx, users[i]!, `203.0.113.${(i % 200) + 20}`));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return Promise.all(runs);
}

async function passwordAttempts(ctx: BenchContext): Promise<number> {
  const row = await ctx.stack
    .db('auth_attempts')
    .where({ kind: 'password' })
    .whereIn('ip', ATTACKER_IPS)
    .count<{ n: string }>('* as n')
    .first();
  return Number(row?.n ?? 0);
}

/**
 * Scenario 6. The attackers: 10 addresses that already failed 10 times on each of 20 accounts
 * (seeded rows, as if the flood had been going on), now sending wrong passwords for those accounts
 * at full speed; and wrong TOTP codes at full speed on many pending sign-ins of 10 accounts whose
 * password they know. Meanwhile a legitimate person signs in at a steady low rate.
 *
 * bcrypt calls are counted from the app's own records: the password step writes one attempt row
 * exactly when it ran bcrypt (sign-in.ts returns before bcrypt, and before recording, when the
 * limits refuse), so the attackers' rows written during the flood are the flood's bcrypt calls.
 * Wrong TOTP codes never touch bcrypt. The server's CPU time per flood request corroborates it.
 */
export async function attackIsolation(ctx: BenchContext): Promise<AttackResult> {
  const { db } = ctx.stack;
  // p99 needs samples: 30 sign-ins a phase made it the slowest one, and one unlucky sign-in
  // decided the row. 80 a phase (p99 is the second slowest) at ~3 a second, a third of the
  // bcrypt ceiling, so the legitimate load alone never queues on bcrypt.
  const seconds = ctx.options.quick ? 1 : ctx.options.seconds * 3;
  const interval = 300;
  // The floods start this long before the flooded sign-ins and outlast them by as much again.
  const lead = ctx.options.quick ? 500 : 1000;

  const victims = ctx.pool.take(20);
  const failures = victims.flatMap((id) =>
    ATTACKER_IPS.flatMap((ip) =>
      Array.from({ length: 10 }, () => ({
        kind: 'password',
        user_id: id,
        account_key: emailOf(id),
        ip,
        succeeded: false,
        created_at: new Date(Date.now() - 60_000),
      })),
    ),
  );
  await db.batchInsert('auth_attempts', failures, 1000);
  const attackerForms = Array.from({ length: 50 }, () => anonymousForm(ctx.sessionSecret));
  const codeVictims = ctx.pool.take(10);
  const pendingCount = ctx.options.quick ? 1000 : 20_000;
  const pendings = await seedSessions(
    db,
    ctx.sessionSecret,
    pendingSignIns(Array.from({ length: pendingCount }, (_, i) => codeVictims[i % 10]!)),
  );
  const badCode = await wrongCode(ctx.material.totpSecret);

  const quietCpuBefore = cpuSeconds(ctx.stack.server.pid!);
  const quiet = await steadySignIns(ctx, seconds, interval);
  // What one legitimate sign-in costs the server (bcrypt included), to take off the flood's share.
  const cpuPerSignIn = (cpuSeconds(ctx.stack.server.pid!) - quietCpuBefore) / quiet.length;

  const attemptsBefore = await passwordAttempts(ctx);
  const cpuBefore = cpuSeconds(ctx.stack.server.pid!);
  // Each flood: 8 connections, each sending its next request as soon as it has an answer.
  const flood = (request: RequestBuilder) =>
    load({ url: ctx.stack.url, connections: 8, seconds: seconds + (2 * lead) / 1000, request });
  const passwordFlood = flood((i) => {
    const session = attackerForms[i % attackerForms.length]!;
    return {
      method: 'POST',
      path: '/login',
      headers: { cookie: session.cookie, 'x-forwarded-for': ATTACKER_IPS[i % 10]! },
      body: new URLSearchParams({
        email: emailOf(victims[i % victims.length]!),
        password: `wrong-password-${i}`,
        _csrf: session.csrfToken,
      }).toString(),
    };
  });
  const codeFlood = flood((i) => {
    const session = pendings[i % pendings.length]!;
    return {
      method: 'POST',
      path: '/login/2fa',
      headers: { cookie: session.cookie, 'x-forwarded-for': ATTACKER_IPS[i % 10]! },
      body: `code=${badCode}&_csrf=${encodeURIComponent(session.csrfToken)}`,
    };
  });
  await new Promise((resolve) => setTimeout(resolve, lead));
  const flooded = await steadySignIns(ctx, seconds, interval);
  const [pw, code]: [LoadResult, LoadResult] = await Promise.all([passwordFlood, codeFlood]);
  const cpu = cpuSeconds(ctx.stack.server.pid!) - cpuBefore;
  const attemptsAfter = await passwordAttempts(ctx);
  const floodRequests = pw.requests + code.requests;
  return {
    quietP99: percentile(quiet, 99),
    floodP99: percentile(flooded, 99),
    quietSamples: quiet.length,
    floodSamples: flooded.length,
    passwordFlood: { rps: pw.rps, statuses: pw.statuses },
    codeFlood: { rps: code.rps, statuses: code.statuses },
    bcryptCallsByFlood: attemptsAfter - attemptsBefore,
    throttledRequests: pw.statuses['429'] ?? 0,
    serverCpuMsPerFloodRequest:
      (Math.max(0, cpu - cpuPerSignIn * flooded.length) * 1000) / floodRequests,
  };
}
