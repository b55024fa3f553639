import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { endUserSessions } from './sessions.ts';
import type { RequestOrigin } from './sign-in.ts';
import { accountKeyOf, unlockPasswordSignIn } from './throttle.ts';
import { disableTwoFactor } from './two-factor.ts';
import { createUser, toUser, type Role, type User, type UserRow } from './users.ts';

export const PAGE_SIZE = 50;

export interface UserListQuery {
  search: string;
  twoFactor: '' | 'on' | 'off';
  role: '' | Role;
  active: '' | 'yes' | 'no';
  sort: 'email' | 'last_sign_in';
  /** Opaque keyset cursors from the previous page's links. */
  after: string;
  before: string;
}

export interface UserListRow extends User {
  recoveryCodesLeft: number;
}

export interface UserListPage {
  rows: UserListRow[];
  next: string | null;
  previous: string | null;
}

type Cursor = [string | null, string];

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** A cursor from a URL, or null when it is not one we made. */
export function decodeCursor(text: string): Cursor | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      (value[0] === null || typeof value[0] === 'string') &&
      typeof value[1] === 'string' &&
      /^\d{1,18}$/.test(value[1]) &&
      (value[0] === null || value[0].length <= 300)
    ) {
      return value as Cursor;
    }
  } catch {
    // not base64 JSON
  }
  return null;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * One page of the admin user list (null when a cursor in the URL is not one we made), by keyset pagination: the cursor is the sort key of the row at
 * the page edge, so page 1 and page 20,000 cost the same, and no COUNT(*) runs. Sorting by email
 * walks the unique index on lower(email); by last sign-in, (last_sign_in_at DESC NULLS LAST, id
 * DESC). A substring search uses the trigram index on lower(email).
 */
export async function listUsers(db: Db, query: UserListQuery): Promise<UserListPage | null> {
  const backwards = Boolean(query.before);
  const cursorText = backwards ? query.before : query.after;
  const cursor = decodeCursor(cursorText);
  if (cursorText && !cursor) return null;
  const base = db('users')
    .select('users.*')
    .select(
      db.raw(
        '(SELECT count(*) FROM recovery_codes rc WHERE rc.user_id = users.id AND rc.used_at IS NULL)::int AS recovery_codes_left',
      ),
    )
    // The cursor keeps the time at full (microsecond) precision, as text PostgreSQL reads back.
    .select(db.raw('last_sign_in_at::text AS last_sign_in_key'));
  if (query.search)
    base.whereRaw(`lower(email) LIKE ? ESCAPE '\\'`, [
      `%${escapeLike(query.search.toLowerCase())}%`,
    ]);
  if (query.twoFactor === 'on') base.whereNotNull('totp_enabled_at');
  if (query.twoFactor === 'off') base.whereNull('totp_enabled_at');
  if (query.role) base.where({ role: query.role });
  if (query.active) base.where({ is_active: query.active === 'yes' });

  if (query.sort === 'email') {
    if (cursor) base.whereRaw(`lower(email) ${backwards ? '<' : '>'} ?`, [cursor[0] ?? '']);
    base.orderByRaw(`lower(email) ${backwards ? 'DESC' : 'ASC'}`);
  } else {
    if (cursor) applyLastSignInCursor(base, cursor, backwards);
    base.orderByRaw(
      backwards
        ? 'last_sign_in_at ASC NULLS FIRST, id ASC'
        : 'last_sign_in_at DESC NULLS LAST, id DESC',
    );
  }
  let found: (UserRow & { recovery_codes_left: number; last_sign_in_key: string | null })[];
  try {
    found = await base.limit(PAGE_SIZE + 1);
  } catch (error) {
    // A hand-made cursor whose time PostgreSQL cannot read (class 22: data exception).
    if (cursor && String((error as { code?: string }).code).startsWith('22')) return null;
    throw error;
  }
  const more = found.length > PAGE_SIZE;
  const page = found.slice(0, PAGE_SIZE);
  if (backwards) page.reverse();
  const rows = page.map((row) => ({ ...toUser(row), recoveryCodesLeft: row.recovery_codes_left }));

  const keyOf = (row: (typeof page)[number]): Cursor =>
    query.sort === 'email'
      ? [row.email.toLowerCase(), String(row.id)]
      : [row.last_sign_in_key, String(row.id)];
  const first = page[0];
  const last = page[page.length - 1];
  const hasNext = backwards ? Boolean(cursor) : more;
  const hasPrevious = backwards ? more : Boolean(cursor);
  return {
    rows,
    next: hasNext && last ? encodeCursor(keyOf(last)) : null,
    previous: hasPrevious && first ? encodeCursor(keyOf(first)) : null,
  };
}

/** Rows after (or, backwards, before) the cursor in "last sign-in, newest first, nulls last" order. */
function applyLastSignInCursor(query: Knex.QueryBuilder, [at, id]: Cursor, backwards: boolean) {
  if (!backwards) {
    if (at === null) query.whereNull('last_sign_in_at').where('id', '<', id);
    else
      query.where((q) =>
        q
          .whereRaw('last_sign_in_at < ?::timestamptz', [at])
          .orWhere((q2) =>
            q2.whereRaw('last_sign_in_at = ?::timestamptz', [at]).where('id', '<', id),
          )
          .orWhereNull('last_sign_in_at'),
      );
  } else if (at === null) {
    query.where((q) =>
      q
        .whereNotNull('last_sign_in_at')
        .orWhere((q2) => q2.whereNull('last_sign_in_at').where('id', '>', id)),
    );
  } else {
    query.where((q) =>
      q
        .whereRaw('last_sign_in_at > ?::timestamptz', [at])
        .orWhere((q2) =>
          q2.whereRaw('last_sign_in_at = ?::timestamptz', [at]).where('id', '>', id),
        ),
    );
  }
}

