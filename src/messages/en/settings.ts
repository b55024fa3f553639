import { deadline, plural } from '../../format.ts';
import type { PageText } from './sign-in.ts';

export const settings = {
  passwordThrottled: () => 'Too many attempts. Wait a while and try again.',
  wrongCurrentPassword: () => 'That is not your current password.',
  passwordChanged: (endedSessions: number) =>
    endedSessions
      ? `Your password was changed and your ${endedSessions === 1 ? '1 other session was' : `${endedSessions} other sessions were`} signed out.`
      : 'Your password was changed.',
  sessionEnded: (ended: boolean) =>
    ended ? 'That session was signed out.' : 'That session had already ended.',
  trustedBrowsersForgotten: (count: number, which: 'one' | 'all') =>
    count === 0
      ? 'That browser had already been forgotten.'
      : which === 'one'
        ? 'That browser was forgotten: it will be asked for a code at its next sign-in.'
        : `Forgot ${plural(count, 'trusted browser')}: each will be asked for a code at its next sign-in.`,
  otherSessionsEnded: (count: number) =>
    count ? `Signed out ${plural(count, 'other session')}.` : 'There were no other sessions.',
} as const;

export const twoFactorSettings = {
  alreadyOn: () => 'Two-factor authentication is already on.',
  setupExpired: () => 'That setup expired. Start again to get a new key.',
  tooManyWrongCodes: () =>
    'Too many wrong codes, so that key was discarded. Start again with a new one.',
  enterCode: () => 'Enter the 6-digit code your app shows for Keygate.',
  enabled: () => 'Two-factor authentication is on. Save your recovery codes now.',
  nothingToDownload: (): PageText => ({
    title: 'Nothing to download',
    message:
      'Recovery codes can be downloaded only right after they are made. Make a new set from your settings.',
  }),
  /** The downloadable recovery codes file, line by line. */
  recoveryCodesFile: (appName: string, email: string, codes: string[]) => [
    `${appName} recovery codes for ${email}`,
    'Each code works once. Keep them somewhere safe.',
    '',
    ...codes,
    '',
  ],
  regenerated: () => 'New recovery codes are ready. Your old ones no longer work.',
  disabled: () => 'Two-factor authentication is off. Your other sessions were signed out.',
} as const;

/** The 2FA policy, as the person covered by it reads it (admins set it, so "this site" to them). */
export const policy = {
  grace: (by: Date, now: number, reader: { isAdmin: boolean }) =>
    `${reader.isAdmin ? 'This site requires' : 'Your administrator requires'} two-factor authentication. Turn it on by ${deadline(by, now)} to keep access.`,
  enforced: (appName: string, reader: { isAdmin: boolean }) =>
    `${reader.isAdmin ? 'This site requires' : 'Your administrator requires'} two-factor authentication. Turn it on to continue using ${appName}.`,
} as const;
