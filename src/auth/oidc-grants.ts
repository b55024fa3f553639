/**
 * Ending what the OpenID provider issued: a person's grants (with every code, access and refresh
 * token issued under them) for some apps or all, or everything an app was issued. One DELETE per
 * call inside the caller's transaction, so that the change that asked for it (sign out everywhere,
 * deactivation, a password or 2FA change, a group removal) and the revocation commit together;
 * the next userinfo call or refresh finds nothing. One audit event per grant.
 */
import type { Db } from '../db/knex.ts';
import { auditEventRow } from './audit.ts';

export type RevocationReason =
  | 'signed_out_everywhere'
  | 'deactivated'
  | 'password_changed'
  | 'two_factor_changed'
  | 'group_removed'
  | 'app_changed'
  | 'app_removed'
  | 'signed_out';

interface RevokedGrant {
  grant_id: string;
  account_id: string | null;
  client_id: string | null;
}

async function revokeGrants(
  db: Db,
  where: { accountId?: string; clientIds?: readonly string[]; grantIds?: readonly string[] },
  reason: RevocationReason,
): Promise<number> {
  const grants = db('oidc_payloads').where({ model: 'Grant' }).select('id');
  if (where.accountId) grants.andWhere({ account_id: where.accountId });
  if (where.clientIds) grants.whereIn('client_id', [...where.clientIds]);
  if (where.grantIds) grants.whereIn('id', [...where.grantIds]);
  const deleted: RevokedGrant[] = await db('oidc_payloads')
    .whereIn('grant_id', grants)
    .orWhere((q) => q.where({ model: 'Grant' }).whereIn('id', grants))
    .delete()
    .returning(['grant_id', 'account_id', 'client_id', 'model', 'id']);
  const byGrant = new Map<string, RevokedGrant>();
  for (const row of deleted as (RevokedGrant & { model: string; id: string })[]) {
    const grantId = row.model === 'Grant' ? row.id : row.grant_id;
    if (grantId && !byGrant.has(grantId)) byGrant.set(grantId, { ...row, grant_id: grantId });
  }
  if (byGrant.size === 0) return 0;
  const names = await appNames(db, [...new Set([...byGrant.values()].map((g) => g.client_id))]);
  await db('audit_events').insert(
    [...byGrant.values()].map((grant) =>
      auditEventRow({
        event: 'oidc_grant_revoked',
        userId: grant.account_id,
        details: {
          app: names.get(grant.client_id ?? '') ?? grant.client_id,
          clientId: grant.client_id,
          reason,
        },
      }),
    ),
  );
  return byGrant.size;
}

async function appNames(db: Db, clientIds: (string | null)[]): Promise<Map<string, string>> {
  const rows: { oidc_client_id: string; name: string }[] = await db('protected_apps')
    .whereIn(
      'oidc_client_id',
      clientIds.filter((id): id is string => id !== null),
    )
    .select('oidc_client_id', 'name');
  return new Map(rows.map((row) => [row.oidc_client_id, row.name]));
}

/**
 * Revokes `userId`'s grants (all apps, or only `clientIds`) and, for all apps, their provider
 * sessions too. Returns how many grants ended.
 */
export async function revokeUserGrants(
  db: Db,
  userId: string,
  options: { clientIds?: readonly string[]; reason: RevocationReason },
): Promise<number> {
  if (options.clientIds?.length === 0) return 0;
  const count = await revokeGrants(
    db,
    { accountId: userId, ...(options.clientIds ? { clientIds: options.clientIds } : {}) },
    options.reason,
  );
  if (!options.clientIds)
    await db('oidc_payloads').where({ model: 'Session', account_id: userId }).delete();
  return count;
}

/** Revokes the grants made through one Keygate session (it signed out). */
export function revokeGrantsById(
  db: Db,
  grantIds: readonly string[],
  reason: RevocationReason = 'signed_out',
): Promise<number> {
  if (grantIds.length === 0) return Promise.resolve(0);
  return revokeGrants(db, { grantIds }, reason);
}

/** Revokes everything issued to an app (it was removed, or its client settings changed). */
export function revokeClientGrants(
  db: Db,
  clientId: string,
  reason: RevocationReason = 'app_changed',
): Promise<number> {
  return revokeGrants(db, { clientIds: [clientId] }, reason);
}

/**
 * The client ids of the group-limited apps that `groups` no longer opens once `removedGroup` is
 * gone (for revocation at a group removal).
 */
export async function clientsClosedByGroupRemoval(
  db: Db,
  remainingGroups: readonly string[],
  removedGroup: string,
): Promise<string[]> {
  const rows: { oidc_client_id: string; allowed_groups: string[] }[] = await db('protected_apps')
    .whereNotNull('oidc_client_id')
    .whereRaw('? = ANY(allowed_groups)', [removedGroup])
    .select('oidc_client_id', 'allowed_groups');
  return rows
    .filter((row) => !row.allowed_groups.some((g) => remainingGroups.includes(g)))
    .map((row) => row.oidc_client_id);
}
