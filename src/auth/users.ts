import type { Db } from '../db/knex.ts';

export type Role = 'admin' | 'user';

export interface User {
  id: string;
  email: string;
  /** The address as compared: look-up, uniqueness and password limits (see canonicalEmail). */
  emailCanonical: string;
  passwordHash: string;
  role: Role;
  isActive: boolean;
  mustChangePassword: boolean;
  totpSecretEncrypted: string | null;
  totpEnabledAt: Date | null;
  totpLastUsedStep: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastSignInAt: Date | null;
  twoFactorGraceStartedAt: Date | null;
  /** Sessions issued under another generation are dead (see sessions.ts). */
  sessionGeneration: number;
}

export interface UserRow {
  id: string;
  email: string;
  email_canonical: string;
  password_hash: string;
  role: Role;
  is_active: boolean;
  must_change_password: boolean;
  totp_secret_encrypted: string | null;
  totp_enabled_at: Date | null;
  totp_last_used_step: string | null;
  created_at: Date;
  updated_at: Date;
  last_sign_in_at: Date | null;
  two_factor_grace_started_at: Date | null;
  session_generation: number;
}

/** Every column of a user row, for the readers that name them (findUserById, the session store). */
export const USER_COLUMNS = [
  'id',
  'email',
  'email_canonical',
  'password_hash',
  'role',
  'is_active',
  'must_change_password',
  'totp_secret_encrypted',
  'totp_enabled_at',
  'totp_last_used_step',
  'created_at',
  'updated_at',
  'last_sign_in_at',
  'two_factor_grace_started_at',
  'session_generation',
] as const satisfies readonly (keyof UserRow)[];

// A column added to UserRow must be added to USER_COLUMNS too: this fails to compile until it is.
const everyColumn: Exclude<keyof UserRow, (typeof USER_COLUMNS)[number]> extends never
  ? true
  : never = true;
void everyColumn;

export function toUser(row: UserRow): User {
  return {
    id: String(row.id),
    email: row.email,
    emailCanonical: row.email_canonical,
    passwordHash: row.password_hash,
    role: row.role,
    isActive: row.is_active,
    mustChangePassword: row.must_change_password,
    totpSecretEncrypted: row.totp_secret_encrypted,
    totpEnabledAt: row.totp_enabled_at,
    totpLastUsedStep: row.totp_last_used_step === null ? null : String(row.totp_last_used_step),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSignInAt: row.last_sign_in_at,
    twoFactorGraceStartedAt: row.two_factor_grace_started_at,
    sessionGeneration: row.session_generation,
  };
}

/**
 * The one form of an email that is compared (#51): NFKC (fullwidth letters, the Kelvin and
 * Ångström signs and other compatibility characters become their usual letters), trimmed, and
 * lowercased with full Unicode case mapping, in JavaScript only, so the database's collation plays
 * no part. Nothing else is folded: dots, plus tags and accents are parts of a different address.
 * (New addresses must also be ASCII once normalised: see newEmailField in validation/forms.ts.)
 */
export function canonicalEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
}

/** Ids are bigints; anything that is not a plain positive integer cannot be one. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9]\d{0,17}$/.test(value);
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  if (!isUserId(id)) return null;
  const row: UserRow | undefined = await db<UserRow>('users')
    .where({ id })
    .first(...USER_COLUMNS);
  return row ? toUser(row) : null;
}

/** Emails are unique regardless of case (the users_email_lower_unique index). */
export async function findUserByEmail(db: Db, email: string): Promise<User | null> {
  const row = await db<UserRow>('users').whereRaw('lower(email) = lower(?)', [email]).first();
  return row ? toUser(row) : null;
}

export async function hasAnyUser(db: Db): Promise<boolean> {
  const row = await db.raw<{ rows: { exists: boolean }[] }>('SELECT EXISTS (SELECT 1 FROM users)');
  return row.rows[0]!.exists;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  role: Role;
  mustChangePassword?: boolean;
}

export type CreateUserResult = { ok: true; user: User } | { ok: false; reason: 'email_taken' };

export async function createUser(db: Db, input: NewUser): Promise<CreateUserResult> {
  try {
    const [row] = await db<UserRow>('users')
      .insert({
        email: input.email,
        email_canonical: canonicalEmail(input.email),
        password_hash: input.passwordHash,
        role: input.role,
        must_change_password: input.mustChangePassword ?? false,
      })
      .returning('*');
    return { ok: true, user: toUser(row as UserRow) };
  } catch (error) {
    const constraint = (error as { constraint?: string }).constraint;
    if (
      constraint === 'users_email_canonical_unique' ||
      constraint === 'users_email_lower_unique'
    ) {
      return { ok: false, reason: 'email_taken' };
    }
    throw error;
  }
}
