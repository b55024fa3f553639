import type { Db } from '../db/knex.ts';
import type { AuditEventName } from './audit.ts';

export interface ActivityEntry {
  text: string;
  at: Date;
  ago: string;
  /** "from 203.0.113.7, Firefox on Linux", or empty. */
  where: string;
}

interface EventRow {
  event: AuditEventName;
  created_at: Date;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  actor_id: string | null;
  user_id: string | null;
}

const METHOD_WORDS: Record<string, string> = {
  password: 'with your password',
  totp: 'with your password and a code from your app',
  recovery_code: 'with your password and a recovery code',
};

function sentence(row: EventRow): string {
  const byAdmin =
    (row.actor_id !== null && row.actor_id !== row.user_id) || row.details.via === 'command line';
  switch (row.event) {
    case 'sign_in':
      return `Signed in ${METHOD_WORDS[String(row.details.method)] ?? ''}`.trim();
    case 'sign_in_failed':
      return row.details.reason === 'account_inactive'
        ? 'Someone tried to sign in while the account was deactivated'
        : 'Someone tried to sign in with a wrong password';
    case 'sign_out':
      return 'Signed out';
    case 'second_factor_failed':
      return row.details.during === 'sign_in'
        ? 'Someone entered the right password but a wrong code'
        : "A wrong code was entered while confirming it's you";
    case 'second_factor_locked':
      return 'Codes were refused for 15 minutes after too many wrong ones';
    case 'recovery_code_used':
      return 'A recovery code was used';
    case 'clock_drift_hint':
      return `A code came from a device whose clock was off by about ${Math.abs(Number(row.details.minutes))} minutes`;
    case 'two_factor_enabled':
      return 'Two-factor authentication was turned on';
    case 'two_factor_disabled':
      return 'Two-factor authentication was turned off';
    case 'two_factor_reset_by_admin':
      return 'An administrator reset your two-factor authentication';
    case 'recovery_codes_regenerated':
      return 'New recovery codes were made';
    case 'reauthenticated':
      return "Confirmed it's you";
    case 'password_changed':
      return 'The password was changed';
    case 'user_created':
      return byAdmin ? 'An administrator created the account' : 'The account was created';
    case 'first_admin_created':
      return 'The account was created as the first administrator';
    case 'user_deactivated':
      return 'An administrator deactivated the account';
    case 'user_reactivated':
      return 'An administrator reactivated the account';
    case 'role_changed':
      return row.details.to === 'admin'
        ? 'An administrator made the account an administrator'
        : 'An administrator removed administrator rights';
    case 'sessions_ended':
      return byAdmin
        ? 'An administrator signed out all sessions'
        : 'Other sessions were signed out';
    case 'sign_in_unlocked':
      return 'An administrator unlocked sign-in after too many wrong passwords';
    case 'temporary_password_set':
      return 'An administrator set a temporary password, to be changed at the next sign-in';
    default:
      return String(row.event).replace(/_/g, ' ');
  }
}

/** "Firefox on Linux": enough to recognise a device, without a parsing library. */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'an unknown browser';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /OPR\//.test(userAgent)
      ? 'Opera'
      : /Firefox\//.test(userAgent)
        ? 'Firefox'
        : /Chrome\/|Chromium\//.test(userAgent)
          ? 'Chrome'
          : /Safari\//.test(userAgent)
            ? 'Safari'
            : /^curl\//.test(userAgent)
              ? 'curl'
              : /node|undici|superagent/i.test(userAgent)
                ? 'a script'
                : 'a browser';
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad|iOS/.test(userAgent)
      ? 'iOS'
      : /Windows/.test(userAgent)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(userAgent)
          ? 'macOS'
          : /CrOS/.test(userAgent)
            ? 'ChromeOS'
            : /Linux/.test(userAgent)
              ? 'Linux'
              : null;
  return system ? `${browser} on ${system}` : browser;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function timeAgo(then: Date, now: number): string {
  const elapsed = now - then.getTime();
  if (elapsed < 60_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (elapsed >= ms) return relative.format(-Math.floor(elapsed / ms), unit);
  }
  return 'just now';
}

export function whereFrom(ip: string | null, userAgent: string | null): string {
  const parts = [ip ? `from ${ip}` : null, userAgent ? describeUserAgent(userAgent) : null].filter(
    Boolean,
  );
  return parts.join(', ');
}

/** The last `limit` security events of a user, in plain words, newest first. */
export async function recentActivity(
  db: Db,
  userId: string,
  now: number,
  limit = 30,
): Promise<ActivityEntry[]> {
  const rows: EventRow[] = await db('audit_events')
    .where({ user_id: userId })
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .select('event', 'created_at', 'ip', 'user_agent', 'details', 'actor_id', 'user_id');
  return rows.map((row) => ({
    text:
      sentence({
        ...row,
        actor_id: row.actor_id && String(row.actor_id),
        user_id: row.user_id && String(row.user_id),
      }) + (row.details.via === 'command line' ? ' (from the command line)' : ''),
    at: row.created_at,
    ago: timeAgo(row.created_at, now),
    // An administrator's action happened on their device, not the person's: say nothing of where.
    where:
      row.actor_id !== null && String(row.actor_id) !== String(row.user_id)
        ? ''
        : whereFrom(row.ip, row.user_agent),
  }));
}
