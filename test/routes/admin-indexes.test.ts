import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { listUsers, type UserListQuery } from '../../src/auth/user-list.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
  // Enough rows for the planner to prefer indexes, made in one statement.
  await t.db.raw(`
    INSERT INTO users (email, email_canonical, password_hash, role, last_sign_in_at, totp_enabled_at, totp_secret_encrypted)
    SELECT 'user-' || n || '@scale.example', 'user-' || n || '@scale.example', 'x', CASE WHEN n % 100 = 0 THEN 'admin' ELSE 'user' END,
           CASE WHEN n % 4 = 0 THEN NULL ELSE now() - n * interval '1 minute' END,
           CASE WHEN n % 3 = 0 THEN now() END, CASE WHEN n % 3 = 0 THEN 'v1.x.y.z.w' END
    FROM generate_series(1, 30000) AS n`);
  await t.db.raw('ANALYZE users');
  await t.db.raw('ANALYZE recovery_codes');
});
after(() => t.close());

/** A list query: every field empty (page 1 by email) but those given. */
function listQuery(query: Partial<UserListQuery> = {}): UserListQuery {
  return {
    search: '',
    twoFactor: '',
    role: '',
    active: '',
    sort: 'email',
    after: '',
    before: '',
    ...query,
  };
}

/** The plan PostgreSQL picks for the statements listUsers runs. */
async function plansFor(
  query: Partial<UserListQuery>,
  options: { seqScanOff?: boolean } = {},
): Promise<string[]> {
  const statements: { sql: string; bindings: readonly unknown[] }[] = [];
  const capture = (data: { sql: string; bindings: readonly unknown[] }) => statements.push(data);
  t.db.on('query', capture);
  try {
    const page = await listUsers(t.db, listQuery(query));
    assert.ok(page && page.rows.length > 0);
  } finally {
    t.db.removeListener('query', capture);
  }
  // knex reports the statements in PostgreSQL's own $1 form: EXPLAIN them on a plain connection.
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  try {
    if (options.seqScanOff) await client.query('SET enable_seqscan = off');
    const plans: string[] = [];
    for (const { sql, bindings } of statements) {
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN ${sql}`,
        bindings as unknown[],
      );
      plans.push(result.rows.map((row) => row['QUERY PLAN']).join('\n'));
    }
    return plans;
  } finally {
    await client.end();
  }
}

describe('the admin user list at scale (30,000 users)', () => {
  // A search is a range of an index that is already in the list's order: no sort, no scan.
  const cases: [string, Partial<UserListQuery>, RegExp, boolean?][] = [
    ['page 1 by email', {}, /Index Scan using users_email_c_index/],
    [
      'page 1 by last sign-in',
      { sort: 'last_sign_in' },
      /Index Scan using users_last_sign_in_index/,
    ],
    ['a search by prefix', { search: 'user-2999' }, /Index Scan using users_email_c_index/],
    [
      'a search by domain',
      { search: '@scale.example' },
      /Index Scan using users_email_domain_index/,
    ],
    [
      'a search by domain, by last sign-in',
      { search: '@scale.example', sort: 'last_sign_in' },
      // Every row here is at that domain, so either order's index serves it without a sort.
      /Index Scan using users_(email_domain_)?last_sign_in_index/,
    ],
    ['a filtered page', { role: 'admin' }, /Index Scan using users_email_c_index/],
  ];
  for (const [what, query, index, seqScanOff] of cases) {
    it(`when listing ${what}, then an index is used and users is never scanned whole`, async () => {
      const plans = await plansFor(query, { seqScanOff });
      const plan = plans.join('\n');
      assert.match(plan, index, plan);
      assert.doesNotMatch(plan, /Seq Scan on users/, plan);
      assert.doesNotMatch(plan, /^\s*(->\s*)?Sort\b/m, `already in order: ${plan}`);
      assert.doesNotMatch(plan, /count\(\*\)[^\n]*\n[^\n]*Seq Scan on users/);
    });
  }

  it('when paging deep by cursor, then it still walks the index', async () => {
    const first = await listUsers(t.db, listQuery({ sort: 'last_sign_in' }));
    let cursor = first!.next!;
    for (let i = 0; i < 20; i++) {
      const page = await listUsers(t.db, listQuery({ sort: 'last_sign_in', after: cursor }));
      cursor = page!.next!;
    }
    const plan = (await plansFor({ sort: 'last_sign_in', after: cursor })).join('\n');
    assert.match(plan, /Index Scan using users_last_sign_in_index/, plan);
  });
});

describe('what the admin user list reads', () => {
  it('when a page is listed, then its statement reads no password hash or TOTP secret, and every time is the stored one to the millisecond', async () => {
    // Times a microsecond short of the next millisecond: cut, never rounded up.
    await t
      .db('users')
      .where({ email: 'user-20000@scale.example' })
      .update({
        created_at: t.db.raw(`'2026-06-01 12:00:00.999999+00'::timestamptz`),
        last_sign_in_at: t.db.raw(`'2026-06-02 12:00:00.999999+00'::timestamptz`),
      });
    const statements: string[] = [];
    const capture = (data: { sql: string }) => statements.push(data.sql);
    t.db.on('query', capture);
    let page: Awaited<ReturnType<typeof listUsers>>;
    try {
      page = await listUsers(t.db, listQuery({ search: 'user-2' }));
    } finally {
      t.db.removeListener('query', capture);
    }
    assert.equal(statements.length, 1);
    assert.doesNotMatch(statements[0]!, /password_hash|totp_secret|users\.\*/, statements[0]);
    assert.ok(page && page.rows.length === 50);
    for (const row of page.rows) {
      assert.equal('passwordHash' in row, false);
      assert.equal('totpSecretEncrypted' in row, false);
    }
    // The same times as the table's own, read as timestamps (microseconds cut to milliseconds).
    const stored = await t
      .db('users')
      .whereIn(
        'id',
        page.rows.map((row) => row.id),
      )
      .select(
        'id',
        'created_at',
        'last_sign_in_at',
        'totp_enabled_at',
        'two_factor_grace_started_at',
      );
    interface StoredTimes {
      id: number;
      created_at: Date;
      last_sign_in_at: Date | null;
      totp_enabled_at: Date | null;
      two_factor_grace_started_at: Date | null;
    }
    const byId = new Map((stored as StoredTimes[]).map((row) => [String(row.id), row]));
    let signedIn = 0;
    for (const row of page.rows) {
      const db = byId.get(row.id)!;
      assert.equal(row.createdAt.getTime(), db.created_at.getTime());
      assert.equal(row.lastSignInAt?.getTime() ?? null, db.last_sign_in_at?.getTime() ?? null);
      assert.equal(row.totpEnabledAt?.getTime() ?? null, db.totp_enabled_at?.getTime() ?? null);
      assert.equal(
        row.twoFactorGraceStartedAt?.getTime() ?? null,
        db.two_factor_grace_started_at?.getTime() ?? null,
      );
      if (row.lastSignInAt) signedIn++;
    }
    const edge = page.rows.find((row) => row.email === 'user-20000@scale.example')!;
    assert.equal(edge.createdAt.toISOString(), '2026-06-01T12:00:00.999Z');
    assert.equal(edge.lastSignInAt?.toISOString(), '2026-06-02T12:00:00.999Z');
    // Some of the page signed in (now() less whole minutes: microseconds included) and some not.
    assert.ok(signedIn > 0 && signedIn < 50, `${signedIn} of 50 signed in`);
  });
});

describe('the highest stored bcrypt cost', () => {
  it('when a password attempt asks for it, then an index answers, not a scan of every user', async () => {
    const { rows } = await t.db.raw<{ rows: { 'QUERY PLAN': string }[] }>(
      'EXPLAIN SELECT max(substr(password_hash, 5, 2)) FROM users',
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    assert.match(plan, /users_password_cost_index/, plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  });
});
