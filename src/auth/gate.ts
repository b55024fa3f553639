/**
 * The gate's data: its cookie's token (the statement an authz call costs is in gate-lookup.ts),
 * its idle clock and its denials. The token is
 * 256 random bits; only its SHA-256 is kept, in the session it was issued to (`gateHash`, copied
 * by a trigger into an indexed column), so it lives and dies with that session: signing out,
 * "sign out everywhere", a password or 2FA change and deactivation end it on the next call.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
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
