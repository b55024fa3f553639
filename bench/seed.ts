import type { Db } from '../src/db/knex.ts';
import { associatedData, encrypt, type KeyRing } from '../src/auth/encryption.ts';
import { hashPassword } from '../src/auth/passwords.ts';
import {
  lookupTag,
  makeRecoveryCodes,
  RECOVERY_CODE_COUNT,
  type RecoveryCodeSet,
} from '../src/auth/recovery-codes.ts';
import { generateTotpSecret } from '../src/auth/totp.ts';
import { personEmail, personEmailSql } from './names.ts';

export const PASSWORD = 'bench-password-1234';
export const ADMIN_ID = 1;
export const ADMIN_EMAIL = 'admin@bench.example';

export function emailOf(id: number): string {
  return id === ADMIN_ID ? ADMIN_EMAIL : personEmail(id);
}

/** What every seeded user shares: one bcrypt hash (computed once) and one TOTP secret. */
export interface SeedMaterial {
  passwordHash: string;
  totpSecret: string;
  keys: KeyRing;
}

export async function seedMaterial(keys: KeyRing, bcryptCost: number): Promise<SeedMaterial> {
  return {
    passwordHash: await hashPassword(PASSWORD, bcryptCost),
    totpSecret: generateTotpSecret(),
    keys,
  };
}

const BATCH = 25_000;
/** From this many rows on, the secondary indexes are dropped for the load and built after it. */
const BULK_LOAD = 100_000;

/**
 * Drops the users table's indexes that back no constraint (the primary key and foreign keys stay)
 * and returns the statements that make them again, exactly as they were.
 */
async function dropSecondaryIndexes(db: Db): Promise<string[]> {
  const { rows } = (await db.raw(
    `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
       FROM pg_index
      WHERE indrelid = 'users'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)`,
  )) as { rows: { name: string; definition: string }[] };
  for (const { name } of rows) await db.raw(`DROP INDEX ${name}`);
  return rows.map((row) => row.definition);
}

/**
 * Users `from`..`to` (ids), all with 2FA on, with realistic addresses (names.ts). The password hash is shared, but each TOTP secret is
 * encrypted for its own user: the associated data is `totp:<user id>`, so one ciphertext copied
 * to every row would not decrypt. Rows go in with one INSERT … SELECT per batch, over the batch's
 * ciphertexts unnested (indexing the array per row instead made a 1M seed take 86 s, not 23).
 */
export async function seedUsers(db: Db, material: SeedMaterial, from: number, to: number) {
  const insertBatch = (start: number, ciphertexts: string[]) =>
    db.raw(
      `INSERT INTO users (id, email, email_canonical, password_hash, role, totp_secret_encrypted,
                          totp_enabled_at, created_at, updated_at)
       SELECT g, CASE WHEN g = :admin THEN :adminEmail ELSE ${personEmailSql('g')} END,
              CASE WHEN g = :admin THEN :adminEmail ELSE ${personEmailSql('g')} END,
              :hash, CASE WHEN g = :admin THEN 'admin' ELSE 'user' END,
              ct, now(), now() - (g || ' seconds')::interval, now()
       FROM unnest(:cts::text[]) WITH ORDINALITY AS batch(ct, n),
            LATERAL (SELECT :start::bigint + n - 1 AS g) AS row_id`,
      {
        admin: ADMIN_ID,
        adminEmail: ADMIN_EMAIL,
        hash: material.passwordHash,
        cts: `{${ciphertexts.join(',')}}`,
        start,
      },
    );
  // Two INSERTs in flight on two connections (PostgreSQL works on both cores), and the next
  // batch encrypted here while they run.
  // A bulk load goes in without the secondary indexes, which are then built again from their own
  // definitions, as pg_restore does: one sorted build each instead of a million scattered inserts.
  const rebuild = to - from + 1 >= BULK_LOAD ? await dropSecondaryIndexes(db) : [];
  const running = new Set<Promise<unknown>>();
  for (let start = from; start <= to; start += BATCH) {
    const end = Math.min(to, start + BATCH - 1);
    const ciphertexts: string[] = [];
    for (let id = start; id <= end; id++) {
      ciphertexts.push(
        encrypt(material.totpSecret, material.keys, associatedData.totpSecret(String(id))),
      );
    }
    if (running.size >= 2) await Promise.race(running);
    const insert: Promise<unknown> = insertBatch(start, ciphertexts).finally(() =>
      running.delete(insert),
    );
    running.add(insert);
  }
  await Promise.all(running);
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL maintenance_work_mem = '256MB'`);
    for (const definition of rebuild) await trx.raw(definition);
  });
  await db.raw(`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`);
  // What autovacuum does after a bulk load in production: statistics for the planner.
  await db.raw('VACUUM ANALYZE users');
  // And a bulk load's checkpoint, done now: left to itself, the checkpoint a 1M load sets off
  // spreads its writes over the next scenarios (25 s of writing, measured), which no real server,
  // loaded long before its traffic, would see. A smaller seed sets none off.
  if (to - from + 1 < BULK_LOAD) return;
  await db.raw('CHECKPOINT').catch((error: { code?: string }) => {
    // Only a superuser or a member of pg_checkpoint may (an external DATABASE_URL's user may be
    // neither): then the load's checkpoint runs on its own, as it did before.
    if (error.code !== '42501') throw error;
  });
}

/** One set of recovery codes (bcrypt cost 10, the app's function), reused across users. */
export function makeSharedRecoveryCodes(): Promise<RecoveryCodeSet> {
  return makeRecoveryCodes('0');
}

/**
 * Gives each user the shared codes (their lookup tags are per user, as the app computes them),
 * with all but `left` of them already used.
 */
export async function seedRecoveryCodes(
  db: Db,
  set: RecoveryCodeSet,
  userIds: number[],
  left: number,
): Promise<void> {
  const rows = userIds.flatMap((userId) =>
    set.codes.map((code, index) => ({
      user_id: userId,
      lookup: lookupTag(String(userId), code),
      code_hash: set.rows[index]!.code_hash,
      // The codes the bench will type are the first `left`; the others are spent.
      used_at: index < left ? null : new Date(),
    })),
  );
  await db.batchInsert('recovery_codes', rows, 1000);
  if (set.codes.length !== RECOVERY_CODE_COUNT) throw new Error('unexpected recovery code count');
}

/** Hands out users that have not signed in with a code yet (a TOTP step works once per user). */
export class UserPool {
  private next: number;
  constructor(
    from: number,
    private readonly to: number,
  ) {
    this.next = from;
  }
  take(count: number): number[] {
    if (this.next + count - 1 > this.to) {
      throw new Error(`out of fresh users: raise --users (needed ${count} more)`);
    }
    const ids = Array.from({ length: count }, (_, i) => this.next + i);
    this.next += count;
    return ids;
  }
  /**
   * `count` ids of users not handed out yet, cycling, without handing them out: for steps that
   * leave a user fresh (the password step alone), far from the accounts earlier scenarios
   * attacked or locked.
   */
  spread(count: number): number[] {
    const size = this.to - this.next + 1;
    if (size < 1) throw new Error('out of fresh users: raise --users');
    return Array.from({ length: count }, (_, i) => this.next + (i % size));
  }
  get remaining(): number {
    return this.to - this.next + 1;
  }
}
