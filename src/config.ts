import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { EncryptionKey, KeyRing } from './auth/encryption.ts';
import { ROOT } from './dirs.ts';

/**
 * Every setting Keygate reads, validated once at boot into a frozen object.
 * A bad value stops the process with one line naming the variable (see server.ts).
 */
export interface Config {
  readonly isProduction: boolean;
  readonly appName: string;
  readonly host: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  /** The first secret signs new cookies; the others still verify (rotation). */
  readonly sessionSecrets: readonly string[];
  /** Encrypts TOTP secrets (and the session's enrolment secrets); old keys still decrypt. */
  readonly totpKeys: KeyRing;
  readonly trustProxy: false | number | readonly string[];
  /** Forward-auth: the domain the gate cookie is set for (apps under it can be protected). */
  readonly authCookieDomain: string | null;
  readonly bcryptCost: number;
  /** TOTP steps accepted either side of now (RFC 6238 §5.2 recommends at most one). */
  readonly totpWindow: number;
  /** How long a full authentication counts as "recent" for sensitive actions. */
  readonly recentAuthWindowMs: number;
  /** How long a correct password waits for its second factor. */
  readonly pendingSignInTimeoutMs: number;
  /** Who must use 2FA, and how long they have to turn it on. */
  readonly require2fa: 'off' | 'admins' | 'all';
  readonly require2faGraceMs: number;
  readonly sessionIdleTimeoutMs: number;
  readonly sessionAbsoluteTimeoutMs: number;
  readonly pruneIntervalMs: number;
  readonly attemptRetentionMs: number;
  readonly auditRetentionMs: number;
  readonly dbStatementTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Things worth one log line at boot (generated development secrets). */
  readonly notes: readonly string[];
}

export class ConfigError extends Error {}

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

const KEY_HINT = 'must be 32 random bytes in base64 (make one with: openssl rand -base64 32)';

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

const schema = z.object({
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
  DB_STATEMENT_TIMEOUT: duration('from 1s to 10m', 1000, 600_000).default(10_000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** Every environment variable Keygate reads (the README and .env.example must list each). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

/** Reads a secret from DATA_DIR, or creates it there (mode 0600) on first use. */
function developmentSecret(dataDir: string, file: string, make: () => string, notes: string[]) {
  const target = path.join(dataDir, file);
  try {
    return fs.readFileSync(target, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  fs.writeFileSync(target, make() + '\n', { mode: 0o600, flag: 'wx' });
  notes.push(`generated a development ${file.replace(/-/g, ' ')} in ${target}`);
  return fs.readFileSync(target, 'utf8').trim();
}

/**
 * Validates `env` (normally process.env) into a frozen Config. Throws ConfigError with one line
 * naming the first bad variable. In development, missing secrets are generated once into DATA_DIR.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as in most twelve-factor tooling.
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(
      `${name} ${issue.message} (got "${redactIfSecret(name, present[name])}")`,
    );
  }
  const values = parsed.data;
  const isProduction = values.NODE_ENV === 'production';
  const dataDir = path.resolve(ROOT, values.DATA_DIR);
  const notes: string[] = [];

  if (isProduction && !values.SESSION_SECRET) {
    throw new ConfigError(
      'SESSION_SECRET must be set in production (at least 32 random characters)',
    );
  }
  if (isProduction && !values.TOTP_ENCRYPTION_KEY) {
    throw new ConfigError(`TOTP_ENCRYPTION_KEY must be set in production: it ${KEY_HINT}`);
  }
  if (values.SESSION_ABSOLUTE_TIMEOUT < values.SESSION_IDLE_TIMEOUT) {
    throw new ConfigError('SESSION_ABSOLUTE_TIMEOUT must not be shorter than SESSION_IDLE_TIMEOUT');
  }

  const sessionSecrets = values.SESSION_SECRET ?? [
    developmentSecret(
      dataDir,
      'session-secret',
      () => crypto.randomBytes(32).toString('base64url'),
      notes,
    ),
  ];
  const totpKey =
    values.TOTP_ENCRYPTION_KEY ??
    parseEncryptionKey(
      developmentSecret(
        dataDir,
        'totp-encryption-key',
        () => crypto.randomBytes(32).toString('base64'),
        notes,
      ),
    );
  if (!totpKey) {
    throw new ConfigError(`${path.join(dataDir, 'totp-encryption-key')} ${KEY_HINT}`);
  }

  const port = values.PORT;
  const baseUrl = (values.BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const cookieDomain = values.AUTH_COOKIE_DOMAIN ?? null;
  if (cookieDomain && !isUnderDomain(new URL(baseUrl).hostname, cookieDomain)) {
    // The gate cookie is set by the portal: a browser refuses a Domain the portal is not under.
    throw new ConfigError(
      `AUTH_COOKIE_DOMAIN must contain BASE_URL's host (${new URL(baseUrl).hostname} is not under ${cookieDomain})`,
    );
  }
  return Object.freeze({
    isProduction,
    appName: values.APP_NAME,
    host: values.HOST,
    port,
    baseUrl,
    databaseUrl: values.DATABASE_URL ?? null,
    dataDir,
    sessionSecrets: Object.freeze(sessionSecrets),
    totpKeys: Object.freeze({
      current: totpKey,
      old: Object.freeze(values.TOTP_ENCRYPTION_OLD_KEYS),
    }),
    trustProxy: Array.isArray(values.TRUST_PROXY)
      ? Object.freeze(values.TRUST_PROXY)
      : values.TRUST_PROXY,
    authCookieDomain: cookieDomain,
    bcryptCost: values.BCRYPT_COST,
    totpWindow: values.TOTP_WINDOW,
    require2fa: values.REQUIRE_2FA,
    require2faGraceMs: values.REQUIRE_2FA_GRACE,
    recentAuthWindowMs: values.RECENT_AUTH_WINDOW,
    pendingSignInTimeoutMs: values.PENDING_SIGN_IN_TIMEOUT,
    sessionIdleTimeoutMs: values.SESSION_IDLE_TIMEOUT,
    sessionAbsoluteTimeoutMs: values.SESSION_ABSOLUTE_TIMEOUT,
    pruneIntervalMs: values.PRUNE_INTERVAL,
    attemptRetentionMs: values.ATTEMPT_RETENTION,
    auditRetentionMs: values.AUDIT_RETENTION,
    dbStatementTimeoutMs: values.DB_STATEMENT_TIMEOUT,
    logLevel: values.LOG_LEVEL,
    notes: Object.freeze(notes),
  });
}

/** A host name equal to `domain` or below it (`a.example.com` under `example.com`). */
export function isUnderDomain(hostname: string, domain: string): boolean {
  const host = hostname.toLowerCase();
  return host === domain || host.endsWith(`.${domain}`);
}

function redactIfSecret(name: string, value: unknown): string {
  if (/SECRET|KEY|DATABASE_URL/.test(name)) return '…redacted…';
  return String(value);
}
