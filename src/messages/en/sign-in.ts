import type { SinceLastSignIn } from '../../auth/sign-in.ts';
import { clockTime, inAWhile, plural } from '../../format.ts';
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
  throttled: (retryInMs: number) =>
    `Too many sign-in attempts. Try again ${inAWhile(retryInMs)}, or ask your administrator to unlock sign-in for your account.`,
  wrongCredentials: () =>
    'The email address or password is not right. Check them and try again (is Caps Lock off?).',
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
  locked: (until: Date) =>
    `Too many wrong codes for this account. For your safety, codes are refused until ${clockTime(until)}. If this was not you, change your password.`,
  wrongCode: (kind: CodeKind, driftMinutes: number | null) => {
    let text =
      kind === 'totp'
        ? 'That code is not right. Enter the 6-digit code your app shows now.'
        : `That ${kind === 'recovery_code' ? 'recovery code' : 'code'} is not right. Check it and try again.`;
    if (driftMinutes) {
      const minutes = Math.abs(driftMinutes);
      text += ` Your device's clock looks ${driftMinutes > 0 ? 'ahead' : 'behind'} by about ${plural(minutes, 'minute')}: set it to update automatically, then try a new code.`;
    }
    return text;
  },
} as const;

/** "Confirm it's you" and turning 2FA off: the password (and code) fields. */
export const reauthentication = {
  throttled: () => 'Too many attempts. Wait a while and try again.',
  wrongPassword: () => 'That password is not right.',
  enterCode: () => 'Enter a code from your app or a recovery code.',
} as const;
