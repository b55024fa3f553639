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
  return timedCompare(password, hash);
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
  await timedCompare(password, await hash);
  return false;
}

/**
 * bcrypt's time doubles with each cost step, so one number describes this machine: milliseconds
 * per 2^cost rounds, a moving average over the comparisons it has run (under load it rises, and
 * the padding below with it).
 */
let msPerRound: number | null = null;

async function timedCompare(password: string, hash: string): Promise<boolean> {
  const started = performance.now();
  const ok = await bcrypt.compare(preHash(password), hash);
  const cost = bcryptCostOf(hash);
  if (cost !== null) {
    const sample = (performance.now() - started) / 2 ** cost;
    msPerRound = msPerRound === null ? sample : msPerRound * 0.8 + sample * 0.2;
  }
  return ok;
}

/**
 * A password check whose failures all take as long as one at the highest bcrypt cost in use
 * (#50). Hashes keep the cost they were made with, so after BCRYPT_COST changes the database
 * holds several; without this, an account hashed at 12 on a server at 10 answered a wrong
 * password 3-4 times slower than an unknown email (whose dummy check runs at the configured
 * cost), and every account made before the change stood out.
 *
 * The choice: a failure (wrong password, unknown email, inactive account) is padded with a
 * sleep up to the time a comparison at max(configured cost, highest stored cost) takes here. A
 * sleep costs no CPU, so an attacker sending unknown emails cannot make the server do more
 * hashing than before; only failures wait, and only while hashes of a higher cost exist:
 * successful sign-ins rehash at the configured cost (see sign-in.ts), so the spread shrinks as
 * people sign in. `hash` null: an unknown email.
 */
export async function verifyPasswordUniformly(
  password: string,
  hash: string | null,
  costs: { configured: number; highestStored: number | null },
): Promise<boolean> {
  const started = performance.now();
  const ok = hash
    ? await timedCompare(password, hash)
    : await verifyAgainstDummy(password, costs.configured);
  if (ok) return true;
  const slowest = Math.max(costs.configured, costs.highestStored ?? 0);
  // With one cost in use (the usual case) every failure already did the same work: no sleep.
  const compared = (hash === null ? null : bcryptCostOf(hash)) ?? costs.configured;
  if (slowest <= compared) return false;
  const target = msPerRound === null ? 0 : msPerRound * 2 ** slowest;
  const wait = target - (performance.now() - started);
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
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
