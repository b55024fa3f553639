import { plural } from '../../format.ts';
import { paths } from '../../paths.ts';
import type { PageText } from './sign-in.ts';

/** An action on a user's page: its confirmation page, in words, and what is said once done. */
export interface ActionText {
  title: string;
  explain: string;
  button: string;
  done: string;
}

export const admin = {
  adminsOnly: (): PageText => ({
    title: 'Not allowed',
    message: 'This page is for administrators only.',
  }),
  ownTwoFactorFirst: (): PageText => ({
    title: 'Turn on two-factor authentication first',
    message:
      'Administrators must use two-factor authentication to manage users. Turn it on in your settings, then come back.',
  }),
  badListAddress: (problems: string[]): PageText => ({
    title: 'That list address is not valid',
    message: problems.join(' '),
  }),
  badPageLink: (): PageText => ({
    title: 'That page link is not valid',
    message: 'Go back to the first page of the list and try again.',
  }),
  noSuchUser: (): PageText => ({
    title: 'No such user',
    message: 'That user does not exist. Go back to the list and search again.',
  }),
  emailTaken: () => 'A user with this email address already exists.',
  lastAdmin: () =>
    'This is the last active administrator. Make someone else an administrator first, so that Keygate always has one.',
  passwordShownOnce: () =>
    'The password was shown once, right after it was made, and is not kept. If it was lost, set a new temporary password.',
  actions: {
    'reset-2fa': {
      title: 'Reset two-factor authentication',
      explain:
        'This deletes their authenticator secret and all recovery codes and signs them out everywhere. They can sign in with their password and set up two-factor authentication again. They will see a notice when they next sign in.',
      button: 'Reset two-factor authentication',
      done: 'Two-factor authentication was reset and all their sessions were ended.',
    },
    deactivate: {
      title: 'Deactivate account',
      explain:
        'They will be signed out everywhere and cannot sign in until the account is reactivated.',
      button: 'Deactivate',
      done: 'The account was deactivated and all its sessions were ended.',
    },
    reactivate: {
      title: 'Reactivate account',
      explain: 'They will be able to sign in again.',
      button: 'Reactivate',
      done: 'The account was reactivated.',
    },
    'make-admin': {
      title: 'Make administrator',
      explain: 'They will be able to manage every user of Keygate, including you.',
      button: 'Make administrator',
      done: 'They are now an administrator.',
    },
    'remove-admin': {
      title: 'Remove administrator rights',
      explain: 'They will keep their account but can no longer manage users.',
      button: 'Remove administrator rights',
      done: 'They are no longer an administrator.',
    },
    'unlock-sign-in': {
      title: 'Unlock sign-in',
      explain:
        'If too many wrong passwords locked this account, they can sign in again right away. Use it when you know the failed attempts were theirs or are over.',
      button: 'Unlock sign-in',
      done: 'Sign-in is unlocked.',
    },
    'end-sessions': {
      title: 'Sign out everywhere',
      explain: 'Every session of theirs ends now, on every device. Their account is not changed.',
      button: 'Sign out everywhere',
      done: 'All their sessions were ended.',
    },
    'forget-browsers': {
      title: 'Forget trusted browsers',
      explain:
        'Every browser on which they chose not to be asked for a code will ask for one again at the next sign-in. Their sessions and account are not changed.',
      button: 'Forget trusted browsers',
      done: 'Their trusted browsers were forgotten.',
    },
    'set-password': {
      title: 'Set a temporary password',
      explain:
        'For someone who forgot their password. They are signed out everywhere, sign in with the temporary password, and must choose their own straight away. Their two-factor authentication stays as it is.',
      button: 'Set temporary password',
      done: 'The temporary password is set and all their sessions were ended.',
    },
  } satisfies Record<string, ActionText>,
  /** The same actions on the admin's own account, where they apply to "you". */
  ownActions: {
    'reset-2fa':
      'This deletes your authenticator secret and all your recovery codes and signs you out everywhere, this session included. You can then sign in with your password and set up two-factor authentication again.',
    'end-sessions': 'Every session of yours ends now, on every device, this one included.',
    'forget-browsers':
      'Every browser on which you chose not to be asked for a code will ask for one again at your next sign-in.',
    'unlock-sign-in':
      'If too many wrong passwords locked your account, you can sign in again from anywhere right away.',
  } as Record<string, string>,
  notYourself: (action: 'deactivate' | 'remove-admin' | 'set-password') =>
    action === 'set-password'
      ? 'To change your own password, use Change password in your settings.'
      : `You cannot ${action === 'deactivate' ? 'deactivate your own account' : 'remove your own administrator rights'}. Ask another administrator.`,
  browsersForgotten: (count: number) =>
    count
      ? `Forgot ${plural(count, 'trusted browser')}: each will be asked for a code at the next sign-in.`
      : 'They had no trusted browsers. Nothing needed forgetting.',
  unlocked: (wasLocked: boolean) =>
    wasLocked
      ? 'Sign-in was locked after too many wrong passwords; it is unlocked now.'
      : 'Sign-in was not locked. Nothing needed unlocking.',
} as const;

export const setup = {
  done: (): PageText => ({
    title: 'Setup is already complete',
    message: 'An administrator already exists. Sign in, or ask an administrator for an account.',
    link: { href: paths.signIn, text: 'Sign in instead' },
  }),
  badLink: (): PageText => ({
    title: 'This setup link does not work',
    message:
      'The link is wrong or was replaced by a newer one. Use the link printed most recently when Keygate started.',
  }),
} as const;
