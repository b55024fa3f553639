import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { revokeUserGrants, type RevocationReason } from './oidc-grants.ts';
import type { RequestOrigin } from './origin.ts';
import { forgetTrustedBrowsers } from './trusted-browsers.ts';

/**
 * Ends every session of a user except `keepSid` (the one making the change), if given, and
 * returns the user's new session generation. Deleting the rows ends them now; bumping the
 * generation is a second lock on the door: a session issued under an older generation is dead
 * even if its row were ever written back (the store no longer recreates deleted rows, see
 * middleware/session-store.ts). The caller keeping its session must adopt the new generation.
 * What apps were given through OpenID Connect ends too, in the same transaction (`reason` is
 * audited per grant): their next userinfo call or refresh is refused.
 */
export async function endUserSessions(
  db: Db,
  userId: string,
  options: { keepSid?: string; reason: RevocationReason },
): Promise<{ ended: number; generation: number }> {
  const { keepSid } = options;
  await revokeUserGrants(db, userId, { reason: options.reason });
  const [row] = await db('users')
    .where({ id: userId })
    .increment('session_generation', 1)
    .returning('session_generation');
  const query = db('sessions').where({ user_id: userId });
  if (keepSid) query.whereNot({ sid: keepSid });
  const ended = await query.delete();
  return { ended, generation: Number(row?.session_generation ?? 0) };
}

/**
 * "Sign out everywhere" (by an administrator, keepSid unset) or "sign out my other sessions" (the
 * person, keeping the session that asks): the sessions end, every trusted browser is forgotten
 * (this one's too: "everywhere" includes the browsers that would skip the code), and the event is
 * audited, together.
 */
export async function endOtherSessions(
  db: Db,
  input: {
    userId: string;
    actorId: string | null;
    keepSid?: string;
    origin: RequestOrigin;
    now: Date;
  },
): Promise<{ ended: number; generation: number }> {
  return db.transaction(async (trx) => {
    const result = await endUserSessions(trx, input.userId, {
      ...(input.keepSid ? { keepSid: input.keepSid } : {}),
      reason: 'signed_out_everywhere',
    });
    await forgetTrustedBrowsers(trx, input.userId);
    await recordAuditEvent(trx, {
      event: 'sessions_ended',
      userId: input.userId,
      actorId: input.actorId,
      ...input.origin,
      details: { count: result.ended },
      at: input.now,
    });
    return result;
  });
}

/** Signing out: the session itself is ended by the caller; this records it for the person. */
export async function recordSignOut(
  db: Db,
  input: { userId: string; origin: RequestOrigin; now: Date },
): Promise<void> {
  await recordAuditEvent(db, {
    event: 'sign_out',
    userId: input.userId,
    ...input.origin,
    at: input.now,
  });
}

/**
 * A session as shown in lists. Session ids are bearer secrets, so pages name a session by a
 * hash of its id instead.
 */
export interface SessionSummary {
  handle: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date | null;
  lastSeenAt: Date | null;
  current: boolean;
}

export function sessionHandle(sid: string): string {
  return crypto.createHash('sha256').update(sid).digest('hex').slice(0, 24);
}

export async function listUserSessions(
  db: Db,
  userId: string,
  currentSid: string | null,
  now: Date,
): Promise<SessionSummary[]> {
  const rows: { sid: string; sess: Record<string, unknown> }[] = await db('sessions')
    .where({ user_id: userId })
    .where('expire', '>', now)
    .select('sid', 'sess');
  const time = (value: unknown) => (typeof value === 'number' ? new Date(value) : null);
  return rows
    .map((row) => ({
      handle: sessionHandle(row.sid),
      ip: typeof row.sess.ip === 'string' ? row.sess.ip : null,
      userAgent: typeof row.sess.userAgent === 'string' ? row.sess.userAgent : null,
      createdAt: time(row.sess.createdAt),
      lastSeenAt: time(row.sess.lastSeenAt),
      current: row.sid === currentSid,
    }))
    .sort(
      (a, b) =>
        Number(b.current) - Number(a.current) ||
        (b.lastSeenAt?.getTime() ?? 0) - (a.lastSeenAt?.getTime() ?? 0),
    );
}

/** Ends the one session of `userId` whose handle is `handle` (never someone else's). */
export async function endSessionByHandle(db: Db, userId: string, handle: string): Promise<boolean> {
  if (!/^[0-9a-f]{24}$/.test(handle)) return false;
  const deleted = await db('sessions')
    .where({ user_id: userId })
    .whereRaw(`substr(encode(sha256(convert_to(sid, 'UTF8')), 'hex'), 1, 24) = ?`, [handle])
    .delete();
  return deleted > 0;
}
