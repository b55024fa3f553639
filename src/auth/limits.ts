/**
 * Every fixed limit in one place (see README, "Security model"). The windows and timeouts people
 * may want to tune are in config.ts; these are part of the design.
 */

/**
 * Limits on every password check (sign-in, confirm-it's-you, turning 2FA off, changing the
 * password). Enforced in auth/throttle.ts, atomically with the check (see reservePasswordAttempt).
 */
export const PASSWORD_LIMITS = {
  /** Failures from one IP on one account within the window, before delays start. */
  accountIpFailures: 10,
  accountIpWindowMs: 15 * 60_000,
  /** The delay after the 10th failure, doubling with each further one, capped. */
  firstDelayMs: 60_000,
  maxDelayMs: 15 * 60_000,
  /** Consecutive failures on one account (any IP) that lock it: NIST SP 800-63B-4 caps this at 100. */
  accountFailures: 100,
  accountLockMs: 60 * 60_000,
  /** An IP that signed in to the account successfully within this time is not locked out by it. */
  knownIpMs: 30 * 86_400_000,
  /** Failures from one IP across all accounts within the window (credential stuffing). */
  ipFailures: 100,
  ipWindowMs: 15 * 60_000,
  /**
   * An attempt whose outcome decides this one's waits for it at most this long, then counts it as
   * a failure; one reserved longer ago than `inFlightStaleMs` (its request died) always is one.
   */
  inFlightWaitMs: 5_000,
  inFlightStaleMs: 30_000,
  inFlightPollMs: 20,
} as const;

/** How long a "too many attempts" page (429) is held back (see middleware/throttled.ts). */
export const THROTTLED_RESPONSE_DELAY_MS = 1000;
/** Wrong codes that end one pending sign-in (back to the password step). */
export const PENDING_MAX_FAILURES = 5;
/** Failed second-factor attempts per account within the window that lock the second step. */
export const ACCOUNT_SECOND_FACTOR_MAX_FAILURES = 10;
export const ACCOUNT_SECOND_FACTOR_WINDOW_MS = 15 * 60_000;
/** Wrong confirmation codes that discard an enrolment in progress. */
export const ENROLMENT_MAX_FAILURES = 5;
/** How long an enrolment (the secret shown as a QR code) may wait for its first code. */
export const ENROLMENT_TIMEOUT_MS = 10 * 60_000;
/** How long fresh recovery codes stay viewable and downloadable before "I have saved them". */
export const FRESH_CODES_TIMEOUT_MS = 10 * 60_000;
/** Recovery codes left at which settings warn the person to make new ones. */
export const LOW_RECOVERY_CODES = 3;
/**
 * Lifetime of a session that holds no sign-in (only a form's CSRF secret or a message): short, so
 * that bots fetching the sign-in page leave rows the pruning job removes within its interval. A
 * form left open longer shows "this form has expired" with a link back.
 */
export const ANONYMOUS_SESSION_TTL_MS = 10 * 60_000;
/**
 * Lifetime of an anonymous form's CSRF cookie (sign-in, setup: see middleware/csrf.ts). Showing
 * such a form stores nothing on the server; a form left open longer says "this form has expired"
 * and comes back with a fresh token.
 */
export const ANONYMOUS_FORM_TTL_MS = 10 * 60_000;
/** How stale a session's lastSeenAt may get before it is saved: one session write a minute. */
export const LAST_SEEN_PRECISION_MS = 60_000;
/** Largest form body accepted: far above any real form, far below anything that costs memory. */
export const FORM_BODY_LIMIT = '32kb';
/** Most fields a form body may have. */
export const FORM_PARAMETER_LIMIT = 50;
/** Users per page of the admin's user list. */
export const USER_LIST_PAGE_SIZE = 50;
/** Lines of security activity on the settings page, and events on the page of all of it. */
export const ACTIVITY_ON_SETTINGS = 10;
export const ACTIVITY_PAGE = 200;

/**
 * The OpenID provider's lifetimes (see README, "Sign in with Keygate"). Access tokens are short,
 * so that a revoked person's tokens die soon even at an app that caches them; refresh tokens and
 * grants live no longer than Keygate's own absolute session timeout (given by config).
 */
export const OIDC_LIMITS = {
  authorizationCodeSeconds: 60,
  accessTokenSeconds: 10 * 60,
  idTokenSeconds: 60 * 60,
  /** A sign-in request waiting for the person (sign-in, code, consent). */
  interactionSeconds: 30 * 60,
  /** How often a running instance looks for a signing key rotated by another one. */
  keyReloadMs: 60_000,
} as const;

/**
 * Password reset requests ("Forgot your password?"), counted in auth_attempts per address typed
 * (known or not, so the limit says nothing about who exists) and per IP.
 */
export const PASSWORD_RESET_LIMITS = {
  perAddress: 3,
  perIp: 20,
  windowMs: 60 * 60_000,
} as const;
/**
 * A pending password reset (after its link) lasts at most this long in the session: the lifetime
 * of a session without a sign-in (ANONYMOUS_SESSION_TTL_MS), which is what that session is.
 */
export const PASSWORD_RESET_SESSION_MS = ANONYMOUS_SESSION_TTL_MS;
/** How long an email-change confirmation link works. */
export const EMAIL_CHANGE_TTL_MS = 24 * 60 * 60_000;
/** A device and IP not seen for this long is a new device (a notice mail). */
export const NEW_DEVICE_WINDOW_MS = 30 * 86_400_000;
/** "Password right, code wrong" mails: at most one in this time per account. */
export const WRONG_SECOND_FACTOR_MAIL_INTERVAL_MS = 60 * 60_000;

/** The mail worker (src/mail/worker.ts). */
export const MAIL_DELIVERY = {
  /** How often the outbox is looked at. */
  pollMs: 5_000,
  /** Mails claimed at once by one worker. */
  batch: 20,
  /** A claimed mail whose worker died is claimed again after this. */
  claimMs: 5 * 60_000,
  /** Retries: 30 s, doubling, at most an hour apart; after the last try a mail is "failed". */
  firstRetryMs: 30_000,
  maxRetryMs: 60 * 60_000,
  maxAttempts: 10,
  /** Sent, failed and skipped mails are kept this long (then pruned with the other records). */
  retentionMs: 7 * 86_400_000,
} as const;
