import { z } from 'zod';
import { textField } from './forms.ts';
import { currentPasswordField } from './passwords.ts';
import { en } from '../messages/index.ts';

/** The second step of sign-in and the enrolment confirmation: one field, `code`. */
export const codeForm = z.object({
  code: textField('Code', { max: 64, required: en.forms.enterCode() }),
});

/**
 * The second step of sign-in: the code, and "don't ask for a code on this browser" (a checkbox:
 * ticked sends `trust=yes`; anything else, a repeat included, is unticked).
 */
export const signInCodeForm = codeForm.extend({
  trust: z
    .unknown()
    .optional()
    .transform((value) => value === 'yes'),
});

/** "Confirm it's you": the password, plus a code when 2FA is on (checked by the handler). */
export const confirmForm = z.object({
  password: currentPasswordField(),
  code: textField('Code', { max: 64 }),
});

/** Turning 2FA off needs both factors. */
export const disableForm = z.object({
  password: currentPasswordField(),
  code: textField('Code', { max: 64, required: en.forms.enterCodeOrRecoveryCode() }),
});
