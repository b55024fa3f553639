import type { SinceLastSignIn } from '../../auth/sign-in.ts';
import { clockTime, inAWhile, lengthOfTime, plural } from '../../format.ts';
import { paths } from '../../paths.ts';

/** A page's heading and text, for errors that replace the page, and where to go instead. */
export interface PageText {
  title: string;
  message: string;
  link?: { href: string; text: string };
}

/** A notice and the links where the person does what it asks. */
export interface Notice {
  text: string;
  links?: { href: string; text: string }[];
}

/** The kinds of code a form asks for. */
export type CodeKind = 'totp' | 'recovery_code' | 'either';

export const session = {
  expired: () => 'You were signed out because your session expired. Please sign in again.',
} as const;

export const signIn = {
  signedOut: () => 'You have signed out.',
  throttled: (retryAt: Date, now: number) =>
    `Too many sign-in attempts. Try again ${inAWhile(retryAt.getTime() - now)} (at ${clockTime(retryAt)}), or ask your administrator to unlock sign-in for your account.`,
  wrongCredentials: (triesLeft: number) => {
    const text =
      'The email address or password is not right. Check them, and check that Caps Lock is off.';
    return triesLeft <= 2 && triesLeft > 0
      ? `${text} ${plural(triesLeft, 'try', 'tries')} left before sign-in is paused.`
      : text;
  },
  /** The checkbox on the code forms (TRUSTED_BROWSER_DURATION). */
  trustBrowser: (durationMs: number) =>
    `Don't ask for a code on this browser for ${lengthOfTime(durationMs)}`,
  passwordFirst: () => 'Sign in with your email address and password first.',
  formWasOpen: () => 'This page was open for a while. Enter your password again.',
  codeFormWasOpen: () => 'This page was open for a while. Enter a new code.',
  tookTooLong: () => 'That took too long, so the sign-in was cancelled. Please sign in again.',
  again: () => 'Please sign in again.',
  tooManyWrongCodes: () =>
    'Too many wrong codes, so the sign-in was cancelled. Please sign in again.',
  /** What the person is told when a sign-in completes (ASVS 6.3.5), with where to act; or null. */
  sinceLastVisit: ({ failedSecondSteps, resetByAdmin }: SinceLastSignIn): Notice | null => {
    const notices: string[] = [];
    const links: Notice['links'] = [];
    if (failedSecondSteps > 0) {
      const times = failedSecondSteps === 1 ? 'once' : `${failedSecondSteps} times`;
      notices.push(
        `Since your last visit, someone entered your password correctly but failed the second step ${times}. If that was not you, change your password now.`,
      );
      links.push({ href: paths.password, text: 'Change your password' });
    }
    if (resetByAdmin) {
      notices.push(
        'An administrator reset your two-factor authentication. Turn it on again in your settings.',
      );
      links.push({ href: paths.twoFactorSetup, text: 'Turn on two-factor authentication' });
    }
    return notices.length ? { text: notices.join(' '), links } : null;
  },
  /** After the first administrator is made: what to do next. */
  welcome: (appName: string): Notice => ({
    text: `Welcome to ${appName}. Next: protect your own account with two-factor authentication, then create accounts for the people who will use it.`,
    links: [
      { href: paths.twoFactorSetup, text: 'Turn on two-factor authentication' },
      { href: paths.adminNewUser, text: 'Create a user' },
    ],
  }),
} as const;

export const secondFactor = {
  unavailable: (): PageText => ({
    title: 'Two-factor authentication is temporarily unavailable',
    message: 'Keygate cannot check codes right now. Please contact your administrator.',
  }),
  locked: (until: Date, now: number) =>
    `Too many wrong codes for this account. Try again ${inAWhile(until.getTime() - now)} (at ${clockTime(until)}). If this was not you, change your password.`,
  wrongCode: (kind: CodeKind, options: { alreadyUsed?: boolean; triesLeft?: number } = {}) => {
    const text = options.alreadyUsed
      ? 'That recovery code was already used. Each code works once: enter another one.'
      : kind === 'totp'
        ? 'That code is not right. Enter the 6-digit code your app shows now.'
        : `That ${kind === 'recovery_code' ? 'recovery code' : 'code'} is not right. Check it and try again.`;
    const left = options.triesLeft;
    return left !== undefined && left <= 2 && left > 0
      ? `${text} ${plural(left, 'try', 'tries')} left.`
      : text;
  },
  /** Said apart from the error, as a neutral note: the device's clock is behind. */
  driftNote: (driftMinutes: number) => {
    const minutes = Math.abs(driftMinutes);
    return `Your device's clock looks ${driftMinutes > 0 ? 'ahead' : 'behind'} by about ${plural(minutes, 'minute')}: set it to update automatically, then try a new code.`;
  },
} as const;

/** "Confirm it's you" and turning 2FA off: the password (and code) fields. */
export const reauthentication = {
  throttled: () => 'Too many attempts. Wait a while and try again.',
  wrongPassword: () => 'That password is not right.',
  enterCode: () => 'Enter a code from your app or a recovery code.',
} as const;
