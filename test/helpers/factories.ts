import crypto from 'node:crypto';
import { hashPassword } from '../../src/auth/passwords.ts';
import { createUser, type Role, type User } from '../../src/auth/users.ts';
import type { Db } from '../../src/db/knex.ts';
import { rememberSecret } from './secrets.ts';

export const DEFAULT_PASSWORD = 'correct horse battery staple';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}@example.com`;
}

/** A user straight in the database, through the app's own functions. */
export async function makeUser(
  db: Db,
  options: { email?: string; password?: string; role?: Role; active?: boolean } = {},
): Promise<User & { password: string }> {
  const password = options.password ?? DEFAULT_PASSWORD;
  rememberSecret('password', password);
  const result = await createUser(db, {
    email: options.email ?? uniqueEmail(),
    passwordHash: await hashPassword(password, 10),
    role: options.role ?? 'user',
  });
  if (!result.ok) throw new Error(`could not create user: ${result.reason}`);
  if (options.active === false)
    await db('users').where({ id: result.user.id }).update({ is_active: false });
  return { ...result.user, isActive: options.active ?? true, password };
}
