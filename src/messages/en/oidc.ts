import type { PageText } from './sign-in.ts';

/** The OpenID Connect part of the Apps form. */
export const oidcForms = {
  enterRedirectUri: () =>
    'Enter the address the app gives as its redirect (callback) URI, such as https://git.example.com/user/oauth2/keygate/callback.',
  uriShape: () =>
    'Enter whole addresses that start with https:// (or http://), one per line, without a # part.',
  tooManyUris: () => 'Enter at most 10 addresses.',
  hostOrClient: () =>
    'Enter a host for the gate, or let the app sign people in with OpenID Connect (or both).',
  secretShown: (app: string) =>
    `The client secret of ${app} is shown once: copy it into the app now.`,
};

/** The OpenID provider's pages: consent, sign-out from an app, its errors. */
export const oidc = {
  /** What each scope lets an app learn, for the consent page. */
  scopeMeaning: (scope: string): string | null => {
    switch (scope) {
      case 'openid':
        return 'A stable identifier for your account (never your email address)';
      case 'email':
        return 'Your email address';
      case 'profile':
        return 'Your user name (your email address)';
      case 'groups':
        return 'The groups you belong to, and whether you are an administrator';
      case 'offline_access':
        return 'To stay signed in while you are away';
      default:
        return null;
    }
  },
  consentTitle: (app: string) => `Sign in to ${app}?`,
  consentDenied: () => 'You did not allow the app to use your Keygate account.',
  requestExpired: (): PageText => ({
    title: 'This sign-in request has expired',
    message:
      'Too much time passed, or it was already used. Go back to the app and start signing in again.',
  }),
  providerError: (description: string): PageText => ({
    title: 'The app’s sign-in request cannot be answered',
    message: `The app asked for something Keygate does not allow (${description}). Tell the app’s administrator.`,
  }),
  unavailable: (): PageText => ({
    title: 'Signing in to apps is temporarily unavailable',
    message: 'Keygate cannot read its signing keys. Try again in a moment.',
  }),
  logoutTitle: (app: string | null) => (app ? `Sign out of ${app}?` : 'Sign out of the app?'),
  signedOutOfApp: () => 'You are signed out of the app.',
};
