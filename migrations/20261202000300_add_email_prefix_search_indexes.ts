import type { Knex } from 'knex';

/**
 * The admin list's search matches the start of an address ("maria.g" finds maria.garcia@…), or
 * with a leading "@" a whole domain ("@example.com"), instead of any substring: a trigram index
 * answers a substring search by reading every row that shares a common trigram (a popular name or
 * domain), which at a million users cost 10-20 ms a search and grew with the table.
 *
 * Both new indexes sort addresses in byte order (COLLATE "C"), in which a btree serves a LIKE
 * 'prefix%' as a range, and the list's order and keyset cursors use the same order, so one index
 * range gives a search's page in order: its cost no longer depends on how many rows match.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('CREATE INDEX users_email_c_index ON users ((lower(email) COLLATE "C"))');
  await db.raw(
    `CREATE INDEX users_email_domain_index
       ON users (split_part(lower(email), '@', 2), (lower(email) COLLATE "C"))`,
  );
  // The list's other order (last sign-in, newest first), for a domain search: a domain may hold
  // most of the table, which must not be sorted on every page.
  await db.raw(
    `CREATE INDEX users_email_domain_last_sign_in_index
       ON users (split_part(lower(email), '@', 2), last_sign_in_at DESC NULLS LAST, id DESC)`,
  );
  await db.raw('DROP INDEX IF EXISTS users_email_trgm_index');
}

export async function down(db: Knex): Promise<void> {
  await db.raw(
    'CREATE INDEX IF NOT EXISTS users_email_trgm_index ON users USING gin (lower(email) gin_trgm_ops)',
  );
  await db.raw('DROP INDEX IF EXISTS users_email_domain_last_sign_in_index');
  await db.raw('DROP INDEX IF EXISTS users_email_domain_index');
  await db.raw('DROP INDEX IF EXISTS users_email_c_index');
}
