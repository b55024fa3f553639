import { plural } from '../../format.ts';
import { paths } from '../../paths.ts';
import type { PageText } from './sign-in.ts';

function lasting(ms: number): string {
  return ms % 3_600_000 === 0
    ? plural(ms / 3_600_000, 'hour')
    : plural(Math.round(ms / 60_000), 'minute');
}

/** "Forgot your password?" and the pages of a reset link. */
const passwordResetOff =
  'Password reset by email is not available on this site. Ask your administrator to set a temporary password for you.';
const linkNotValid =
  'This reset link does not work any more: it was used, it expired, a newer link was sent, or the password was changed since. Ask for a new one.';

export const passwordReset = {
  sent: (ttlMs: number) =>
    `If an account exists for that address, we have sent it a link to reset the password. The link works once, for ${lasting(ttlMs)}. No mail? Check the address and your spam folder, or ask your administrator.`,
  throttled: () =>
    'Too many reset requests for this address or from your network. Wait an hour and try again, or ask your administrator.',
  lostBoth: () =>
    'Lost your authenticator app and your recovery codes too? Ask your administrator: a reset by email never turns two-factor authentication off.',
  off: () => passwordResetOff,
  linkNotValid: () => linkNotValid,
  startAgain: () => 'Open the link from your mail again, or ask for a new one.',
  tookTooLong: () =>
    'That took too long. Open the link from your mail again, or ask for a new one.',
  tooManyWrongCodes: () =>
    'Too many wrong codes, so the reset was stopped. Open the link from your mail again to try once more.',
  signedIn: () => 'You are signed in: change your password here.',
  done: () =>
    'Your password was reset and every session of your account was signed out. Sign in with your new password.',
  offPage: (): PageText => ({
    title: 'Password reset is not available',
    message: passwordResetOff,
    link: { href: paths.signIn, text: 'Back to sign-in' },
  }),
  linkPage: (): PageText => ({
    title: 'This link does not work',
    message: linkNotValid,
    link: { href: paths.forgotPassword, text: 'Ask for a new link' },
  }),
} as const;
