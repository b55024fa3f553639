import type { Db } from '../db/knex.ts';

/** Every security-relevant event, in words a person can read back in their activity list. */
export type AuditEventName =
  | 'sign_in'
  | 'sign_in_failed'
  | 'sign_out'
  | 'user_created'
  | 'first_admin_created'
  | 'second_factor_failed'
  | 'second_factor_locked'
  | 'recovery_code_used'
  | 'clock_drift_hint'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'recovery_codes_regenerated'
  | 'reauthenticated'
  | 'two_factor_reset_by_admin'
  | 'password_changed'
  | 'password_reset'
  | 'email_changed'
  | 'user_deactivated'
  | 'user_reactivated'
  | 'role_changed'
  | 'sessions_ended'
  | 'sign_in_unlocked'
  | 'temporary_password_set'
  | 'group_added'
  | 'group_removed'
  | 'app_created'
  | 'app_changed'
  | 'app_removed'
  | 'gate_denied'
  | 'trusted_browsers_forgotten'
  | 'oidc_tokens_issued'
  | 'oidc_tokens_refreshed'
  | 'oidc_grant_revoked';

export interface AuditEvent {
  event: AuditEventName;
  userId?: string | null;
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
  /** An operator's command, not a person in a browser: kept in details as `via`. */
  via?: 'command line';
  at?: Date;
}

export async function recordAuditEvent(db: Db, event: AuditEvent): Promise<void> {
  await db('audit_events').insert(auditEventRow(event));
}

/** The audit_events row for an event (for callers that fold the insert into another statement). */
export function auditEventRow(event: AuditEvent) {
  return {
    event: event.event,
    user_id: event.userId ?? null,
    actor_id: event.actorId ?? null,
    // The command line has no address (its origin's ip is empty).
    ip: event.ip || null,
    // User agents are attacker-controlled; keep a bounded amount.
    user_agent: event.userAgent ? event.userAgent.slice(0, 512) : null,
    details: JSON.stringify({ ...event.details, ...(event.via ? { via: event.via } : {}) }),
    ...(event.at ? { created_at: event.at } : {}),
  };
}
