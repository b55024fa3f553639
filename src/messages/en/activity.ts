import type { ActivityEntry } from '../../auth/activity.ts';
import { clockTime, when } from '../../format.ts';

/** Who reads an activity list: the person about themself, or an administrator about them. */
export type Reader = 'self' | 'admin';

const METHOD_WORDS: Record<Reader, Record<string, string>> = {
  self: {
    password: 'with your password',
    totp: 'with your password and a code from your app',
    recovery_code: 'with your password and a recovery code',
    trusted_browser: 'with your password and a trusted browser',
  },
  admin: {
    password: 'with their password',
    totp: 'with their password and a code from their app',
    recovery_code: 'with their password and a recovery code',
    trusted_browser: 'with their password and a trusted browser',
  },
};

/** One line of a person's security activity, in words for `reader`. */
export function activitySentence(entry: ActivityEntry, reader: Reader): string {
  const text = sentence(entry, reader);
  return entry.viaCommandLine ? `${text} (from the command line)` : text;
}

function sentence(entry: ActivityEntry, reader: Reader): string {
  const { details, byAdmin } = entry;
  const your = reader === 'self' ? 'your' : 'their';
  switch (entry.event) {
    case 'sign_in': {
      const text = `Signed in ${METHOD_WORDS[reader][String(details.method)] ?? ''}`.trim();
      return details.trustedBrowser ? `${text}, and trusted the browser` : text;
    }
    case 'sign_in_failed':
      return details.reason === 'account_inactive'
        ? 'Someone tried to sign in while the account was deactivated'
        : 'Someone tried to sign in with a wrong password';
    case 'sign_out':
      return 'Signed out';
    case 'second_factor_failed':
      return details.during === 'sign_in'
        ? 'Someone entered the right password but a wrong code'
        : reader === 'self'
          ? "A wrong code was entered while confirming it's you"
          : 'A wrong code was entered while confirming their identity';
    case 'second_factor_locked':
      return 'Codes were refused for 15 minutes after too many wrong ones';
    case 'recovery_code_used':
      return 'A recovery code was used';
    case 'clock_drift_hint':
      return `A code came from a device whose clock was off by about ${Math.abs(Number(details.minutes))} minutes`;
    case 'two_factor_enabled':
      return 'Two-factor authentication was turned on';
    case 'two_factor_disabled':
      return 'Two-factor authentication was turned off';
    case 'two_factor_reset_by_admin': {
      const reason = typeof details.reason === 'string' && details.reason ? details.reason : null;
      const base = `An administrator reset ${your} two-factor authentication`;
      return reader === 'admin' && reason ? `${base} (reason: “${reason}”)` : base;
    }
    case 'recovery_codes_regenerated':
      return 'New recovery codes were made';
    case 'reauthenticated':
      return reader === 'self' ? "Confirmed it's you" : 'Confirmed their identity';
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
      return details.to === 'admin'
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
    case 'group_added':
      return `An administrator added the account to the group ${String(details.group)}`;
    case 'group_removed':
      return `An administrator removed the account from the group ${String(details.group)}`;
    case 'trusted_browsers_forgotten':
      return details.which === 'one'
        ? 'A trusted browser was forgotten'
        : byAdmin
          ? 'An administrator forgot all trusted browsers'
          : 'All trusted browsers were forgotten';
    case 'password_reset':
      return 'The password was reset with a link sent by email';
    case 'email_changed':
      return byAdmin
        ? `An administrator changed the email address to ${String(details.to)}`
        : `The email address was changed to ${String(details.to)}`;
    case 'gate_denied':
      return `Was refused entry to ${String(details.app)}`;
    case 'oidc_tokens_issued':
      return `Signed in to ${String(details.app)}`;
    case 'oidc_tokens_refreshed':
      return `${String(details.app)} renewed its sign-in`;
    case 'oidc_grant_revoked':
      return `The sign-in to ${String(details.app)} was ended (${String(details.reason).replace(/_/g, ' ')})`;
    default:
      return String(entry.event).replace(/_/g, ' ');
  }
}

/** A line that happened several times in a row: "Signed out (3 times)". */
export function activityRepeated(text: string, count: number): string {
  return `${text} (${count} times)`;
}

/** "today 10:02–10:04 UTC" for events on one day, else "from … to …". */
export function timeRange(from: Date, to: Date, now: number): string {
  const start = when(from, now);
  const sameDay = from.toISOString().slice(0, 10) === to.toISOString().slice(0, 10);
  if (!sameDay) return `${start} to ${when(to, now)}`;
  if (clockTime(from) === clockTime(to)) return start;
  return `${start.replace(/ UTC$/, '')}–${clockTime(to)}`;
}
