import type { Knex } from 'knex';

/**
 * Email (issue 15): the outbox a background worker sends from, password reset tokens, email
 * change tokens, and a third kind of attempt (reset requests, limited per address and per IP).
 */
export async function up(db: Knex): Promise<void> {
  // A mail is a row written in the transaction of the event that causes it (src/auth/outbox.ts)
  // and sent later by the worker (src/mail/worker.ts): a mail server that is down never fails or
  // slows that event, and nothing is lost on a restart.
  await db.schema.createTable('mail_outbox', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    t.text('recipient').notNullable();
    t.bigInteger('user_id').references('users.id').onDelete('SET NULL');
    // Facts, not words: the worker renders the mail at send time (messages/en/mail.ts). A reset
    // link's token is in here encrypted, and removed once the mail is sent.
    t.jsonb('data').notNullable().defaultTo('{}');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    // A claimed mail whose worker died is claimed again after this.
    t.timestamp('claimed_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.check(
      `status IN ('pending', 'sending', 'sent', 'failed', 'skipped')`,
      [],
      'mail_outbox_status_check',
    );
    t.index(['user_id', 'kind', 'created_at']);
    t.index(['created_at']);
  });
  await db.raw(
    `CREATE INDEX mail_outbox_due_index ON mail_outbox (next_attempt_at) WHERE status IN ('pending', 'sending')`,
  );

  // Only a hash of each token (SHA-256 of 256 random bits) is kept.
  await db.schema.createTable('password_reset_tokens', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['user_id']);
  });

  await db.schema.createTable('email_change_tokens', (t) => {
    t.bigIncrements('id');
    t.bigInteger('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('new_email').notNullable();
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
  });

  await db.raw(`
    ALTER TABLE auth_attempts DROP CONSTRAINT auth_attempts_kind_check;
    ALTER TABLE auth_attempts ADD CONSTRAINT auth_attempts_kind_check
      CHECK (kind IN ('password', 'second_factor', 'password_reset'));
    CREATE INDEX auth_attempts_reset_account_index ON auth_attempts (account_key, created_at)
      WHERE kind = 'password_reset';
    CREATE INDEX auth_attempts_reset_ip_index ON auth_attempts (ip, created_at)
      WHERE kind = 'password_reset';
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(`
    DROP INDEX IF EXISTS auth_attempts_reset_ip_index;
    DROP INDEX IF EXISTS auth_attempts_reset_account_index;
    DELETE FROM auth_attempts WHERE kind = 'password_reset';
    ALTER TABLE auth_attempts DROP CONSTRAINT auth_attempts_kind_check;
    ALTER TABLE auth_attempts ADD CONSTRAINT auth_attempts_kind_check
      CHECK (kind IN ('password', 'second_factor'));
  `);
  await db.schema.dropTableIfExists('email_change_tokens');
  await db.schema.dropTableIfExists('password_reset_tokens');
  await db.schema.dropTableIfExists('mail_outbox');
}
