import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import type { RequestOrigin } from './origin.ts';

export type AppPolicy = 'signed-in' | 'two-factor' | 'nobody';
export const APP_POLICIES: readonly AppPolicy[] = ['signed-in', 'two-factor', 'nobody'];

/** An app behind the gate: requests to `host` under `pathPrefix` are asked about here. */
export interface ProtectedApp {
  id: string;
  name: string;
  host: string;
  /** '' for the whole host, else '/path' without a trailing slash. */
  pathPrefix: string;
  policy: AppPolicy;
  /** Empty: anyone the policy lets in. */
  allowedGroups: string[];
}

export interface AppRow {
  id: string | number;
  name: string;
  host: string;
  path_prefix: string;
  policy: AppPolicy;
  allowed_groups: string[];
}

export function toApp(row: AppRow): ProtectedApp {
  return {
    id: String(row.id),
    name: row.name,
    host: row.host,
    pathPrefix: row.path_prefix,
    policy: row.policy,
    allowedGroups: [...row.allowed_groups],
  };
}

export type AppInput = Omit<ProtectedApp, 'id'>;

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
  const rows = await db<AppRow>('protected_apps').orderBy([{ column: 'host' }, 'path_prefix']);
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
  const rows = await db<AppRow>('protected_apps').where({ host: hostname });
  return rows.map(toApp);
}

export async function isProtectedHost(db: Db, hostname: string): Promise<boolean> {
  const row = await db('protected_apps').where({ host: hostname }).first('id');
  return row !== undefined;
}

/** The apps a person may open (for their start page): not "nobody", and their group if limited. */
export async function appsOpenTo(db: Db, groups: readonly string[]): Promise<ProtectedApp[]> {
  const apps = await listApps(db);
  return apps.filter(
    (app) =>
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

interface Actor {
  actorId: string | null;
  origin: RequestOrigin | null;
  now: Date;
}

function audit(
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
    await audit(trx, 'app_removed', toApp(row as AppRow), actor);
    return true;
  });
}
