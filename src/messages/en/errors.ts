import type { PageText } from './sign-in.ts';

/** Pages that replace whatever was asked for (middleware/errors.ts, middleware/csrf.ts). */
export const errors = {
  crossSite: (): PageText => ({
    title: 'This form came from another website',
    message:
      'Keygate only accepts forms sent from its own pages. If you meant to do this, open Keygate directly and try again.',
  }),
  formExpired: (): PageText => ({
    title: 'This form has expired',
    message:
      'The page was open for a while, or was opened again in another tab, so Keygate could not accept it. Nothing was changed. Go back to the page and send it again.',
  }),
  tooLarge: (): PageText => ({
    title: 'That was too much to send',
    message:
      'The form you sent was larger than Keygate accepts. Go back and shorten what you typed.',
  }),
  tooManyFields: (): PageText => ({
    title: 'That was too much to send',
    message: 'The form you sent had more fields than Keygate accepts.',
  }),
  unsupportedEncoding: (): PageText => ({
    title: 'That could not be read',
    message:
      'The form was sent in an encoding Keygate does not read. Send it as UTF-8 from the page itself.',
  }),
  unreadable: (): PageText => ({
    title: 'That could not be read',
    message: 'The form could not be read. Go back, reload the page and try again.',
  }),
  badRequest: (): PageText => ({
    title: 'That request could not be handled',
    message: 'Check the address and try again.',
  }),
  notFound: (): PageText => ({
    title: 'Page not found',
    message: 'There is nothing at this address. Check it, or go back to the start.',
  }),
  databaseUnavailable: (options: { sentAForm: boolean }): PageText => ({
    title: 'Keygate is temporarily unavailable',
    message: options.sentAForm
      ? 'Keygate cannot reach its database right now, so nothing you sent was saved. Please try again in a minute.'
      : 'Keygate cannot reach its database right now. Please try again in a minute.',
  }),
  unexpected: (): PageText => ({
    title: 'Something went wrong',
    message:
      'Keygate hit an unexpected problem. Please try again. If it keeps happening, tell your administrator the reference below.',
  }),
  /** The plain-text page when even the error page cannot be rendered. */
  plain: (page: PageText, requestId: string) =>
    `${page.title}. ${page.message} (reference ${requestId})`,
} as const;
