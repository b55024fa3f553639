import bcrypt from 'bcrypt';
import { formatRecoveryCode } from '../../src/auth/recovery-codes.ts';
import { Browser } from '../client.ts';
import type { BenchContext } from '../context.ts';
import { median, timed } from '../load.ts';
import { makeSharedRecoveryCodes, seedRecoveryCodes } from '../seed.ts';
import { pendingSignIns, seedSessions, type SeededSession } from '../sessions.ts';

export interface RecoveryResult {
  samples: number;
  tenLeftMs: number;
  oneLeftMs: number;
  oneCompareMs: number;
  /** The seed's design (every unused code in turn, in process): right code at a random place. */
  seedTenLeftMs: number;
  seedOneLeftMs: number;
  seedWrongTenLeftMs: number;
}

async function signInWithCode(ctx: BenchContext, session: SeededSession, code: string) {
  const browser = new Browser(ctx.stack.url);
  browser.cookie = session.cookie;
  const [reply, ms] = await timed(() =>
    browser.post('/login/recovery', { code: formatRecoveryCode(code), _csrf: session.csrfToken }),
  );
  if (reply.status !== 303 || !reply.location?.startsWith('/settings/2fa/recovery-used')) {
    throw new Error(`recovery sign-in failed: ${reply.status} ${reply.location}`);
  }
  return ms;
}

/**
 * Scenario 5: a complete recovery-code sign-in (POST /login/recovery on a pending sign-in), for
 * users with 10 codes left and with 1 left, alternating, one request at a time; against one bcrypt
 * comparison at the recovery-code cost timed in this process between requests. The seed's design
 * (compare with every unused code until one matches) is timed the same way, in process.
 */
export async function recoveryCodes(ctx: BenchContext): Promise<RecoveryResult> {
  const samples = ctx.options.quick ? 1 : 25;
  const set = await makeSharedRecoveryCodes();
  const tenLeft = ctx.pool.take(samples);
  const oneLeft = ctx.pool.take(samples);
  await seedRecoveryCodes(ctx.stack.db, set, tenLeft, 10);
  await seedRecoveryCodes(ctx.stack.db, set, oneLeft, 1);
  const tenSessions = await seedSessions(ctx.stack.db, ctx.sessionSecret, pendingSignIns(tenLeft));
  const oneSessions = await seedSessions(ctx.stack.db, ctx.sessionSecret, pendingSignIns(oneLeft));
  const code = set.codes[0]!;
  const hashes = set.rows.map((row) => row.code_hash);

  const ten: number[] = [];
  const one: number[] = [];
  const compare: number[] = [];
  const seedTen: number[] = [];
  const seedOne: number[] = [];
  const seedWrong: number[] = [];
  const inTurn = async (candidates: string[], typed: string) => {
    for (const hash of candidates) if (await bcrypt.compare(typed, hash)) return true;
    return false;
  };
  // One warm-up of each path, not counted.
  await bcrypt.compare(code, hashes[0]!);
  for (let i = 0; i < samples; i++) {
    ten.push(await signInWithCode(ctx, tenSessions[i]!, code));
    compare.push((await timed(() => bcrypt.compare(code, hashes[0]!)))[1]);
    one.push(await signInWithCode(ctx, oneSessions[i]!, code));
    // The seed design: unused codes in storage order; the typed one sits at a random place.
    const place = Math.floor(Math.random() * 10);
    const order = [...hashes.slice(1, place + 1), hashes[0]!, ...hashes.slice(place + 1)];
    seedTen.push((await timed(() => inTurn(order, code)))[1]);
    seedOne.push((await timed(() => inTurn([hashes[0]!], code)))[1]);
    seedWrong.push((await timed(() => inTurn(hashes, 'ZZZZZZZZZZZZZZZZ')))[1]);
  }
  return {
    samples,
    tenLeftMs: median(ten),
    oneLeftMs: median(one),
    oneCompareMs: median(compare),
    seedTenLeftMs: median(seedTen),
    seedOneLeftMs: median(seedOne),
    seedWrongTenLeftMs: median(seedWrong),
  };
}
