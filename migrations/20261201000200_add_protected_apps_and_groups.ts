import type { Knex } from 'knex';

/**
 * Forward-auth: the apps Keygate protects, people's groups, and the gate token's hash on the
 * session row (filled by the same trigger that fills user_id, so every save path keeps it right).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('protected_apps', (t) => {
    t.bigIncrements('id');
    t.text('name').notNullable();
    // Lowercase host name (no port); '' or '/path' without a trailing slash.
    t.text('host').notNullable();
    t.text('path_prefix').notNullable().defaultTo('');
    t.text('policy').notNullable().defaultTo('signed-in');
    // Empty: anyone the policy lets in; otherwise only members of one of these groups.
    t.specificType('allowed_groups', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.check(`policy IN ('signed-in', 'two-factor', 'nobody')`, [], 'protected_apps_policy_check');
    t.unique(['host', 'path_prefix'], { indexName: 'protected_apps_host_path_unique' });
  });
  await db.raw('CREATE UNIQUE INDEX protected_apps_name_unique ON protected_apps (lower(name))');

  await db.schema.createTable('user_groups', (t) => {
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('group_name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['user_id', 'group_name']);
    t.index(['group_name']);
  });

  await db.raw(`
    ALTER TABLE sessions ADD COLUMN gate_hash text;
    CREATE INDEX sessions_gate_hash_index ON sessions (gate_hash) WHERE gate_hash IS NOT NULL;
    CREATE OR REPLACE FUNCTION sessions_set_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.user_id := NULLIF(NEW.sess ->> 'userId', '')::bigint;
      NEW.gate_hash := NULLIF(NEW.sess ->> 'gateHash', '');
      RETURN NEW;
    END
    $$;
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(`
    CREATE OR REPLACE FUNCTION sessions_set_user_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.user_id := NULLIF(NEW.sess ->> 'userId', '')::bigint;
      RETURN NEW;
    END
    $$;
    DROP INDEX IF EXISTS sessions_gate_hash_index;
    ALTER TABLE sessions DROP COLUMN IF EXISTS gate_hash;
  `);
  await db.schema.dropTableIfExists('user_groups');
  await db.schema.dropTableIfExists('protected_apps');
}
