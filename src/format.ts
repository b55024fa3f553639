/**
 * How times, durations, counts and devices read on a page. Every view and message formats through
 * here, so changing how a date reads (or adding a language) is one edit.
 */

const DAY_MS = 86_400_000;
const longDay = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

/** Days already written out (a list of users repeats a few hundred days): Intl is slow per call. */
const dayNames = new Map<number, string>();

/** "8 December 2026": a calendar day (UTC). */
export function day(date: Date): string {
  const number = Math.floor(date.getTime() / DAY_MS);
  let name = dayNames.get(number);
  if (name === undefined) {
    if (dayNames.size >= 4096) dayNames.clear();
    name = longDay.format(date);
    dayNames.set(number, name);
  }
  return name;
}

/** "8 December 2026, 08:16 UTC": a moment to the minute. */
export function dayAndTime(date: Date): string {
  return `${day(date)}, ${clockTime(date)}`;
}

/** "today 08:16 UTC", "yesterday 23:05 UTC", else "8 December 2026, 08:16 UTC". */
export function when(date: Date, now: number): string {
  const days = Math.floor(now / DAY_MS) - Math.floor(date.getTime() / DAY_MS);
  if (days === 0) return `today ${clockTime(date)}`;
  if (days === 1) return `yesterday ${clockTime(date)}`;
  return dayAndTime(date);
}

/** "8 December 2026 (in 7 days)": a day still to come, and how far off it is. */
export function deadline(date: Date, now: number): string {
  const days = Math.ceil((date.getTime() - now) / DAY_MS);
  const inWords = days <= 0 ? 'today' : days === 1 ? 'tomorrow' : `in ${days} days`;
  return `${day(date)} (${inWords})`;
}

/** "08:16 UTC": a time later today. */
export function clockTime(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/** "sessions" for 3, "session" for 1: the noun alone, for when the count is marked up apart. */
export function noun(count: number, one: string, many = `${one}s`): string {
  return count === 1 ? one : many;
}

/** "3 sessions", "1 session". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "30 days", "1 day", "12 hours", "45 minutes": a length of time, in its largest whole unit. */
export function lengthOfTime(ms: number): string {
  if (ms >= DAY_MS && ms % DAY_MS === 0) return plural(ms / DAY_MS, 'day');
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return plural(ms / 3_600_000, 'hour');
  return plural(Math.max(1, Math.round(ms / 60_000)), 'minute');
}

/** "in 3 minutes": when something may be tried again, in words. */
export function inAWhile(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes >= 55) return 'in about an hour';
  return minutes === 1 ? 'in a minute' : `in ${minutes} minutes`;
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

/** "5 minutes ago", "yesterday". */
export function timeAgo(then: Date, now: number): string {
  const elapsed = now - then.getTime();
  if (elapsed < 60_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (elapsed >= ms) return relative.format(-Math.floor(elapsed / ms), unit);
  }
  return 'just now';
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

/** "from 203.0.113.7, Firefox on Linux", or empty. */
export function whereFrom(ip: string | null, userAgent: string | null): string {
  const parts = [ip ? `from ${ip}` : null, userAgent ? describeUserAgent(userAgent) : null].filter(
    Boolean,
  );
  return parts.join(', ');
}
