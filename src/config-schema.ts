import crypto from 'node:crypto';
import { z } from 'zod';
import type { EncryptionKey } from './auth/encryption.ts';

/** The environment variables Keygate reads, each with its parser and default (see config.ts). */

const DURATION = /^(\d+)(s|m|h|d)?$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90" (seconds), "90s", "15m", "1h", "7d" → milliseconds. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Number(match[1]) * UNIT_MS[unit];
}

function duration(what: string, min: number, max: number) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null || ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration like 90s, 15m, 1h or 7d, ${what}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

function wholeNumber(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);
}

export const KEY_HINT =
  'must be 32 random bytes in base64 (make one with: openssl rand -base64 32)';

export function parseEncryptionKey(text: string): EncryptionKey | null {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32) return null;
  const id = crypto.createHash('sha256').update(key).digest('hex').slice(0, 8);
  return { id, key };
}

const encryptionKey = z.string().transform((text, ctx) => {
  const key = parseEncryptionKey(text);
  if (!key) {
    ctx.addIssue({ code: 'custom', message: KEY_HINT });
    return z.NEVER;
  }
  return key;
});

/** The security notifications an operator can turn off one by one (README, "Email"). */
export const NOTIFICATION_KINDS = [
  'new_device',
  'wrong_second_factor',
  'two_factor_changes',
  'recovery_codes',
  'password_changes',
  'email_changes',
  'lockout',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

const notifications = z.string().transform((text, ctx): NotificationKind[] => {
  const value = text.trim().toLowerCase();
  if (value === 'all') return [...NOTIFICATION_KINDS];
  if (value === 'none') return [];
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const unknown = parts.find((part) => !(NOTIFICATION_KINDS as readonly string[]).includes(part));
  if (unknown !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be all, none, or a comma-separated list of ${NOTIFICATION_KINDS.join(', ')}`,
    });
    return z.NEVER;
  }
  return parts as NotificationKind[];
});

export const schema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be development, production or test',
    })
    .default('development'),
  APP_NAME: z
    .string()
    .regex(/^[^:]{1,40}$/, 'must be 1 to 40 characters without a colon (it names the TOTP issuer)')
    .default('Keygate'),
  HOST: z.string().min(1, 'must be a host name or address to listen on').default('127.0.0.1'),
  PORT: wholeNumber(0, 65535).default(3000),
  BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://auth.example.com' })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL')
    .optional(),
  DATA_DIR: z.string().min(1, 'must be a directory path').default('data'),
  SESSION_SECRET: z
    .string()
    .transform((text) => text.split(',').map((part) => part.trim()))
    .refine((parts) => parts.every((part) => part.length >= 32), {
      message: 'must be at least 32 characters (comma-separate older secrets to rotate)',
    })
    .optional(),
  TOTP_ENCRYPTION_KEY: encryptionKey.optional(),
  TOTP_ENCRYPTION_OLD_KEYS: z
    .string()
    .transform((text, ctx) => {
      const parts = text
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
      const keys = parts.map(parseEncryptionKey);
      if (keys.some((key) => key === null)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of keys that ${KEY_HINT.slice(5)}`,
        });
        return z.NEVER;
      }
      return keys as EncryptionKey[];
    })
    .default([]),
  TRUST_PROXY: z
    .string()
    .transform((text, ctx): false | number | string[] => {
      const value = text.trim();
      if (value === '' || value === 'false' || value === '0') return false;
      if (/^\d+$/.test(value)) return Number(value);
      const parts = value.split(',').map((part) => part.trim());
      if (
        value === 'true' ||
        parts.some((part) => !/^[0-9a-fA-F.:/]+$|^(loopback|linklocal|uniquelocal)$/.test(part))
      ) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be false, a number of proxy hops, or a comma-separated list of proxy addresses/subnets (or loopback, linklocal, uniquelocal)',
        });
        return z.NEVER;
      }
      return parts;
    })
    .default(false),
  AUTH_COOKIE_DOMAIN: z
    .string()
    .transform((text) => text.trim().toLowerCase().replace(/^\./, ''))
    .refine(
      (text) => /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(text),
      {
        message: 'must be a domain name such as example.com (the portal and the apps lie under it)',
      },
    )
    .optional(),
  BCRYPT_COST: wholeNumber(10, 16).default(12),
  TOTP_WINDOW: wholeNumber(0, 2).default(1),
  REQUIRE_2FA: z
    .enum(['off', 'admins', 'all'], { error: 'must be off, admins or all' })
    .default('admins'),
  REQUIRE_2FA_GRACE: duration('from 0s to 90d', 0, 90 * 86_400_000).default(7 * 86_400_000),
  // 0 turns trusted browsers off: no checkbox, and cookies already given are ignored.
  TRUSTED_BROWSER_DURATION: duration('from 0s (off) to 365d', 0, 365 * 86_400_000).default(
    30 * 86_400_000,
  ),
  TRUSTED_BROWSERS: z
    .enum(['all', 'users', 'off'], { error: 'must be all, users or off' })
    .default('users'),
  RECENT_AUTH_WINDOW: duration('from 1m to 1h', 60_000, 3_600_000).default(600_000),
  PENDING_SIGN_IN_TIMEOUT: duration('from 1m to 30m', 60_000, 1_800_000).default(300_000),
  SESSION_IDLE_TIMEOUT: duration('from 1m to 24h', 60_000, 86_400_000).default(3_600_000),
  SESSION_ABSOLUTE_TIMEOUT: duration('from 5m to 30d', 300_000, 30 * 86_400_000).default(
    86_400_000,
  ),
  PRUNE_INTERVAL: duration('from 10s to 1d', 10_000, 86_400_000).default(900_000),
  ATTEMPT_RETENTION: duration('from 31d to 3650d', 31 * 86_400_000, 3650 * 86_400_000).default(
    90 * 86_400_000,
  ),
  AUDIT_RETENTION: duration('from 30d to 3650d', 30 * 86_400_000, 3650 * 86_400_000).default(
    365 * 86_400_000,
  ),
  // Unset: mails are printed to the terminal in development; in production, reset by email is off.
  SMTP_URL: z
    .string()
    .regex(
      /^smtps?:\/\/[^\s]+$/,
      'must be an smtp:// or smtps:// URL such as smtps://user:pass@mail.example.com:465',
    )
    .optional(),
  MAIL_FROM: z
    .string()
    .regex(
      // A header value: no control characters (no header injection through a line break).
      // eslint-disable-next-line no-control-regex
      /^[^\u0000-\u001f\u007f]{3,320}$/,
      'must be an address such as "Keygate <keygate@example.com>"',
    )
    .optional(),
  PASSWORD_RESET_TTL: duration('from 5m to 24h', 300_000, 86_400_000).default(3_600_000),
  NOTIFICATIONS: notifications.default([...NOTIFICATION_KINDS]),
  DB_STATEMENT_TIMEOUT: duration('from 1s to 10m', 1000, 600_000).default(10_000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json'], { error: 'must be pretty or json' }).optional(),
  // Unset: no metrics listener. Its own port, so the app's port never serves /metrics.
  METRICS_PORT: wholeNumber(1, 65535).optional(),
  METRICS_HOST: z
    .string()
    .min(1, 'must be a host name or address to listen on')
    .default('127.0.0.1'),
});

/** Every environment variable Keygate reads (the README and .env.example must list each). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);
