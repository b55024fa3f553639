import { z } from 'zod';
import { en } from '../messages/index.ts';
import { emailField, textField } from './forms.ts';
import { newPasswordField } from './passwords.ts';

/** "Forgot your password?": the address only. */
export const forgotPasswordForm = z.object({ email: emailField() });

/** The new password, after a reset link (and, with 2FA, its code step). */
export const resetPasswordForm = z
  .object({
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
  });
