/**
 * The OpenID provider's signing keys: made on first start, kept in oidc_signing_keys with the
 * private part encrypted by the key ring, rotated by `npm run rotate-signing-key`. After a
 * rotation the previous key stays in the JWKS (verifying, no longer signing) until every ID token
 * it signed has expired, then it is dropped.
 */
import crypto from 'node:crypto';
import type { JWK } from 'oidc-provider';
import type { Db } from '../db/knex.ts';
import { associatedData, decrypt, encrypt, type KeyRing } from './encryption.ts';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk_encrypted: string;
  created_at: Date;
  retired_at: Date | null;
}

/** Two instances starting at once must not both make a first key. */
const LOCK = "hashtext('keygate.oidc_signing_keys')";

function newSigningKey(keys: KeyRing, now: Date): SigningKeyRow {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = crypto.randomBytes(12).toString('base64url');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    alg: 'RS256',
    private_jwk_encrypted: encrypt(JSON.stringify(jwk), keys, associatedData.oidcSigningKey(kid)),
    created_at: now,
    retired_at: null,
  };
}

/** Keys retired long enough ago that nothing they signed is still valid. */
function expiredKeys(db: Db, now: Date, verifyForMs: number) {
  return db('oidc_signing_keys').where('retired_at', '<', new Date(now.getTime() - verifyForMs));
}

/** Makes the first signing key unless there is one already. Returns whether it made one. */
export async function ensureSigningKey(db: Db, keys: KeyRing, now: Date): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(${LOCK})`);
    const current = await trx('oidc_signing_keys').whereNull('retired_at').first('kid');
    if (current) return false;
    await trx('oidc_signing_keys').insert(newSigningKey(keys, now));
    return true;
  });
}

export interface KeyRotation {
  kid: string;
  retired: string[];
  dropped: string[];
}

/** A new current key; the previous one verifies for `verifyForMs` more (the ID token lifetime). */
export async function rotateSigningKey(
  db: Db,
  keys: KeyRing,
  now: Date,
  verifyForMs: number,
): Promise<KeyRotation> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(${LOCK})`);
    const retired: { kid: string }[] = await trx('oidc_signing_keys')
      .whereNull('retired_at')
      .update({ retired_at: now })
      .returning('kid');
    const dropped: { kid: string }[] = await expiredKeys(trx, now, verifyForMs)
      .delete()
      .returning('kid');
    const key = newSigningKey(keys, now);
    await trx('oidc_signing_keys').insert(key);
    return { kid: key.kid, retired: retired.map((r) => r.kid), dropped: dropped.map((r) => r.kid) };
  });
}

/** Drops retired keys whose tokens have all expired (the prune job). */
export async function dropExpiredSigningKeys(db: Db, now: Date, verifyForMs: number) {
  return expiredKeys(db, now, verifyForMs).delete();
}

/** A short fingerprint of the key set, to notice a rotation made by another instance. */
export async function signingKeyVersion(db: Db): Promise<string> {
  const rows: { kid: string }[] = await db('oidc_signing_keys').orderBy('kid').select('kid');
  return rows.map((row) => row.kid).join(',');
}

export type SigningKeys =
  { ok: true; jwks: JWK[]; version: string } | { ok: false; undecryptable: string[] };

/**
 * The private JWKs for the provider, the current (signing) key first, then the retired ones that
 * still verify. A key no configured encryption key can open is reported, never skipped silently.
 */
export async function loadSigningKeys(
  db: Db,
  keys: KeyRing,
  now: Date,
  verifyForMs: number,
): Promise<SigningKeys> {
  const rows: SigningKeyRow[] = await db('oidc_signing_keys')
    .where((q) =>
      q.whereNull('retired_at').orWhere('retired_at', '>=', new Date(now.getTime() - verifyForMs)),
    )
    .orderByRaw('retired_at IS NOT NULL, created_at DESC');
  const jwks: JWK[] = [];
  const undecryptable: string[] = [];
  for (const row of rows) {
    const text = decrypt(row.private_jwk_encrypted, keys, associatedData.oidcSigningKey(row.kid));
    if (text === null) undecryptable.push(row.kid);
    else jwks.push(JSON.parse(text) as JWK);
  }
  if (undecryptable.length > 0) return { ok: false, undecryptable };
  return { ok: true, jwks, version: await signingKeyVersion(db) };
}
