import { z } from 'zod';
import { textField } from './forms.ts';
import { currentPasswordField, newPasswordField } from './passwords.ts';

export const changePasswordForm = z
  .object({
    currentPassword: currentPasswordField('Current password'),
    newPassword: newPasswordField('New password'),
    confirmPassword: textField('Password confirmation', {
      max: 4096,
      trim: false,
      required: 'Type the new password again.',
    }),
  })
  .refine((form) => form.newPassword === form.confirmPassword, {
    path: ['confirmPassword'],
    message: 'The two new passwords do not match.',
  })
  .refine((form) => form.newPassword !== form.currentPassword, {
    path: ['newPassword'],
    message: 'Choose a password different from the current one.',
  });

export const endSessionForm = z.object({
  session: textField('Session', { max: 64, required: 'Choose a session to end.' }),
});
