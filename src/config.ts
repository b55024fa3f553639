import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KeyRing } from './auth/encryption.ts';
import { KEY_HINT, parseEncryptionKey, schema, type NotificationKind } from './config-schema.ts';
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
  /**
   * "Don't ask for a code on this browser": how long a trusted browser skips the code (0: the
   * feature is off), and whose browsers may be trusted (`users`: everyone but administrators).
   */
  readonly trustedBrowserDurationMs: number;
  readonly trustedBrowsers: 'all' | 'users' | 'off';
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
  /** LOG_FORMAT; null: readable lines in development at a terminal, JSON otherwise (logger.ts). */
  readonly logFormat: 'pretty' | 'json' | null;
  /** The Prometheus metrics listener (GET /metrics), or null when off (the default). */
  readonly metrics: { readonly port: number; readonly host: string } | null;
  /**
   * How mail leaves: over SMTP, printed to the terminal (development without SMTP_URL), or not at
   * all (production without SMTP_URL: reset by email is off). `from` is MAIL_FROM.
   */
  readonly mail: {
    readonly transport: 'smtp' | 'console' | 'off';
    readonly smtpUrl: string | null;
    readonly from: string;
  };
  /** How long a password reset link works. */
  readonly passwordResetTtlMs: number;
  /** The security notifications that are sent (NOTIFICATIONS). */
  readonly notifications: ReadonlySet<NotificationKind>;
  /** Things worth one log line at boot (generated development secrets). */
  readonly notes: readonly string[];
}

export class ConfigError extends Error {}

export { CONFIG_VARIABLES, parseDuration, parseEncryptionKey } from './config-schema.ts';
export type { NotificationKind } from './config-schema.ts';

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
  const smtpUrl = values.SMTP_URL ?? null;
  const transport = smtpUrl ? 'smtp' : isProduction ? 'off' : 'console';
  if (transport === 'off')
    notes.push('SMTP_URL is not set: password reset by email and security notifications are off');
  const mailFrom = values.MAIL_FROM ?? `${values.APP_NAME} <noreply@${new URL(baseUrl).hostname}>`;
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
    trustedBrowserDurationMs: values.TRUSTED_BROWSER_DURATION,
    trustedBrowsers: values.TRUSTED_BROWSERS,
    recentAuthWindowMs: values.RECENT_AUTH_WINDOW,
    pendingSignInTimeoutMs: values.PENDING_SIGN_IN_TIMEOUT,
    sessionIdleTimeoutMs: values.SESSION_IDLE_TIMEOUT,
    sessionAbsoluteTimeoutMs: values.SESSION_ABSOLUTE_TIMEOUT,
    pruneIntervalMs: values.PRUNE_INTERVAL,
    attemptRetentionMs: values.ATTEMPT_RETENTION,
    auditRetentionMs: values.AUDIT_RETENTION,
    dbStatementTimeoutMs: values.DB_STATEMENT_TIMEOUT,
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT ?? null,
    metrics:
      values.METRICS_PORT === undefined
        ? null
        : Object.freeze({ port: values.METRICS_PORT, host: values.METRICS_HOST }),
    mail: Object.freeze({ transport, smtpUrl, from: mailFrom }),
    passwordResetTtlMs: values.PASSWORD_RESET_TTL,
    notifications: new Set(values.NOTIFICATIONS) as ReadonlySet<NotificationKind>,
    notes: Object.freeze(notes),
  });
}

/** A host name equal to `domain` or below it (`a.example.com` under `example.com`). */
export function isUnderDomain(hostname: string, domain: string): boolean {
  const host = hostname.toLowerCase();
  return host === domain || host.endsWith(`.${domain}`);
}

function redactIfSecret(name: string, value: unknown): string {
  if (/SECRET|KEY|DATABASE_URL|SMTP_URL/.test(name)) return '…redacted…';
  return String(value);
}
