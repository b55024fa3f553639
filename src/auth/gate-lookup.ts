/**
 * The one statement an authz call costs, shared by the calls that arrive together: the apps on
 * the asked-for host and, if the gate token's hash names a live session, its times, its user and
 * their groups. Nothing is written.
 */
import type pg from 'pg';
import type { GateIdentity } from './gate.ts';
import { toApp, type AppRow, type ProtectedApp } from './protected-apps.ts';
import type { Role } from './users.ts';

/**
 * The calls waiting for one statement: each row of the arrays is one authz call (its host, its
 * token's hash or '', its clock in seconds), answered by one row with the same ordinal.
 */
export const GATE_LOOKUP = `SELECT q.i,
   (SELECT coalesce(json_agg(a), '[]'::json) FROM
      (SELECT id, name, host, path_prefix, policy, allowed_groups FROM protected_apps
        WHERE host = q.host) a) AS apps,
   s.sid, s.sess, u.id AS user_id, u.email, u.role, u.is_active, u.must_change_password,
   u.totp_enabled_at, u.two_factor_grace_started_at, u.session_generation,
   ARRAY(SELECT group_name FROM user_groups g WHERE g.user_id = u.id ORDER BY group_name)
     AS groups
 FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS q(host, hash, now_s, i)
 LEFT JOIN sessions s ON s.gate_hash = q.hash AND s.expire >= to_timestamp(q.now_s)
 LEFT JOIN users u ON u.id = s.user_id`;

/**
 * A named (prepared) statement on one of the gate's connections (db/gate-pool.ts): PostgreSQL
 * parses it once per connection and runs it on its generic plan, never planning it again.
 */
async function preparedQuery<Row extends pg.QueryResultRow>(
  pool: pg.Pool,
  name: string,
  text: string,
  values: unknown[],
): Promise<{ rows: Row[] }> {
  return pool.query<Row>({ name, text, values });
}

interface LookupRow extends pg.QueryResultRow {
  i: string;
  apps: AppRow[];
  sid: string | null;
  sess: { generation?: number; createdAt?: number; lastSeenAt?: number } | null;
  user_id: string | null;
  email: string | null;
  role: Role | null;
  is_active: boolean | null;
  must_change_password: boolean | null;
  totp_enabled_at: Date | null;
  two_factor_grace_started_at: Date | null;
  session_generation: number | null;
  groups: string[] | null;
}

export interface GateLookupInput {
  tokenHash: string | null;
  hostname: string;
  nowMs: number;
}

export interface GateLookup {
  apps: ProtectedApp[];
  identity: GateIdentity | null;
}

function toLookup(row: LookupRow): GateLookup {
  const apps = row.apps.map(toApp);
  if (!row.sid || !row.user_id || !row.sess) return { apps, identity: null };
  const time = (value: unknown) => (typeof value === 'number' ? value : null);
  return {
    apps,
    identity: {
      sid: row.sid,
      userId: String(row.user_id),
      email: row.email!,
      role: row.role!,
      groups: row.groups ?? [],
      isActive: row.is_active === true,
      mustChangePassword: row.must_change_password === true,
      totpEnabledAt: row.totp_enabled_at,
      twoFactorGraceStartedAt: row.two_factor_grace_started_at,
      generation: Number(row.session_generation),
      sessionGeneration: typeof row.sess.generation === 'number' ? row.sess.generation : null,
      createdAt: time(row.sess.createdAt),
      lastSeenAt: time(row.sess.lastSeenAt),
    },
  };
}

interface Waiting {
  input: GateLookupInput;
  resolve(lookup: GateLookup): void;
  reject(error: unknown): void;
}

/** The calls of one database handle waiting for a statement, and the statements under way. */
interface Queue {
  waiting: Waiting[];
  running: number;
  scheduled: boolean;
}

/** Calls answered by one statement at most (the arrays stay small), and statements at once. */
export const GATE_BATCH_LIMIT = 100;
const GATE_STATEMENTS_AT_ONCE = 1;
const queues = new WeakMap<pg.Pool, Queue>();

async function runBatch(pool: pg.Pool, batch: Waiting[]): Promise<void> {
  try {
    const { rows } = await preparedQuery<LookupRow>(pool, 'keygate_gate_lookup', GATE_LOOKUP, [
      batch.map((call) => call.input.hostname),
      batch.map((call) => call.input.tokenHash ?? ''),
      batch.map((call) => Math.ceil(call.input.nowMs / 1000)),
    ]);
    const answered = new Set<number>();
    for (const row of rows) {
      const index = Number(row.i) - 1;
      // A token hash names one session (256 random bits); the first row is the answer.
      if (answered.has(index)) continue;
      answered.add(index);
      batch[index]!.resolve(toLookup(row));
    }
    for (const [index, call] of batch.entries())
      if (!answered.has(index))
        call.reject(new Error('the gate lookup returned no row for a call'));
  } catch (error) {
    for (const call of batch) call.reject(error);
  }
}

function schedule(pool: pg.Pool, queue: Queue): void {
  if (queue.scheduled || queue.running >= GATE_STATEMENTS_AT_ONCE || queue.waiting.length === 0)
    return;
  queue.scheduled = true;
  // After the I/O of this turn of the event loop: every call that arrived in it shares the statement.
  setImmediate(() => {
    queue.scheduled = false;
    while (queue.running < GATE_STATEMENTS_AT_ONCE && queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, GATE_BATCH_LIMIT);
      queue.running++;
      void runBatch(pool, batch).finally(() => {
        queue.running--;
        schedule(pool, queue);
      });
    }
  });
}

/**
 * One statement (shared by the calls that arrive together): the apps on `hostname`, and (if the
 * token hash names a live session) the session's times, its user and their groups. Nothing is
 * written. Every call is read by a statement that starts after the call arrived, so whatever was
 * committed before it (a sign-out, a deactivation, a changed app) is what it sees: batching only
 * lets calls that arrive while the database is busy share the next statement.
 */
export function lookUpGate(pool: pg.Pool, input: GateLookupInput): Promise<GateLookup> {
  let queue = queues.get(pool);
  if (!queue) {
    queue = { waiting: [], running: 0, scheduled: false };
    queues.set(pool, queue);
  }
  const waiting = queue;
  return new Promise((resolve, reject) => {
    waiting.waiting.push({ input, resolve, reject });
    schedule(pool, waiting);
  });
}
