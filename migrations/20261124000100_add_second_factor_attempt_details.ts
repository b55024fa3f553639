import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('auth_attempts', (t) => {
    // A random id of the pending sign-in (kept in the session) the attempt belonged to, so the
    // per-sign-in limit holds across concurrent requests.
    t.text('pending_ref');
    // Why an attempt failed (wrong_code, replayed, locked, …): for the audit trail and tests.
    t.text('reason');
  });
  await db.raw(
    'CREATE INDEX auth_attempts_pending_ref_index ON auth_attempts (pending_ref) WHERE pending_ref IS NOT NULL',
  );
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS auth_attempts_pending_ref_index');
  await db.schema.alterTable('auth_attempts', (t) => {
    t.dropColumn('pending_ref');
    t.dropColumn('reason');
  });
}
