/**
 * The gate's data: its cookie's token, and the one statement an authz call costs. The token is
 * 256 random bits; only its SHA-256 is kept, in the session it was issued to (`gateHash`, copied
 * by a trigger into an indexed column), so it lives and dies with that session: signing out,
 * "sign out everywhere", a password or 2FA change and deactivation end it on the next call.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { toApp, type AppRow, type ProtectedApp } from './protected-apps.ts';
import type { Role } from './users.ts';

export function newGateToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function hashGateToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** A well-formed token (43 base64url characters); anything else is not looked up. */
export function isGateToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** The signed-in person behind a gate token, as the session and the users table say now. */
export interface GateIdentity {
  sid: string;
  userId: string;
  email: string;
  role: Role;
  groups: string[];
  isActive: boolean;
  mustChangePassword: boolean;
  totpEnabledAt: Date | null;
  twoFactorGraceStartedAt: Date | null;
  /** The user's generation now, and the one the session was issued under. */
  generation: number;
  sessionGeneration: number | null;
  createdAt: number | null;
  lastSeenAt: number | null;
}

const LOOKUP = `SELECT
   (SELECT coalesce(json_agg(a), '[]'::json) FROM
      (SELECT id, name, host, path_prefix, policy, allowed_groups FROM protected_apps
        WHERE host = $1) a) AS apps,
   s.sid, s.sess, u.id AS user_id, u.email, u.role, u.is_active, u.must_change_password,
   u.totp_enabled_at, u.two_factor_grace_started_at, u.session_generation,
   ARRAY(SELECT group_name FROM user_groups g WHERE g.user_id = u.id ORDER BY group_name)
     AS groups
 FROM (SELECT 1) AS one
 LEFT JOIN sessions s ON s.gate_hash = $2 AND s.expire >= to_timestamp($3)
 LEFT JOIN users u ON u.id = s.user_id`;

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * A named (prepared) statement on one of knex's own connections: PostgreSQL parses and plans it
 * once per connection instead of on every call, which is what an authz call mostly costs.
 */
async function preparedQuery<Row>(
  db: Db,
  name: string,
  text: string,
  values: unknown[],
): Promise<{ rows: Row[] }> {
  const client = db.client as {
    acquireConnection(): Promise<PgConnection>;
    releaseConnection(connection: PgConnection): Promise<void>;
  };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text, values })) as { rows: Row[] };
  } finally {
    await client.releaseConnection(connection);
  }
}

interface LookupRow {
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

/**
 * One statement: the apps on `hostname`, and (if the token hash names a live session) the
 * session's times, its user and their groups. Nothing is written.
 */
export async function lookUpGate(
  db: Db,
  input: { tokenHash: string | null; hostname: string; nowMs: number },
): Promise<{ apps: ProtectedApp[]; identity: GateIdentity | null }> {
  const result = await preparedQuery<LookupRow>(db, 'keygate_gate_lookup', LOOKUP, [
    input.hostname,
    input.tokenHash ?? '',
    Math.ceil(input.nowMs / 1000),
  ]);
  const row = result.rows[0]!;
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

/**
 * Moves the session's idle clock (and its row's expiry) forward. Called at most once a minute
 * per session; an UPDATE, never an upsert, so it cannot bring back a session ended meanwhile.
 */
export async function touchGateSession(
  db: Db,
  input: { sid: string; lastSeenAt: number; expiresAtMs: number },
): Promise<void> {
  await db.raw(
    `UPDATE sessions SET sess = (sess::jsonb || jsonb_build_object('lastSeenAt', ?::bigint))::json,
       expire = greatest(expire, to_timestamp(?))
     WHERE sid = ?`,
    [input.lastSeenAt, Math.ceil(input.expiresAtMs / 1000), input.sid],
  );
}

/** The last minute in which a denial was recorded, per person and app (this process's memory). */
const recentDenials = new Map<string, number>();

/**
 * A denial in the audit log at most once per person, app and minute: checked here first (no
 * statement at all for a repeat), and by the INSERT's condition across processes.
 */
export async function recordGateDenial(
  db: Db,
  input: {
    userId: string;
    app: string;
    reason: string;
    ip: string;
    userAgent: string | null;
    now: Date;
  },
): Promise<void> {
  const minute = Math.floor(input.now.getTime() / 60_000);
  const key = `${input.userId} ${input.app}`;
  if (recentDenials.get(key) === minute) return;
  if (recentDenials.size > 10_000) recentDenials.clear();
  recentDenials.set(key, minute);
  await db.raw(
    `INSERT INTO audit_events (event, user_id, ip, user_agent, details, created_at)
     SELECT 'gate_denied', ?, ?, ?, ?::jsonb, ?
     WHERE NOT EXISTS (
       SELECT 1 FROM audit_events WHERE user_id = ? AND event = 'gate_denied'
         AND details ->> 'app' = ? AND created_at > ?)`,
    [
      input.userId,
      input.ip,
      input.userAgent?.slice(0, 512) ?? null,
      JSON.stringify({ app: input.app, reason: input.reason }),
      input.now,
      input.userId,
      input.app,
      new Date(input.now.getTime() - 60_000),
    ],
  );
}
