import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { revokeClientGrants } from './oidc-grants.ts';
import type { RequestOrigin } from './origin.ts';

export type AppPolicy = 'signed-in' | 'two-factor' | 'nobody';
export const APP_POLICIES: readonly AppPolicy[] = ['signed-in', 'two-factor', 'nobody'];

/** An app's OpenID Connect client (see oidc-clients.ts); its secret is never read back here. */
export interface OidcClientSettings {
  clientId: string;
  /** Exact match only. */
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** A public client (no secret; PKCE with S256 required) or a confidential one. */
  isPublic: boolean;
  /** The operator's own app: no consent page. */
  firstParty: boolean;
}

/**
 * An app: its access policy, and one or both ways in. Behind the gate, requests to `host` under
 * `pathPrefix` are asked about here ('' host: no forward-auth); `oidc`: it signs people in with
 * OpenID Connect.
 */
export interface ProtectedApp {
  id: string;
  name: string;
  host: string;
  /** '' for the whole host, else '/path' without a trailing slash. */
  pathPrefix: string;
  policy: AppPolicy;
  /** Empty: anyone the policy lets in. */
  allowedGroups: string[];
  oidc: OidcClientSettings | null;
}

export interface AppRow {
  id: string | number;
  name: string;
  host: string;
  path_prefix: string;
  policy: AppPolicy;
  allowed_groups: string[];
  oidc_client_id: string | null;
  oidc_redirect_uris: string[];
  oidc_post_logout_redirect_uris: string[];
  oidc_public: boolean;
  oidc_first_party: boolean;
}

export function toApp(row: AppRow): ProtectedApp {
  return {
    id: String(row.id),
    name: row.name,
    host: row.host,
    pathPrefix: row.path_prefix,
    policy: row.policy,
    allowedGroups: [...row.allowed_groups],
    oidc: row.oidc_client_id
      ? {
          clientId: row.oidc_client_id,
          redirectUris: [...row.oidc_redirect_uris],
          postLogoutRedirectUris: [...row.oidc_post_logout_redirect_uris],
          isPublic: row.oidc_public,
          firstParty: row.oidc_first_party,
        }
      : null,
  };
}

export type AppInput = Omit<ProtectedApp, 'id' | 'oidc'>;

/** Whether `pathname` lies under `prefix` ("/wiki" covers "/wiki" and "/wiki/x", not "/wikis"). */
export function coversPath(prefix: string, pathname: string): boolean {
  return prefix === '' || pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/** The rule for a URL among one host's apps: the longest matching prefix (most specific) wins. */
export function mostSpecificApp(
  apps: readonly ProtectedApp[],
  hostname: string,
  pathname: string,
): ProtectedApp | null {
  return (
    apps
      .filter((app) => app.host === hostname && coversPath(app.pathPrefix, pathname))
      .sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)[0] ?? null
  );
}

export async function listApps(db: Db): Promise<ProtectedApp[]> {
  const rows = await db<AppRow>('protected_apps').orderBy([
    { column: 'host' },
    'path_prefix',
    'name',
  ]);
  return rows.map(toApp);
}

export async function findAppById(db: Db, id: string): Promise<ProtectedApp | null> {
  if (!/^[1-9]\d{0,17}$/.test(id)) return null;
  const row = await db<AppRow>('protected_apps').where({ id }).first();
  return row ? toApp(row) : null;
}

export async function findAppByName(db: Db, name: string): Promise<ProtectedApp | null> {
  const row = await db<AppRow>('protected_apps').whereRaw('lower(name) = lower(?)', [name]).first();
  return row ? toApp(row) : null;
}

export async function listAppsOnHost(db: Db, hostname: string): Promise<ProtectedApp[]> {
  if (hostname === '') return [];
  const rows = await db<AppRow>('protected_apps').where({ host: hostname });
  return rows.map(toApp);
}

export async function isProtectedHost(db: Db, hostname: string): Promise<boolean> {
  if (hostname === '') return false;
  const row = await db('protected_apps').where({ host: hostname }).first('id');
  return row !== undefined;
}

/** The apps a person may open (for their start page): not "nobody", and their group if limited. */
export async function appsOpenTo(db: Db, groups: readonly string[]): Promise<ProtectedApp[]> {
  const apps = await listApps(db);
  return apps.filter(
    (app) =>
      app.host !== '' &&
      app.policy !== 'nobody' &&
      (app.allowedGroups.length === 0 || app.allowedGroups.some((g) => groups.includes(g))),
  );
}

export type AppChangeResult =
  | { ok: true; app: ProtectedApp }
  | { ok: false; reason: 'name_taken' | 'place_taken' | 'not_found' };

function conflictReason(error: unknown): 'name_taken' | 'place_taken' | null {
  const constraint = (error as { constraint?: string }).constraint;
  if (constraint === 'protected_apps_name_unique') return 'name_taken';
  if (constraint === 'protected_apps_host_path_unique') return 'place_taken';
  return null;
}

function appRow(input: AppInput) {
  return {
    name: input.name,
    host: input.host,
    path_prefix: input.pathPrefix,
    policy: input.policy,
    allowed_groups: input.allowedGroups,
  };
}

export interface Actor {
  actorId: string | null;
  origin: RequestOrigin | null;
  now: Date;
}

export function audit(
  db: Db,
  event: 'app_created' | 'app_changed' | 'app_removed',
  app: ProtectedApp,
  actor: Actor,
) {
  return recordAuditEvent(db, {
    event,
    actorId: actor.actorId,
    ...(actor.origin ?? {}),
    details: {
      app: app.name,
      host: app.host,
      pathPrefix: app.pathPrefix,
      policy: app.policy,
      groups: app.allowedGroups,
    },
    at: actor.now,
  });
}

export async function createProtectedApp(
  db: Db,
  input: AppInput,
  actor: Actor,
): Promise<AppChangeResult> {
  try {
    return await db.transaction(async (trx) => {
      const [row] = await trx<AppRow>('protected_apps').insert(appRow(input)).returning('*');
      const app = toApp(row as AppRow);
      await audit(trx, 'app_created', app, actor);
      return { ok: true, app } as const;
    });
  } catch (error) {
    const reason = conflictReason(error);
    if (reason) return { ok: false, reason };
    throw error;
  }
}

export async function updateProtectedApp(
  db: Db,
  id: string,
  input: AppInput,
  actor: Actor,
): Promise<AppChangeResult> {
  try {
    return await db.transaction(async (trx) => {
      const [row] = await trx('protected_apps')
        .where({ id })
        .update({ ...appRow(input), updated_at: actor.now })
        .returning('*');
      if (!row) return { ok: false, reason: 'not_found' } as const;
      const app = toApp(row as AppRow);
      // Who may sign in may have changed: everything issued to the app ends (people sign in again).
      if (app.oidc) await revokeClientGrants(trx, app.oidc.clientId, 'app_changed');
      await audit(trx, 'app_changed', app, actor);
      return { ok: true, app } as const;
    });
  } catch (error) {
    const reason = conflictReason(error);
    if (reason) return { ok: false, reason };
    throw error;
  }
}

export async function removeProtectedApp(db: Db, id: string, actor: Actor): Promise<boolean> {
  return db.transaction(async (trx) => {
    const [row] = await trx<AppRow>('protected_apps').where({ id }).delete().returning('*');
    if (!row) return false;
    const app = toApp(row as AppRow);
    if (app.oidc) await revokeClientGrants(trx, app.oidc.clientId, 'app_removed');
    await audit(trx, 'app_removed', app, actor);
    return true;
  });
}
