/** What the settings page and the admin's user page show of sessions and activity, made once. */
import type { Request } from 'express';
import type { ActivityEntry } from '../auth/activity.ts';
import type { SessionSummary } from '../auth/sessions.ts';
import { describeUserAgent, timeAgo, whereFrom } from '../format.ts';
import type { Reader } from '../messages/index.ts';

export function sessionRows(sessions: SessionSummary[], now: number) {
  return sessions.map((session) => ({
    ...session,
    device: describeUserAgent(session.userAgent),
    lastSeen: session.lastSeenAt ? timeAgo(session.lastSeenAt, now) : 'unknown',
  }));
}

export function activityRows(req: Request, entries: ActivityEntry[], reader: Reader, now: number) {
  return entries.map((entry) => ({
    text: req.t.activity(entry, reader),
    at: entry.at,
    ago: timeAgo(entry.at, now),
    // An administrator's action happened on their device, not the person's: say nothing of where.
    where: entry.byAdmin ? '' : whereFrom(entry.ip, entry.userAgent),
  }));
}
