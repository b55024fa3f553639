import type { BenchContext } from '../context.ts';
import { load, type RequestShape } from '../load.ts';
import { nameSearch } from '../names.ts';
import { emailOf } from '../seed.ts';
import { anonymousForm, pendingSignIns, seedSessions } from '../sessions.ts';
import { rssMb } from '../stack.ts';
import { GATE_HOST, liveGateTokens } from './gate.ts';

export interface MemoryResult {
  warmRssMb: number;
  afterRssMb: number;
  requests: number;
  statuses: Record<string, number>;
}

/**
 * Scenario 8: the server's resident memory after a warm-up, then after N more mixed requests:
 * new visitors' sign-in pages, the admin list and a search, a pending sign-in's code page,
 * incomplete sign-in forms and throttled wrong passwords, forward-auth calls (seven sixteenths of
 * the mix, on the live sessions of scenario 10), health probes and unknown pages.
 * A throttled answer (429) is held back for a second, so those are fewer (1 in 40) and the load
 * uses four times the connections: the held ones must not leave the processors idle.
 */
/**
 * The sessions the mix's authz calls come from: a person browsing an app sends many calls a
 * minute (every page and asset), so a couple of thousand people make these calls, each moving
 * their idle clock once a minute, rather than each of 100,000 sessions calling once.
 */
const ACTIVE_GATE_SESSIONS = 2000;

export async function memory(ctx: BenchContext): Promise<MemoryResult> {
  const { db } = ctx.stack;
  const pending = await seedSessions(db, ctx.sessionSecret, pendingSignIns(ctx.pool.take(50)));
  const attacker = [anonymousForm(ctx.sessionSecret)];
  const victim = ctx.pool.take(1)[0]!;
  await db.batchInsert(
    'auth_attempts',
    Array.from({ length: 100 }, () => ({
      kind: 'password',
      user_id: victim,
      account_key: emailOf(victim),
      ip: '198.51.100.200',
      succeeded: false,
      created_at: new Date(),
    })),
    100,
  );
  const gateTokens = await liveGateTokens(ctx, ctx.options.gateSessions);
  // The gate, asked as nginx asks it (one of the live sessions, a page of the app).
  const gateCall = (i: number): RequestShape => ({
    path: '/api/authz/auth-request',
    headers: {
      cookie: `__Secure-keygate-gate=${gateTokens[(i * 7) % ACTIVE_GATE_SESSIONS]}`,
      'x-original-url': `https://${GATE_HOST}/page/${i % 100}`,
      'x-original-method': 'GET',
    },
  });
  const mixed = (i: number): RequestShape => {
    switch (i % 8) {
      case 0:
        return { path: '/login' };
      case 1:
        // The admin list and a search, alternately: a sixteenth of the mix, still far more than
        // real traffic has, where the gate's calls are most of it. (It was an eighth: the list is
        // the dearest page, and those 6,250 more of it made this scenario a fifth of the run.)
        if (i % 16 === 9) return gateCall(i);
        if (i % 32 === 1) return { path: '/admin/users', headers: { cookie: ctx.admin.cookie } };
        return {
          path: `/admin/users?q=${encodeURIComponent(nameSearch(2 + (i % (ctx.userCount - 1))))}`,
          headers: { cookie: ctx.admin.cookie },
        };
      case 3:
        return { path: '/login/2fa', headers: { cookie: pending[i % pending.length]!.cookie } };
      case 4:
        if (i % 40 !== 4) {
          return {
            method: 'POST' as const,
            path: '/login',
            headers: { cookie: attacker[0]!.cookie },
            body: `email=&password=&_csrf=${encodeURIComponent(attacker[0]!.csrfToken)}`,
          };
        }
        return {
          method: 'POST' as const,
          path: '/login',
          headers: { cookie: attacker[0]!.cookie, 'x-forwarded-for': '198.51.100.200' },
          body: `email=${encodeURIComponent(emailOf(victim))}&password=wrong-password-1234&_csrf=${encodeURIComponent(attacker[0]!.csrfToken)}`,
        };
      case 2:
      case 5:
      case 6:
        return gateCall(i);
      default:
        return { path: i % 16 === 7 ? '/healthz' : `/no-such-page-${i}` };
    }
  };
  const warmUp = Math.max(200, Math.floor(ctx.options.bulkRequests / 20));
  await load({
    url: ctx.stack.url,
    connections: ctx.options.connections * 4,
    amount: warmUp,
    request: mixed,
  });
  const warmRssMb = rssMb(ctx.stack.server.pid!);
  const run = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections * 4,
    amount: ctx.options.bulkRequests,
    request: mixed,
  });
  return {
    warmRssMb,
    afterRssMb: rssMb(ctx.stack.server.pid!),
    requests: run.requests,
    statuses: run.statuses,
  };
}
