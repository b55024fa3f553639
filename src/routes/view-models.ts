/**
 * What the settings page and the admin's user page show of sessions, trusted browsers and
 * activity, made once.
 */
import type { Request } from 'express';
import type { ActivityEntry } from '../auth/activity.ts';
import type { SessionSummary } from '../auth/sessions.ts';
import type { TrustedBrowser } from '../auth/trusted-browsers.ts';
import { day, describeUserAgent, timeAgo, when, whereFrom } from '../format.ts';
import type { Reader } from '../messages/index.ts';

export function sessionRows(sessions: SessionSummary[], now: number) {
  return sessions.map((session) => {
    const device = describeUserAgent(session.userAgent);
    return {
      ...session,
      device: device.charAt(0).toUpperCase() + device.slice(1),
      signedIn: session.createdAt ? when(session.createdAt, now) : null,
      lastSeen: session.lastSeenAt ? timeAgo(session.lastSeenAt, now) : 'unknown',
    };
  });
}

export function trustedBrowserRows(browsers: TrustedBrowser[], now: number) {
  return browsers.map((browser) => {
    const device = describeUserAgent(browser.userAgent);
    return {
      id: browser.id,
      current: browser.current,
      device: device.charAt(0).toUpperCase() + device.slice(1),
      trusted: when(browser.createdAt, now),
      lastUsed: timeAgo(browser.lastUsedAt, now),
      until: day(browser.expiresAt),
    };
  });
}

export interface ActivityRow {
  text: string;
  /** The newest of the grouped events. */
  at: Date;
  /** "today 08:16 UTC", or a range for a group: "today 10:02–10:04 UTC". */
  when: string;
  where: string;
  count: number;
}

/** Two lines that say the same thing twice: the hint that came with a wrong code, and the
 * recovery code that a "signed in with a recovery code" line already names. */
function isEcho(entry: ActivityEntry, neighbours: (ActivityEntry | undefined)[]): boolean {
  if (entry.event === 'clock_drift_hint') return true;
  if (entry.event !== 'recovery_code_used') return false;
  return neighbours.some(
    (other) =>
      other?.event === 'sign_in' &&
      other.details.method === 'recovery_code' &&
      Math.abs(other.at.getTime() - entry.at.getTime()) < 5_000,
  );
}

/**
 * A person's activity in words for `reader`, newest first: echoes dropped, and runs of the same
 * event from the same place folded into one line with a count and a time range.
 */
export function activityRows(
  req: Request,
  entries: ActivityEntry[],
  reader: Reader,
  now: number,
): ActivityRow[] {
  const rows: (ActivityRow & { oldest: Date })[] = [];
  entries.forEach((entry, i) => {
    if (isEcho(entry, [entries[i - 1], entries[i + 1]])) return;
    const text = req.t.activity(entry, reader);
    // An administrator's action happened on their device, not the person's: say nothing of where.
    const where = entry.byAdmin ? '' : whereFrom(entry.ip, entry.userAgent);
    const last = rows[rows.length - 1];
    if (last && last.text === text && last.where === where) {
      last.count += 1;
      last.oldest = entry.at;
      return;
    }
    rows.push({ text, at: entry.at, oldest: entry.at, when: '', where, count: 1 });
  });
  return rows.map(({ oldest, ...row }) => ({
    ...row,
    text: row.count > 1 ? req.t.activityRepeated(row.text, row.count) : row.text,
    when: row.count > 1 ? req.t.timeRange(oldest, row.at, now) : when(row.at, now),
  }));
}
