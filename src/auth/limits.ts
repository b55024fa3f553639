/**
 * Every fixed limit in one place (see README, "Security model"). The windows and timeouts people
 * may want to tune are in config.ts; these are part of the design.
 */

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
