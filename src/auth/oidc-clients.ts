/**
 * Apps as OpenID Connect clients. The client id is random and public; a confidential client's
 * secret is random (256 bits), returned once to show to the admin, and stored encrypted with the
 * key ring (oidc-provider compares the presented secret with the plain one, so it cannot be a
 * hash). oidc-provider asks for a client's metadata through clientMetadata on every request, so a
 * change or a removal takes effect at once on every instance.
 */
import crypto from 'node:crypto';
import type { ClientMetadata } from 'oidc-provider';
import type { Db } from '../db/knex.ts';
import { associatedData, decrypt, encrypt, type KeyRing } from './encryption.ts';
import { revokeClientGrants } from './oidc-grants.ts';
import {
  audit,
  toApp,
  type Actor,
  type AppChangeResult,
  type AppInput,
  type AppRow,
  type ProtectedApp,
} from './protected-apps.ts';

export interface OidcClientInput {
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  isPublic: boolean;
  firstParty: boolean;
}

export type OidcAppResult =
  | { ok: true; app: ProtectedApp; clientSecret: string | null }
  | Exclude<AppChangeResult, { ok: true }>;

function newSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

function clientColumns(input: OidcClientInput) {
  return {
    oidc_redirect_uris: input.redirectUris,
    oidc_post_logout_redirect_uris: input.postLogoutRedirectUris,
    oidc_public: input.isPublic,
    oidc_first_party: input.firstParty,
  };
}

function conflict(error: unknown): 'name_taken' | 'place_taken' | null {
  const constraint = (error as { constraint?: string }).constraint;
  if (constraint === 'protected_apps_name_unique') return 'name_taken';
  if (constraint === 'protected_apps_host_path_unique') return 'place_taken';
  return null;
}

/**
 * A new app that is an OIDC client (and, with a host, also behind the gate). The secret comes
 * back once, for the admin (or the command line) to hand to the app.
 */
export async function createOidcApp(
  db: Db,
  keys: KeyRing,
  input: AppInput & { oidc: OidcClientInput },
  actor: Actor,
): Promise<OidcAppResult> {
  const clientId = crypto.randomBytes(16).toString('base64url');
  const clientSecret = input.oidc.isPublic ? null : newSecret();
  try {
    return await db.transaction(async (trx) => {
      const [row] = await trx('protected_apps')
        .insert({
          name: input.name,
          host: input.host,
          path_prefix: input.pathPrefix,
          policy: input.policy,
          allowed_groups: input.allowedGroups,
          oidc_client_id: clientId,
          oidc_client_secret_encrypted: clientSecret
            ? encrypt(clientSecret, keys, associatedData.oidcClientSecret(clientId))
            : null,
          ...clientColumns(input.oidc),
        })
        .returning('*');
      const app = toApp(row as AppRow);
      await audit(trx, 'app_created', app, actor);
      return { ok: true, app, clientSecret } as const;
    });
  } catch (error) {
    const reason = conflict(error);
    if (reason) return { ok: false, reason };
    throw error;
  }
}

/**
 * Changes an app: its policy and gate settings, and its client (made one if it was not; no
 * longer one with `oidc: null`). A confidential client without a secret gets one, returned once;
 * a public one loses its secret. Everything issued to the client ends: who may sign in, or how,
 * may have changed.
 */
