import type { PageText } from './sign-in.ts';
import { paths } from '../../paths.ts';

/** Changing an email address (settings, the confirmation link, the admin's form). */
export const emailChange = {
  sent: (newEmail: string) =>
    `We have sent a link to ${newEmail}. Open it to confirm the new address; until then, your address stays as it is.`,
  sameAddress: () => 'That is already your address.',
  changed: (newEmail: string) =>
    `Your email address is now ${newEmail}. Sign in with it from now on.`,
  taken: () =>
    'That address can no longer be used for this account. Ask for a new link with another address.',
  changedByAdmin: (newEmail: string) =>
    `The email address is now ${newEmail}. The old address was told.`,
  takenByAdmin: () => 'Another account uses that address.',
  linkPage: (): PageText => ({
    title: 'This link does not work',
    message:
      'This confirmation link does not work any more: it was used, it expired, or a newer one was sent. Ask for a new one from your settings.',
    link: { href: paths.settings, text: 'Open your settings' },
  }),
} as const;
