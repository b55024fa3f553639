import type { Knex } from 'knex';

/**
 * One canonical form of every email (#51), in a unique column used for look-up, uniqueness and
 * the password limits. Before, uniqueness and look-up used PostgreSQL's lower() (ASCII only in a
 * C-locale cluster) while the limits used JavaScript's toLowerCase() (full Unicode), so
 * "Kv2@example.com" written with U+212A KELVIN SIGN was a second account sharing the first one's
 * counters.
 *
 * A frozen copy of canonicalEmail() in src/auth/users.ts: a migration must keep meaning what it
 * meant when it ran, whatever the code does later.
 */
function canonical(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
}

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => t.text('email_canonical'));
  const rows: { id: string; email: string }[] = await db('users')
    .select('id', 'email')
    .orderBy('id');
  const byKey = new Map<string, { id: string; email: string }[]>();
  for (const row of rows) {
    const key = canonical(row.email);
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  // Two accounts that are one address in canonical form are not merged: which one is the real
  // person's is for an administrator to decide. The migration stops (its transaction rolls back)
  // and lists them; rename or remove one of each group, then migrate again.
  const collisions = [...byKey.values()].filter((group) => group.length > 1);
  if (collisions.length > 0) {
    const lines = collisions.map(
      (group) => `  ${group.map((u) => `user ${u.id} <${JSON.stringify(u.email)}>`).join(' = ')}`,
    );
    throw new Error(
      `${collisions.length} email address${collisions.length === 1 ? ' is' : 'es are'} held by more than one account once case and Unicode look-alikes are folded:\n${lines.join('\n')}\nChange or remove all but one account of each line (nothing was changed), then run the migration again.`,
    );
  }
  const entries = [...byKey.entries()];
  for (let start = 0; start < entries.length; start += 1000) {
    const batch = entries.slice(start, start + 1000);
    await db.raw(
      `UPDATE users SET email_canonical = v.key
       FROM (SELECT unnest(?::bigint[]) AS id, unnest(?::text[]) AS key) AS v
       WHERE users.id = v.id`,
      [batch.map(([, [user]]) => user!.id), batch.map(([key]) => key)],
    );
  }
  await db.raw('ALTER TABLE users ALTER COLUMN email_canonical SET NOT NULL');
  await db.raw('CREATE UNIQUE INDEX users_email_canonical_unique ON users (email_canonical)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS users_email_canonical_unique');
  await db.schema.alterTable('users', (t) => t.dropColumn('email_canonical'));
}
