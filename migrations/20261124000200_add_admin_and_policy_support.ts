import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => {
    // When the 2FA policy first covered this user without 2FA: the grace period counts from here.
    t.timestamp('two_factor_grace_started_at', { useTz: true });
  });
  // Substring search over a million emails needs a trigram index (pg_trgm is a trusted extension
  // since PostgreSQL 13: a database owner may create it).
  await db.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await db.raw(
    'CREATE INDEX users_email_trgm_index ON users USING gin (lower(email) gin_trgm_ops)',
  );
  // Keyset pagination by email uses the unique index on lower(email); by last sign-in (newest first, never-signed-in last), with id to break ties.
  await db.raw(
    'CREATE INDEX users_last_sign_in_index ON users (last_sign_in_at DESC NULLS LAST, id DESC)',
  );
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS users_last_sign_in_index');
  await db.raw('DROP INDEX IF EXISTS users_email_trgm_index');
  await db.schema.alterTable('users', (t) => {
    t.dropColumn('two_factor_grace_started_at');
  });
}
