import type { Knex } from 'knex';

/**
 * The OpenID provider: what oidc-provider stores (one table for all its models, as its adapter
 * interface asks: by model and id, plus the look-ups by grant, uid and user code), its signing
 * keys (encrypted), and apps that may be an OIDC client as well as (or instead of) a
 * forward-auth host. An app without a forward-auth host has host ''.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('user_code');
    // Copied out of the payload so that a person's (or an app's) grants can be revoked at once.
    t.text('account_id');
    t.text('client_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
    t.index(['grant_id']);
    t.index(['account_id']);
    t.index(['client_id']);
    t.index(['expires_at']);
  });
  await db.raw(
    'CREATE UNIQUE INDEX oidc_payloads_uid_index ON oidc_payloads (uid) WHERE uid IS NOT NULL',
  );
  await db.raw(
    'CREATE INDEX oidc_payloads_user_code_index ON oidc_payloads (user_code) WHERE user_code IS NOT NULL',
  );

  await db.schema.createTable('oidc_signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    // The private JWK, encrypted with the key ring (TOTP_ENCRYPTION_KEY), bound to its kid.
    t.text('private_jwk_encrypted').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    // Set when a newer key takes over: the key still verifies until the ID tokens it signed expire.
    t.timestamp('retired_at', { useTz: true });
  });

  await db.raw(`
    ALTER TABLE protected_apps DROP CONSTRAINT protected_apps_host_path_unique;
    CREATE UNIQUE INDEX protected_apps_host_path_unique ON protected_apps (host, path_prefix) WHERE host <> '';
  `);
  await db.schema.alterTable('protected_apps', (t) => {
    t.text('oidc_client_id').unique({ indexName: 'protected_apps_oidc_client_id_unique' });
    t.text('oidc_client_secret_encrypted');
    t.specificType('oidc_redirect_uris', 'text[]').notNullable().defaultTo('{}');
    t.specificType('oidc_post_logout_redirect_uris', 'text[]').notNullable().defaultTo('{}');
    t.boolean('oidc_public').notNullable().defaultTo(false);
    // First-party apps (the operator's own) skip the consent page.
    t.boolean('oidc_first_party').notNullable().defaultTo(false);
  });
  await db.raw(`ALTER TABLE protected_apps ADD CONSTRAINT protected_apps_has_a_way_in
    CHECK (host <> '' OR oidc_client_id IS NOT NULL)`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(`
    DELETE FROM protected_apps WHERE host = '';
    ALTER TABLE protected_apps DROP CONSTRAINT protected_apps_has_a_way_in;
  `);
  await db.schema.alterTable('protected_apps', (t) => {
    t.dropColumns(
      'oidc_client_id',
      'oidc_client_secret_encrypted',
      'oidc_redirect_uris',
      'oidc_post_logout_redirect_uris',
      'oidc_public',
      'oidc_first_party',
    );
  });
  await db.raw(`
    DROP INDEX protected_apps_host_path_unique;
    ALTER TABLE protected_apps ADD CONSTRAINT protected_apps_host_path_unique UNIQUE (host, path_prefix);
  `);
  await db.schema.dropTableIfExists('oidc_signing_keys');
  await db.schema.dropTableIfExists('oidc_payloads');
}
