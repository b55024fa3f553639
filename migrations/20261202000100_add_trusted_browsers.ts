import type { Knex } from 'knex';

/**
 * Trusted browsers ("don't ask for a code on this browser"): one row per browser a person chose
 * to trust after a right code. Only the SHA-256 of the cookie's token is kept, so a copy of the
 * table opens nothing; a row dies with its user, its expiry, or any revocation (auth/trusted-browsers.ts).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('trusted_browsers', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('token_hash').notNullable().unique();
    t.text('user_agent');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('trusted_browsers');
}
