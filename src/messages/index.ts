/**
 * Every sentence a person reads that Keygate's code (not a template) produces, one typed function
 * per outcome. Routes and middleware read them from `req.t`, set per request by
 * middleware/request-context.ts: a second language is a second object of type `Messages` and a
 * choice in `messagesFor`, with no change to any route. Domain functions (src/auth/) return facts;
 * the words for those facts are here.
 */
import { activityRepeated, activitySentence, timeRange } from './en/activity.ts';
import { admin, setup } from './en/admin.ts';
import { errors } from './en/errors.ts';
import { forms } from './en/forms.ts';
import { gate } from './en/gate.ts';
import { oidc, oidcForms } from './en/oidc.ts';
import { emailChange } from './en/email-change.ts';
import { mail } from './en/mail.ts';
import { passwordReset } from './en/password-reset.ts';
import { policy, settings, twoFactorSettings } from './en/settings.ts';
import { reauthentication, secondFactor, session, signIn } from './en/sign-in.ts';

export type { ActionText } from './en/admin.ts';
export type { Reader } from './en/activity.ts';
export type { MailFacts, MailText } from './en/mail.ts';
export type { CodeKind, Notice, PageText } from './en/sign-in.ts';

export const en = {
  session,
  signIn,
  secondFactor,
  reauthentication,
  settings,
  twoFactorSettings,
  policy,
  admin,
  setup,
  errors,
  forms,
  gate,
  oidc,
  oidcForms,
  mail,
  emailChange,
  passwordReset,
  activity: activitySentence,
  activityRepeated,
  timeRange,
} as const;

export type Messages = typeof en;

/** The wording for a request. English is the only language today. */
export function messagesFor(_acceptLanguage: string | undefined): Messages {
  return en;
}
