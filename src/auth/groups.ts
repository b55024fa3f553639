import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { clientsClosedByGroupRemoval, revokeUserGrants } from './oidc-grants.ts';
import type { RequestOrigin } from './origin.ts';

/** A group is just a name: lowercase letters, digits, dot, dash and underscore (no commas). */
export const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isGroupName(value: string): boolean {
  return GROUP_NAME.test(value);
}

export async function listUserGroups(db: Db, userId: string): Promise<string[]> {
  const rows: { group_name: string }[] = await db('user_groups')
    .where({ user_id: userId })
    .orderBy('group_name')
    .select('group_name');
  return rows.map((row) => row.group_name);
}

interface GroupChange {
  userId: string;
  group: string;
  actorId: string | null;
  origin: RequestOrigin | null;
  now: Date;
}

/**
 * Membership changes take effect on the next authz call: the gate reads groups in the same
 * statement as the session, so no session needs to be ended (a removal does end the person's
 * OpenID grants to the apps it closes). Returns whether anything changed.
 */
export async function addUserToGroup(db: Db, change: GroupChange): Promise<boolean> {
  return db.transaction(async (trx) => {
    const inserted = await trx('user_groups')
      .insert({ user_id: change.userId, group_name: change.group, created_at: change.now })
      .onConflict(['user_id', 'group_name'])
      .ignore()
      .returning('group_name');
    if (inserted.length === 0) return false;
    await recordGroupEvent(trx, 'group_added', change);
    return true;
  });
}

export async function removeUserFromGroup(db: Db, change: GroupChange): Promise<boolean> {
  return db.transaction(async (trx) => {
    const removed = await trx('user_groups')
      .where({ user_id: change.userId, group_name: change.group })
      .delete();
    if (removed === 0) return false;
    // Apps limited to groups the person is no longer in: what they were given ends now.
    const remaining = await listUserGroups(trx, change.userId);
    const clientIds = await clientsClosedByGroupRemoval(trx, remaining, change.group);
    await revokeUserGrants(trx, change.userId, { clientIds, reason: 'group_removed' });
    await recordGroupEvent(trx, 'group_removed', change);
    return true;
  });
}

function recordGroupEvent(db: Db, event: 'group_added' | 'group_removed', change: GroupChange) {
  return recordAuditEvent(db, {
    event,
    userId: change.userId,
    actorId: change.actorId,
    ...(change.origin ?? {}),
    details: { group: change.group },
    at: change.now,
  });
}
