import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.bigIncrements('id');
    t.text('email').notNullable();
    t.text('password_hash').notNullable();
    t.text('role').notNullable().defaultTo('user');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.boolean('must_change_password').notNullable().defaultTo(false);
    // Two-factor state: the secret is AES-256-GCM ciphertext (see src/auth/encryption.ts).
    t.text('totp_secret_encrypted');
    t.timestamp('totp_enabled_at', { useTz: true });
    // The last accepted TOTP time step; a code is accepted only for a later step (replay).
    t.bigInteger('totp_last_used_step');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_sign_in_at', { useTz: true });
    t.check(`role IN ('admin', 'user')`, [], 'users_role_check');
    t.check(`length(email) BETWEEN 3 AND 254`, [], 'users_email_length_check');
    t.check(
      `(totp_secret_encrypted IS NULL) = (totp_enabled_at IS NULL)`,
      [],
      'users_totp_consistent_check',
    );
  });
  // Emails are unique whatever their case; the same expression serves look-ups at sign-in.
  await db.raw('CREATE UNIQUE INDEX users_email_lower_unique ON users (lower(email))');

  await db.schema.createTable('recovery_codes', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    // A short, non-secret part of the code that picks the one row to compare with bcrypt.
    t.text('lookup').notNullable();
    t.text('code_hash').notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.unique(['user_id', 'lookup']);
  });

  await db.schema.createTable('auth_attempts', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    t.bigInteger('user_id').references('users.id').onDelete('CASCADE');
    t.text('ip').notNullable();
    t.boolean('succeeded').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.check(`kind IN ('password', 'second_factor')`, [], 'auth_attempts_kind_check');
    t.index(['user_id', 'kind', 'created_at']);
    t.index(['ip', 'kind', 'created_at']);
  });

  await db.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.text('event').notNullable();
    t.bigInteger('user_id').references('users.id').onDelete('SET NULL');
    t.bigInteger('actor_id').references('users.id').onDelete('SET NULL');
    t.text('ip');
    t.text('user_agent');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['user_id', 'created_at']);
    t.index(['created_at']);
  });

  // First-admin setup links: only a hash is kept; valid while no user exists.
  await db.schema.createTable('setup_tokens', (t) => {
    t.text('token_hash').primary();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  // The connect-pg-simple session table, created here rather than at runtime, plus user_id so
  // a user's sessions can be listed and ended without scanning JSON. A trigger fills user_id
  // from the session data on every save, whatever code path saved it.
  await db.raw(`
    CREATE TABLE sessions (
      sid varchar NOT NULL PRIMARY KEY,
      sess json NOT NULL,
      expire timestamp(6) NOT NULL,
      user_id bigint REFERENCES users (id) ON DELETE CASCADE
    );
    CREATE INDEX sessions_expire_index ON sessions (expire);
    CREATE INDEX sessions_user_id_index ON sessions (user_id) WHERE user_id IS NOT NULL;

    CREATE FUNCTION sessions_set_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.user_id := NULLIF(NEW.sess ->> 'userId', '')::bigint;
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER sessions_set_user_id BEFORE INSERT OR UPDATE OF sess ON sessions
      FOR EACH ROW EXECUTE FUNCTION sessions_set_user_id();
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP TABLE IF EXISTS sessions');
  await db.raw('DROP FUNCTION IF EXISTS sessions_set_user_id()');
  await db.schema.dropTableIfExists('setup_tokens');
  await db.schema.dropTableIfExists('audit_events');
  await db.schema.dropTableIfExists('auth_attempts');
  await db.schema.dropTableIfExists('recovery_codes');
  await db.schema.dropTableIfExists('users');
}
