import { z } from 'zod';
import { en } from '../messages/index.ts';
import { newEmailField, textField } from './forms.ts';

/** A new address for the signed-in person, or for a user an administrator edits. */
export const newEmailForm = z.object({ email: newEmailField() });

/** The confirmation page's button: the link's token, carried in the form body (not the URL). */
export const confirmEmailForm = z.object({
  token: textField('Link', { max: 64, required: en.forms.linkIncomplete() }),
});
