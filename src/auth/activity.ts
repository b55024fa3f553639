import type { Db } from '../db/knex.ts';
import type { AuditEventName } from './audit.ts';

/** One security event of a user, as facts; messages/ says it in words for whoever reads it. */
export interface ActivityEntry {
  event: AuditEventName;
  details: Record<string, unknown>;
  at: Date;
  ip: string | null;
  userAgent: string | null;
  /** Done by an administrator to this user (not by the user themself), or by the command line. */
  byAdmin: boolean;
  /** Done by an operator's command (`npm run user`, `create-user`), not in a browser. */
  viaCommandLine: boolean;
}

interface EventRow {
  event: AuditEventName;
  created_at: Date;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  actor_id: string | null;
  user_id: string | null;
}

/** The last `limit` security events of a user, newest first. */
export async function recentActivity(
  db: Db,
  userId: string,
  options: { limit?: number } = {},
): Promise<ActivityEntry[]> {
  const rows: EventRow[] = await db('audit_events')
    .where({ user_id: userId })
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 30)
    .select('event', 'created_at', 'ip', 'user_agent', 'details', 'actor_id', 'user_id');
  return rows.map((row) => ({
    event: row.event,
    details: row.details,
    at: row.created_at,
    ip: row.ip,
    userAgent: row.user_agent,
    byAdmin:
      (row.actor_id !== null && String(row.actor_id) !== String(row.user_id)) ||
      row.details.via === 'command line',
    viaCommandLine: row.details.via === 'command line',
  }));
}
