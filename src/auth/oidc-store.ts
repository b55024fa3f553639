/**
 * oidc-provider's storage on Keygate's PostgreSQL: one table (oidc_payloads) for every model it
 * keeps (sessions, interactions, grants, codes, tokens), keyed by model and id, with the columns
 * its look-ups need (grant, uid, user code) and the person and app a row belongs to (for
 * revocation, see oidc-grants.ts). Nothing is held in memory, so several instances share it all.
 * Clients are not stored here: they are Keygate's apps (oidc-clients.ts).
 */
import type { Db } from '../db/knex.ts';

/** What oidc-provider hands an adapter: a JSON payload, a few well-known fields in it. */
export interface OidcPayload {
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  clientId?: string;
  consumed?: number;
  [key: string]: unknown;
}

interface PayloadRow {
  payload: OidcPayload;
  consumed_at: Date | null;
}

/** The adapter interface oidc-provider expects, for one model. */
export interface OidcAdapter {
  upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

function withConsumed(row: PayloadRow | undefined): OidcPayload | undefined {
  if (!row) return undefined;
  if (!row.consumed_at) return row.payload;
  return { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) };
}

/**
 * One model's rows. Expired rows are never returned (the prune job deletes them later).
 * `reused`: the provider's error for a code or refresh token used a second time.
 */
export function payloadAdapter(
  db: Db,
  model: string,
  options: { reused: () => Error },
): OidcAdapter {
  const live = async (where: Record<string, string>): Promise<PayloadRow | undefined> =>
    db('oidc_payloads')
      .where({ model, ...where })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
      .first('payload', 'consumed_at');
  return {
    async upsert(id, payload, expiresIn) {
      const row = {
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        account_id: payload.accountId ?? null,
        client_id: payload.clientId ?? null,
        expires_at: expiresIn ? db.raw(`now() + make_interval(secs => ?)`, [expiresIn]) : null,
      };
      await db('oidc_payloads').insert(row).onConflict(['model', 'id']).merge();
    },
    async find(id) {
      return withConsumed(await live({ id }));
    },
    async findByUid(uid) {
      return withConsumed(await live({ uid }));
    },
    async findByUserCode(userCode) {
      return withConsumed(await live({ user_code: userCode }));
    },
    async consume(id) {
      // One conditional UPDATE: of two requests racing with the same code or refresh token,
      // exactly one consumes it; the other is treated as a reuse and revokes the grant.
      const consumed = await db('oidc_payloads')
        .where({ model, id })
        .whereNull('consumed_at')
        .update({ consumed_at: db.fn.now() })
        .returning('grant_id');
      if (consumed.length === 0) {
        const row = await db('oidc_payloads').where({ model, id }).first('grant_id');
        if (row?.grant_id) await db('oidc_payloads').where({ grant_id: row.grant_id }).delete();
        throw options.reused();
      }
    },
    async destroy(id) {
      await db('oidc_payloads').where({ model, id }).delete();
    },
    async revokeByGrantId(grantId) {
      await db('oidc_payloads').where({ model, grant_id: grantId }).delete();
    },
  };
}
