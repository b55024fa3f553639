import { dayAndTime, describeUserAgent, inAWhile, plural } from '../../format.ts';
import { paths } from '../../paths.ts';

/**
 * The words of every mail. A mail is said from facts kept in the outbox (src/auth/outbox.ts);
 * src/mail/render.ts adds the site's name and address and makes the text and HTML parts.
 */
export interface MailText {
  subject: string;
  paragraphs: string[];
  /** The one thing to do, as a link (a path on the portal, or a full link). */
  action?: { text: string; href: string };
}

/** What every notice says about the event: when, and from where. */
export interface MailFacts {
  at: Date;
  ip: string | null;
  userAgent: string | null;
}

function whenAndWhere(facts: MailFacts): string {
  const where = [
    facts.ip ? `from the address ${facts.ip}` : null,
    facts.userAgent ? `with ${describeUserAgent(facts.userAgent)}` : null,
  ].filter(Boolean);
  return `When: ${dayAndTime(facts.at)}.${where.length ? ` Where: ${where.join(', ')}.` : ''}`;
}

const IF_NOT_YOU_PASSWORD =
  'If this was not you, change your password now and sign out your other sessions; if you cannot, ask your administrator for help.';
const IF_NOT_YOU_ADMIN =
  'If you did not expect this, sign in and check your account, or ask your administrator.';

function notice(
  subject: string,
  what: string,
  facts: MailFacts,
  ifNotYou: string,
  action: MailText['action'],
): MailText {
  return { subject, paragraphs: [what, whenAndWhere(facts), ifNotYou], action };
}

const changePassword = { text: 'Change your password', href: paths.password };
const openSettings = { text: 'Open your settings', href: paths.settings };

export const mail = {
  passwordReset: (link: string, expiresAt: Date, facts: MailFacts): MailText => ({
    subject: 'Reset your password',
    paragraphs: [
      'Someone asked to reset the password of the account for this address. To choose a new password, open the link below.',
      `The link works once, until ${dayAndTime(expiresAt)} (${inAWhile(expiresAt.getTime() - facts.at.getTime())} after it was sent). If your account uses two-factor authentication, you will need a code from your app or a recovery code as well: a reset never turns it off.`,
      whenAndWhere(facts),
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
    action: { text: 'Reset your password', href: link },
  }),
  passwordResetDone: (facts: MailFacts): MailText =>
    notice(
      'Your password was reset',
      'The password of your account was reset with a link sent to this address. Every session of your account was signed out.',
      facts,
      'If this was not you, someone can read your mail: secure your mailbox, then reset your password again or ask your administrator.',
      { text: 'Sign in', href: paths.signIn },
    ),
  passwordChanged: (facts: MailFacts): MailText =>
    notice(
      'Your password was changed',
      'The password of your account was changed. Your other sessions were signed out.',
      facts,
      'If this was not you, reset your password from the sign-in page at once, or ask your administrator.',
      { text: 'Sign in', href: paths.signIn },
    ),
  passwordSetByAdmin: (facts: MailFacts): MailText =>
    notice(
      'An administrator set a new password for you',
      'An administrator set a temporary password for your account; you will choose your own when you next sign in. Every session of your account was signed out.',
      facts,
      IF_NOT_YOU_ADMIN,
      { text: 'Sign in', href: paths.signIn },
    ),
  newDevice: (facts: MailFacts): MailText =>
    notice(
      'New sign-in to your account',
      'Your account was signed in to from a device and address it has not used in the last 30 days.',
      facts,
      IF_NOT_YOU_PASSWORD,
      changePassword,
    ),
  wrongSecondFactor: (facts: MailFacts): MailText =>
    notice(
      'Your password was used, but the second step failed',
      'Someone entered the right password for your account, then a wrong two-factor code. (Keygate sends this at most once an hour.)',
      facts,
      'If this was not you, someone knows your password: change it now.',
      changePassword,
    ),
  twoFactorEnabled: (facts: MailFacts): MailText =>
    notice(
      'Two-factor authentication is on',
      'Two-factor authentication was turned on for your account.',
      facts,
      IF_NOT_YOU_PASSWORD,
      openSettings,
    ),
  twoFactorDisabled: (facts: MailFacts): MailText =>
    notice(
      'Two-factor authentication is off',
      'Two-factor authentication was turned off for your account, and its recovery codes were deleted.',
      facts,
      IF_NOT_YOU_PASSWORD,
      openSettings,
    ),
  twoFactorResetByAdmin: (facts: MailFacts): MailText =>
    notice(
      'An administrator reset your two-factor authentication',
      'An administrator turned off two-factor authentication for your account. Turn it on again in your settings.',
      facts,
      IF_NOT_YOU_ADMIN,
      { text: 'Turn on two-factor authentication', href: paths.twoFactorSetup },
    ),
  recoveryCodesRegenerated: (facts: MailFacts): MailText =>
    notice(
      'New recovery codes were made',
      'A new set of recovery codes was made for your account; the old ones no longer work.',
      facts,
      IF_NOT_YOU_PASSWORD,
      openSettings,
    ),
  recoveryCodeUsed: (left: number, facts: MailFacts): MailText =>
    notice(
      'A recovery code was used',
      `A recovery code was used to sign in to your account. ${plural(left, 'recovery code')} left.`,
      facts,
      IF_NOT_YOU_PASSWORD,
      { text: 'Make new recovery codes', href: paths.recoveryCodesRegenerate },
    ),
  emailChangeConfirm: (link: string, expiresAt: Date, facts: MailFacts): MailText => ({
    subject: 'Confirm your new email address',
    paragraphs: [
      'Someone asked to use this address for their account. To confirm it, open the link below and press the button there.',
      `The link works once, until ${dayAndTime(expiresAt)}.`,
      whenAndWhere(facts),
      'If you did not ask for this, ignore this mail: nothing changes.',
    ],
    action: { text: 'Confirm this address', href: link },
  }),
  emailChanged: (newEmail: string, byAdmin: boolean, facts: MailFacts): MailText =>
    notice(
      'Your email address was changed',
      `${byAdmin ? 'An administrator changed' : 'You changed'} the email address of your account from this address to ${newEmail}. Mail about your account now goes there, and you sign in with it.`,
      facts,
      byAdmin ? IF_NOT_YOU_ADMIN : 'If this was not you, ask your administrator at once.',
      { text: 'Sign in', href: paths.signIn },
    ),
  accountLocked: (what: 'password' | 'second_factor', facts: MailFacts): MailText =>
    notice(
      what === 'password' ? 'Sign-in to your account is paused' : 'Two-factor codes are paused',
      what === 'password'
        ? 'After many wrong passwords, sign-in to your account is paused for an hour, except from addresses you recently signed in from.'
        : 'After many wrong two-factor codes, codes for your account are refused for 15 minutes.',
      facts,
      what === 'password'
        ? 'If this was not you, someone is guessing your password: make sure it is long and used nowhere else.'
        : 'If this was not you, someone knows your password: change it now.',
      changePassword,
    ),
} as const;
