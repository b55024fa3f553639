import crypto from 'node:crypto';
export interface EncryptionKey {
  /** Short, non-secret fingerprint stored next to each ciphertext to pick the key. */
  readonly id: string;
  readonly key: Buffer;
}

/** The key that encrypts, and the retired ones that may still decrypt (rotation). */
export interface KeyRing {
  current: EncryptionKey;
  old: readonly EncryptionKey[];
}

/**
 * What each ciphertext is bound to. Decrypting with another purpose or user fails, so a value
 * copied from one row, session or person to another is worthless.
 */
export const associatedData = {
  /** A user's confirmed TOTP secret (users.totp_secret_encrypted). */
  totpSecret: (userId: string) => `totp:${userId}`,
  /** The secret of an enrolment in progress, kept in the session until a first code confirms it. */
  enrolment: (userId: string) => `enrolment:${userId}`,
  /** Recovery codes just made, kept in the session until the person says they saved them. */
  freshRecoveryCodes: (userId: string) => `recovery-codes:${userId}`,
  /** A password an admin made for a user, kept in the admin's session until it is shown once. */
  oneTimePassword: (userId: string) => `one-time-password:${userId}`,
  /** The OpenID provider's private signing key (oidc_signing_keys). */
  oidcSigningKey: (kid: string) => `oidc-signing-key:${kid}`,
  /** An OIDC client's secret (protected_apps.oidc_client_secret_encrypted). */
  oidcClientSecret: (clientId: string) => `oidc-client-secret:${clientId}`,
  /** A client secret just made, kept in the admin's session until it is shown once. */
  freshClientSecret: (userId: string) => `fresh-client-secret:${userId}`,
  /** A link's token (password reset, email confirmation) in a mail waiting in the outbox. */
  mailToken: (kind: string, canonicalAddress: string) => `mail-token:${kind}:${canonicalAddress}`,
} as const;

const VERSION = 'v1';

/**
 * AES-256-GCM with a random 96-bit IV. The associated data binds a ciphertext to its owner
 * (for example `totp:42`), so a secret copied onto another user's row does not decrypt.
 * Stored as `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url), so the key can be found and rotated.
 */
export function encrypt(plaintext: string, keys: KeyRing, associatedData: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', keys.current.key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, keys.current.id, iv, body, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** The plaintext, or null when the value is malformed, the key is unknown or anything was altered. */
export function decrypt(stored: string, keys: KeyRing, associatedData: string): string | null {
  const parts = stored.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return null;
  const [, keyId, iv, body, tag] = parts as [string, string, string, string, string];
  const key = [keys.current, ...keys.old].find((candidate) => candidate.id === keyId);
  if (!key) return null;
  const tagBytes = Buffer.from(tag, 'base64url');
  // GCM would accept a truncated tag; only the full 16 bytes authenticate properly.
  if (tagBytes.length !== 16) return null;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([
      decipher.update(Buffer.from(body, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
}

/** The id of the key a stored value was encrypted with (null when malformed). */
export function keyIdOf(stored: string): string | null {
  const parts = stored.split('.');
  return parts.length === 5 && parts[0] === VERSION ? parts[1]! : null;
}
