import crypto from 'node:crypto';
import bcrypt from 'bcrypt';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * Passwords are compared as NFKC-normalised text (NIST SP 800-63B-4 §3.1.1.2) so that the same
 * password typed on two keyboards matches. Length rules count characters, not bytes.
 */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

export function passwordLength(password: string): number {
  return [...normalisePassword(password)].length;
}

/**
 * bcrypt reads only the first 72 bytes of its input, so two long passwords sharing a prefix would
 * both verify. We pre-hash with HMAC-SHA-256 (a fixed, public key: domain separation, not a
 * pepper) and give bcrypt the 44-character base64 digest, which also keeps NUL bytes out.
 */
function preHash(password: string): string {
  return crypto
    .createHmac('sha256', 'keygate-password-v1')
    .update(normalisePassword(password), 'utf8')
    .digest('base64');
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(preHash(password), cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(preHash(password), hash);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * Spends the same bcrypt work as a real check, for unknown emails, so that response times do not
 * tell which accounts exist (ASVS 6.3.8). Always resolves to false.
 */
export async function verifyAgainstDummy(password: string, cost: number): Promise<false> {
  let hash = dummyHashes.get(cost);
  if (!hash) {
    hash = bcrypt.hash(crypto.randomBytes(16).toString('hex'), cost);
    dummyHashes.set(cost, hash);
  }
  await bcrypt.compare(preHash(password), await hash);
  return false;
}

export function bcryptCostOf(hash: string): number | null {
  const match = /^\$2[aby]\$(\d{2})\$/.exec(hash);
  return match ? Number(match[1]) : null;
}

/** Random password for admin-created accounts: 20 symbols from 31 unambiguous ones (~99 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  let out = '';
  for (let i = 0; i < 20; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out.replace(/(.{5})(?=.)/g, '$1-');
}
