import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('auth_attempts', (t) => {
    // lower(email) as typed, for every password attempt, known account or not: throttling by it
    // treats unknown emails exactly like real ones, so limits reveal nothing about who exists.
    t.text('account_key');
  });
  await db.raw(
    `CREATE INDEX auth_attempts_account_index ON auth_attempts (account_key, created_at) WHERE kind = 'password'`,
  );
  await db.raw(
    `CREATE INDEX auth_attempts_account_ip_index ON auth_attempts (account_key, ip, created_at) WHERE kind = 'password'`,
  );
  await db.schema.alterTable('users', (t) => {
    // Bumped whenever all of a user's sessions must end. A session remembers the generation it
    // was issued under; any other is dead, even if a concurrent request wrote its row back.
    t.integer('session_generation').notNullable().defaultTo(0);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => t.dropColumn('session_generation'));
  await db.raw('DROP INDEX IF EXISTS auth_attempts_account_ip_index');
  await db.raw('DROP INDEX IF EXISTS auth_attempts_account_index');
  await db.schema.alterTable('auth_attempts', (t) => t.dropColumn('account_key'));
}
