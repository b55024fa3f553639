/**
 * Random ids and secrets for things made on every page view (a new visitor's session id, a form's
 * CSRF secret): drawn from a pool of bytes that the operating system's generator (through
 * OpenSSL) fills 4 KiB at a time, as Node draws its own randomUUIDs, instead of one call per id.
 * Every byte is handed out once and then overwritten; long-lived secrets (TOTP, tokens sent by
 * mail, keys) keep calling crypto.randomBytes directly.
 */
import crypto from 'node:crypto';

const pool = Buffer.alloc(4096);
let offset = pool.length;

/** `bytes` random bytes (at most 256) as base64url. */
export function randomToken(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256)
    throw new Error('randomToken: 1 to 256 bytes');
  if (offset + bytes > pool.length) {
    crypto.randomFillSync(pool);
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return token;
}
