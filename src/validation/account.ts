import { z } from 'zod';
import { textField } from './forms.ts';
import { currentPasswordField, newPasswordField } from './passwords.ts';
import { en } from '../messages/index.ts';

export const changePasswordForm = z
  .object({
    currentPassword: currentPasswordField('Current password'),
    newPassword: newPasswordField('New password'),
    confirmPassword: textField('Password confirmation', {
      max: 4096,
      trim: false,
      required: en.forms.typeNewPasswordAgain(),
    }),
  })
  .refine((form) => form.newPassword === form.confirmPassword, {
    path: ['confirmPassword'],
    message: en.forms.newPasswordsDiffer(),
  })
  .refine((form) => form.newPassword !== form.currentPassword, {
    path: ['newPassword'],
    message: en.forms.sameAsCurrent(),
  });

/** Forgetting a trusted browser: its id, or `all`. */
export const forgetBrowserForm = z.object({
  browser: textField('Browser', { max: 20, required: en.forms.chooseBrowser() }),
});

export const endSessionForm = z.object({
  session: textField('Session', { max: 64, required: en.forms.chooseSession() }),
});