interface AdminAction {
  targetId: string;
  actorId: string;
  now: Date;
  origin: RequestOrigin;
}

export type GuardedResult = { ok: true } | { ok: false; reason: 'last_admin' | 'not_found' };

/**
 * Runs a change that may take away an active admin, under one lock for all such changes, and
 * refuses it if the target is the last active admin: Keygate must always keep one.
 */
async function guardLastAdmin(
  db: Db,
  targetId: string,
  removesAdmin: (target: User) => boolean,
  change: (trx: Knex.Transaction, target: User) => Promise<void>,
): Promise<GuardedResult> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(20261125, 0)');
    const row = await trx<UserRow>('users').where({ id: targetId }).first();
    if (!row) return { ok: false, reason: 'not_found' } as const;
    const target = toUser(row);
    if (target.role === 'admin' && target.isActive && removesAdmin(target)) {
      const admins = await trx('users')
        .where({ role: 'admin', is_active: true })
        .count<{ n: string }>('* as n')
        .first();
      if (Number(admins?.n) <= 1) return { ok: false, reason: 'last_admin' } as const;
    }
    await change(trx, target);
    return { ok: true } as const;
  });
}

/** Deactivating also ends every session of the user (ASVS 7.4.2). */
export function setUserActive(
  db: Db,
  action: AdminAction & { active: boolean },
): Promise<GuardedResult> {
  return guardLastAdmin(
    db,
    action.targetId,
    () => !action.active,
    async (trx) => {
      await trx('users')
        .where({ id: action.targetId })
        .update({ is_active: action.active, updated_at: action.now });
      if (!action.active) await endUserSessions(trx, action.targetId);
      await recordAuditEvent(trx, {
        event: action.active ? 'user_reactivated' : 'user_deactivated',
        userId: action.targetId,
        actorId: action.actorId,
        ...action.origin,
        at: action.now,
      });
    },
  );
}

export function setUserRole(db: Db, action: AdminAction & { role: Role }): Promise<GuardedResult> {
  return guardLastAdmin(
    db,
    action.targetId,
    () => action.role !== 'admin',
    async (trx, target) => {
      if (target.role === action.role) return;
      await trx('users')
        .where({ id: action.targetId })
        .update({ role: action.role, updated_at: action.now });
      await recordAuditEvent(trx, {
        event: 'role_changed',
        userId: action.targetId,
        actorId: action.actorId,
        ...action.origin,
        details: { from: target.role, to: action.role },
        at: action.now,
      });
    },
  );
}

export async function endAllSessionsOf(db: Db, action: AdminAction): Promise<number> {
  return db.transaction(async (trx) => {
    const { ended } = await endUserSessions(trx, action.targetId);
    await recordAuditEvent(trx, {
      event: 'sessions_ended',
      userId: action.targetId,
      actorId: action.actorId,
      ...action.origin,
      details: { count: ended },
      at: action.now,
    });
    return ended;
  });
}

/** Lifts a password lock on the account (see throttle.ts); audited with the admin. */
export async function unlockSignIn(db: Db, action: AdminAction & { email: string }): Promise<void> {
  await unlockPasswordSignIn(db, {
    accountKey: accountKeyOf(action.email),
    userId: action.targetId,
    ip: action.origin.ip,
    now: action.now,
  });
  await recordAuditEvent(db, {
    event: 'sign_in_unlocked',
    userId: action.targetId,
    actorId: action.actorId,
    ...action.origin,
    at: action.now,
  });
}

/** Deletes the user's secret and recovery codes and ends all their sessions; audited with the admin. */
export async function resetTwoFactorOf(
  db: Db,
  action: AdminAction & { reason: string },
): Promise<void> {
  await disableTwoFactor(db, {
    userId: action.targetId,
    actorId: action.actorId,
    now: action.now,
    origin: action.origin,
    ...(action.reason ? { reason: action.reason } : {}),
  });
}

export type AdminCreateResult =
  { ok: true; user: User; generatedPassword: string | null } | { ok: false; reason: 'email_taken' };

/** A user made by an admin must choose their own password at first sign-in. */
export async function createUserAsAdmin(
  db: Db,
  input: {
    email: string;
    role: Role;
    password: string | null;
    bcryptCost: number;
    actorId: string;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<AdminCreateResult> {
  const generatedPassword = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? generatedPassword!, input.bcryptCost);
  const result = await createUser(db, {
    email: input.email,
    passwordHash,
    role: input.role,
    mustChangePassword: true,
  });
  if (!result.ok) return result;
  await recordAuditEvent(db, {
    event: 'user_created',
    userId: result.user.id,
    actorId: input.actorId,
    ...input.origin,
    details: { role: input.role, via: 'admin', generatedPassword: generatedPassword !== null },
    at: input.now,
  });
  return { ok: true, user: result.user, generatedPassword };
}
