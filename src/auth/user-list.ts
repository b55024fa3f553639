import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { USER_LIST_PAGE_SIZE as PAGE_SIZE } from './limits.ts';
import type { Role, User } from './users.ts';

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

/** What a row of the list shows. It never reads a password hash or a TOTP secret. */
export interface UserListRow extends Pick<
  User,
  | 'id'
  | 'email'
  | 'role'
  | 'isActive'
  | 'totpEnabledAt'
  | 'twoFactorGraceStartedAt'
  | 'createdAt'
  | 'lastSignInAt'
> {
  recoveryCodesLeft: number;
}

/**
 * A time as whole milliseconds since the epoch (a float8 is read with parseFloat; a timestamp is
 * parsed from text), its microseconds cut as the timestamp reader cuts them.
 */
const epochMs = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * The list's columns: only what a row shows, the times as epoch milliseconds. `users.*` also
 * decoded every row's password hash and TOTP secret, for nothing, and parsed five timestamps
 * from text (README, Performance, row 7, for what this saved).
 */
const LISTED = [
  'users.id',
  'users.email',
  'users.role',
  'users.is_active',
  `${epochMs('users.totp_enabled_at')} AS totp_enabled_ms`,
  `${epochMs('users.two_factor_grace_started_at')} AS grace_started_ms`,
  `${epochMs('users.created_at')} AS created_ms`,
  `${epochMs('users.last_sign_in_at')} AS last_sign_in_ms`,
  '(SELECT count(*) FROM recovery_codes rc WHERE rc.user_id = users.id AND rc.used_at IS NULL)::int AS recovery_codes_left',
  // The cursor keeps the time at full (microsecond) precision, as text PostgreSQL reads back.
  'last_sign_in_at::text AS last_sign_in_key',
].join(', ');

interface ListedRow {
  id: string | number;
  email: string;
  role: Role;
  is_active: boolean;
  totp_enabled_ms: number | null;
  grace_started_ms: number | null;
  created_ms: number;
  last_sign_in_ms: number | null;
  recovery_codes_left: number;
  last_sign_in_key: string | null;
}

const dateOf = (ms: number | null) => (ms === null ? null : new Date(ms));

function toListRow(row: ListedRow): UserListRow {
  return {
    id: String(row.id),
    email: row.email,
    role: row.role,
    isActive: row.is_active,
    totpEnabledAt: dateOf(row.totp_enabled_ms),
    twoFactorGraceStartedAt: dateOf(row.grace_started_ms),
    createdAt: new Date(row.created_ms),
    lastSignInAt: dateOf(row.last_sign_in_ms),
    recoveryCodesLeft: row.recovery_codes_left,
  };
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
 * The list's email order: lowercase addresses in byte order (COLLATE "C"), the order of the
 * indexes users_email_c_index and users_email_domain_index, in which a btree also serves
 * LIKE 'prefix%' (migration 20261202000300).
 */
const EMAIL_KEY = 'lower(email) COLLATE "C"';

/**
 * What a search matches (README, "Admin pages"): addresses that begin with the text typed
 * ("maria.g", "maria.garcia@exa"), or, when it begins with "@", every address at exactly that
 * domain ("@example.com"). Not any substring: that needs a scan of every row sharing a common
 * name or domain, which grows with the table; a prefix is one index range, whatever the size.
 */
function applySearch(query: Knex.QueryBuilder, search: string): void {
  const text = search.toLowerCase();
  if (!text) return;
  if (text.startsWith('@') && text.length > 1)
    query.whereRaw(`split_part(lower(email), '@', 2) = ?`, [text.slice(1)]);
  else query.whereRaw(`${EMAIL_KEY} LIKE ? ESCAPE '\\'`, [`${escapeLike(text)}%`]);
}

/**
 * One page of the admin user list (null when a cursor in the URL is not one we made), by keyset
 * pagination: the cursor is the sort key of the row at the page edge, so page 1 and page 20,000
 * cost the same, and no COUNT(*) runs. Sorting by email walks users_email_c_index (a search by
 * prefix is a range of it, a domain search a range of users_email_domain_index, both already in
 * order); by last sign-in, (last_sign_in_at DESC NULLS LAST, id DESC).
 */
export async function listUsers(db: Db, query: UserListQuery): Promise<UserListPage | null> {
  const backwards = Boolean(query.before);
  const cursorText = backwards ? query.before : query.after;
  const cursor = decodeCursor(cursorText);
  if (cursorText && !cursor) return null;
  const base = db('users').select(db.raw(LISTED));
  applySearch(base, query.search);
  if (query.twoFactor === 'on') base.whereNotNull('totp_enabled_at');
  if (query.twoFactor === 'off') base.whereNull('totp_enabled_at');
  if (query.role) base.where({ role: query.role });
  if (query.active) base.where({ is_active: query.active === 'yes' });

  if (query.sort === 'email') {
    if (cursor) base.whereRaw(`${EMAIL_KEY} ${backwards ? '<' : '>'} ?`, [cursor[0] ?? '']);
    base.orderByRaw(`${EMAIL_KEY} ${backwards ? 'DESC' : 'ASC'}`);
  } else {
    if (cursor) applyLastSignInCursor(base, cursor, backwards);
    base.orderByRaw(
      backwards
        ? 'last_sign_in_at ASC NULLS FIRST, id ASC'
        : 'last_sign_in_at DESC NULLS LAST, id DESC',
    );
  }
  let found: ListedRow[];
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
  const rows = page.map(toListRow);

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
