import crypto from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { queueMailFor } from './outbox.ts';
import { associatedData, decrypt, encrypt, type KeyRing } from './encryption.ts';
import { FRESH_CODES_TIMEOUT_MS } from './limits.ts';
import type { RequestOrigin } from './origin.ts';
import { forgetTrustedBrowsers } from './trusted-browsers.ts';

/** Crockford's base32: no I, L, O or U, so codes survive being read aloud or handwritten. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_CODE_COUNT = 10;
/** 16 symbols × 5 bits = 80 bits from a CSPRNG (NIST SP 800-63B-4 asks for at least 64). */
const SYMBOLS = 16;
/**
 * bcrypt cost for recovery codes. Their 80 random bits, not the work factor, are what resists
 * guessing; 10 (the ASVS minimum) keeps creating ten of them quick.
 */
export const RECOVERY_CODE_BCRYPT_COST = 10;

function encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** `7K2M-QX9D-4RTB-8HZW` */
export function formatRecoveryCode(code: string): string {
  return code.match(/.{4}/g)!.join('-');
}

export function generateRecoveryCode(): string {
  return encode(crypto.randomBytes((SYMBOLS * 5) / 8));
}

/**
 * The canonical form of a typed recovery code, or null if it cannot be one: any case, hyphens and
 * spaces ignored, O read as 0 and I or L as 1 (Crockford's rules).
 */
export function parseRecoveryCode(input: string): string | null {
  const compact = input
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (compact.length !== SYMBOLS) return null;
  for (const symbol of compact) if (!ALPHABET.includes(symbol)) return null;
  return compact;
}

/**
 * A short, non-secret tag that picks the one row to check, so a check costs at most one bcrypt
 * comparison however many codes are left. 32 bits of SHA-256 over the user id and the code: it
 * narrows nothing useful for an attacker (2^48 candidates remain per tag out of 2^80).
 */
export function lookupTag(userId: string, code: string): string {
  return crypto
    .createHash('sha256')
    .update(`keygate-recovery:${userId}:${code}`)
    .digest('hex')
    .slice(0, 8);
}

export interface RecoveryCodeSet {
  /** In clear, to be shown once. */
  codes: string[];
  rows: { user_id: string; lookup: string; code_hash: string }[];
}

/** A new set of codes with their hashes, made before any transaction opens (bcrypt is slow). */
export async function makeRecoveryCodes(userId: string): Promise<RecoveryCodeSet> {
  const codes = new Map<string, string>();
  while (codes.size < RECOVERY_CODE_COUNT) {
    const code = generateRecoveryCode();
    codes.set(lookupTag(userId, code), code); // a tag collision just draws another code
  }
  const rows = await Promise.all(
    [...codes].map(async ([lookup, code]) => ({
      user_id: userId,
      lookup,
      code_hash: await bcrypt.hash(code, RECOVERY_CODE_BCRYPT_COST),
    })),
  );
  return { codes: [...codes.values()], rows };
}

/** Replaces all of a user's recovery codes with `set` (call inside the caller's transaction). */
export async function storeRecoveryCodes(
  trx: Db,
  userId: string,
  set: RecoveryCodeSet,
): Promise<void> {
  await trx('recovery_codes').where({ user_id: userId }).delete();
  await trx('recovery_codes').insert(set.rows);
}

export async function countUnusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db('recovery_codes')
    .where({ user_id: userId })
    .whereNull('used_at')
    .count<{ n: string }>('* as n')
    .first();
  return Number(row?.n ?? 0);
}

/**
 * Uses up one recovery code: at most one bcrypt comparison, then a conditional UPDATE so that
 * the same code sent in concurrent requests succeeds exactly once.
 */
export async function consumeRecoveryCode(
  db: Db,
  userId: string,
  code: string,
  now: Date,
): Promise<'used' | 'already_used' | 'wrong_code'> {
  const row = await db('recovery_codes')
    .where({ user_id: userId, lookup: lookupTag(userId, code) })
    .first('id', 'code_hash', 'used_at');
  if (!row) return 'wrong_code';
  if (!(await bcrypt.compare(code, row.code_hash))) return 'wrong_code';
  // The person's own code, used before: saying so helps them, and tells a guesser nothing (a
  // used code is worth nothing).
  if (row.used_at) return 'already_used';
  const used = await db('recovery_codes')
    .where({ id: row.id })
    .whereNull('used_at')
    .update({ used_at: now })
    .returning('id');
  return used.length === 1 ? 'used' : 'already_used';
}

/**
 * A new set of recovery codes; every old one stops working in the same transaction, and every
 * trusted browser is forgotten (new codes are what a person makes when a factor may be lost).
 */
export async function regenerateRecoveryCodes(
  db: Db,
  input: { userId: string; now: Date; origin: RequestOrigin },
): Promise<string[]> {
  const set = await makeRecoveryCodes(input.userId);
  await db.transaction(async (trx) => {
    await storeRecoveryCodes(trx, input.userId, set);
    await forgetTrustedBrowsers(trx, input.userId);
    await recordAuditEvent(trx, {
      event: 'recovery_codes_regenerated',
      userId: input.userId,
      ...input.origin,
      at: input.now,
    });
    await queueMailFor(trx, {
      kind: 'recovery_codes_regenerated',
      userId: input.userId,
      at: input.now,
      origin: input.origin,
    });
  });
  return set.codes;
}

/** Recovery codes just made, as the session keeps them until the person says they saved them. */
export interface FreshCodes {
  codes: string;
  createdAt: number;
}

export function sealFreshCodes(
  codes: string[],
  userId: string,
  keys: KeyRing,
  now: number,
): FreshCodes {
  return {
    codes: encrypt(codes.join(','), keys, associatedData.freshRecoveryCodes(userId)),
    createdAt: now,
  };
}

/** The codes, or null once they are too old to show again or cannot be read. */
export function openFreshCodes(
  fresh: FreshCodes,
  userId: string,
  keys: KeyRing,
  now: number,
): string[] | null {
  if (now - fresh.createdAt > FRESH_CODES_TIMEOUT_MS) return null;
  const codes = decrypt(fresh.codes, keys, associatedData.freshRecoveryCodes(userId));
  return codes === null ? null : codes.split(',');
}