export async function updateApp(
  db: Db,
  keys: KeyRing,
  appId: string,
  input: AppInput & { oidc: OidcClientInput | null },
  actor: Actor,
): Promise<OidcAppResult> {
  try {
    return await db.transaction(async (trx) => {
      const existing = await trx<AppRow & { oidc_client_secret_encrypted: string | null }>(
        'protected_apps',
      )
        .where({ id: appId })
        .forUpdate()
        .first();
      if (!existing) return { ok: false, reason: 'not_found' } as const;
      if (existing.oidc_client_id) await revokeClientGrants(trx, existing.oidc_client_id);
      const oidc = input.oidc;
      const clientId = oidc
        ? (existing.oidc_client_id ?? crypto.randomBytes(16).toString('base64url'))
        : null;
      const clientSecret =
        oidc && !oidc.isPublic && !existing.oidc_client_secret_encrypted ? newSecret() : null;
      const secretColumn =
        !oidc || oidc.isPublic
          ? { oidc_client_secret_encrypted: null }
          : clientSecret
            ? {
                oidc_client_secret_encrypted: encrypt(
                  clientSecret,
                  keys,
                  associatedData.oidcClientSecret(clientId!),
                ),
              }
            : {};
      const [row] = await trx('protected_apps')
        .where({ id: appId })
        .update({
          name: input.name,
          host: input.host,
          path_prefix: input.pathPrefix,
          policy: input.policy,
          allowed_groups: input.allowedGroups,
          oidc_client_id: clientId,
          ...secretColumn,
          ...clientColumns(
            oidc ?? {
              redirectUris: [],
              postLogoutRedirectUris: [],
              isPublic: false,
              firstParty: false,
            },
          ),
          updated_at: actor.now,
        })
        .returning('*');
      const app = toApp(row as AppRow);
      await audit(trx, 'app_changed', app, actor);
      return { ok: true, app, clientSecret } as const;
    });
  } catch (error) {
    const reason = conflict(error);
    if (reason) return { ok: false, reason };
    throw error;
  }
}

/**
 * A new secret for a confidential client, returned once; the old one stops working at once,
 * and so does everything issued to the client.
 */
export async function newClientSecret(
  db: Db,
  keys: KeyRing,
  appId: string,
  actor: Actor,
): Promise<string | null> {
  return db.transaction(async (trx) => {
    const row = await trx<AppRow>('protected_apps').where({ id: appId }).forUpdate().first();
    if (!row?.oidc_client_id || row.oidc_public) return null;
    const secret = newSecret();
    await trx('protected_apps')
      .where({ id: appId })
      .update({
        oidc_client_secret_encrypted: encrypt(
          secret,
          keys,
          associatedData.oidcClientSecret(row.oidc_client_id),
        ),
        updated_at: actor.now,
      });
    await revokeClientGrants(trx, row.oidc_client_id);
    await audit(trx, 'app_changed', toApp(row), actor);
    return secret;
  });
}

/** The app behind a client id, with its secret (decrypted), or null. */
export async function findOidcClient(
  db: Db,
  keys: KeyRing,
  clientId: string,
): Promise<{ app: ProtectedApp; secret: string | null } | null> {
  if (clientId.length > 100) return null;
  const row = await db<AppRow & { oidc_client_secret_encrypted: string | null }>('protected_apps')
    .where({ oidc_client_id: clientId })
    .first();
  if (!row) return null;
  const app = toApp(row);
  if (!app.oidc) return null;
  if (app.oidc.isPublic || !row.oidc_client_secret_encrypted) return { app, secret: null };
  const secret = decrypt(
    row.oidc_client_secret_encrypted,
    keys,
    associatedData.oidcClientSecret(clientId),
  );
  // A secret no configured key opens: the client cannot authenticate (never a secret-less client).
  return secret === null ? null : { app, secret };
}

/** oidc-provider's client metadata for an app: the code flow only, refresh tokens allowed. */
export function clientMetadata(app: ProtectedApp, secret: string | null): ClientMetadata | null {
  if (!app.oidc) return null;
  return {
    client_id: app.oidc.clientId,
    client_name: app.name,
    ...(app.oidc.isPublic
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: secret ?? undefined, token_endpoint_auth_method: 'client_secret_basic' }),
    redirect_uris: app.oidc.redirectUris,
    post_logout_redirect_uris: app.oidc.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // auth_time in every ID token, so an app can tell how fresh the sign-in is.
    require_auth_time: true,
  };
}
