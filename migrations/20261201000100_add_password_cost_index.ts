import type { Knex } from 'knex';

/**
 * The bcrypt cost of every stored hash ("$2b$12$…": characters 5-6), indexed so that the highest
 * one in use is one index probe (#50). While hashes of several costs exist, a failed password
 * check is made to last as long as one at the highest cost (see src/auth/passwords.ts).
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('CREATE INDEX users_password_cost_index ON users (substr(password_hash, 5, 2))');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS users_password_cost_index');
}
