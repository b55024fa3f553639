import { generate, generateSecret } from 'otplib';

/**
 * TOTP as every authenticator app understands it: SHA-1, 6 digits, 30-second steps, T0 = 0
 * (RFC 6238). Apps such as Google Authenticator ignore other parameters on some platforms.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** How far a wrong code is searched to tell the person their clock looks off (±10 minutes). */
export const DRIFT_SEARCH_STEPS = 20;

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** A new 160-bit secret (RFC 4226 R6 recommends 160) from a CSPRNG, as unpadded base32. */
export function generateTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The key as people type it into an app: groups of four. */
export function formatSecretForHumans(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** `otpauth://totp/Issuer:account?secret=…&issuer=Issuer`: label prefix and parameter agree. */
export function totpUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}`;
}

export function stepAt(ms: number): number {
  return Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code for one time step (a HOTP counter). `secret` is base32 text or raw bytes. */
export function codeForStep(
  secret: string | Uint8Array,
  step: number,
  options: { algorithm?: TotpAlgorithm; digits?: 6 | 7 | 8 } = {},
): Promise<string> {
  return generate({
    secret,
    epoch: step * TOTP_PERIOD_SECONDS,
    period: TOTP_PERIOD_SECONDS,
    algorithm: options.algorithm ?? 'sha1',
    digits: options.digits ?? TOTP_DIGITS,
  });
}

/**
 * What a person typed, as a 6-digit code, or null. Spaces are ignored ("123 456" works, as apps
 * show it); anything else that is not a digit makes it invalid.
 */
export function parseTotpCode(input: string): string | null {
  const compact = input.replace(/\s+/g, '');
  return /^\d{6}$/.test(compact) ? compact : null;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The time step whose code equals `code`, searching `window` steps either side of now (nearest
 * first), or null. Replay protection is the caller's: it must only accept a step later than the
 * last one used.
 */
export async function matchingStep(
  secret: string,
  code: string,
  nowMs: number,
  window: number,
): Promise<number | null> {
  const current = stepAt(nowMs);
  const offsets = [0];
  for (let i = 1; i <= window; i++) offsets.push(-i, i);
  for (const offset of offsets) {
    if (constantTimeEqual(await codeForStep(secret, current + offset), code))
      return current + offset;
  }
  return null;
}

/**
 * For a code that did not match within the window: how many minutes the person's device clock
 * seems to be off (positive: ahead), if the code matches within ±10 minutes; otherwise null.
 *
 * `look: 'behind_only'` wherever a code would be accepted later (sign-in, confirm-it's-you,
 * turning 2FA off): a code for a future step becomes valid when its time comes, so "your clock
 * looks ahead" would tell a guesser that this guess is worth sending again (#49). A past step can
 * never be used again (codes are only accepted for steps after the last one used), so a "behind"
 * hint gives nothing away. Enrolment may look both ways: its secret is discarded on success.
 */
export async function clockDriftMinutes(
  secret: string,
  code: string,
  nowMs: number,
  window: number,
  options: { look: 'both_ways' | 'behind_only' },
): Promise<number | null> {
  const current = stepAt(nowMs);
  const directions = options.look === 'both_ways' ? [-1, 1] : [-1];
  for (let distance = window + 1; distance <= DRIFT_SEARCH_STEPS; distance++) {
    for (const offset of directions.map((sign) => sign * distance)) {
      if (constantTimeEqual(await codeForStep(secret, current + offset), code)) {
        return Math.round((offset * TOTP_PERIOD_SECONDS) / 60);
      }
    }
  }
  return null;
}
