import { z } from 'zod';
import { newEmailField, textField } from './forms.ts';
import { newPasswordField } from './passwords.ts';

export const setupForm = z
  .object({
    token: textField('Setup token', { max: 200, required: 'This setup link is incomplete.' }),
    email: newEmailField(),
    password: newPasswordField(),
    confirmPassword: textField('Password confirmation', {
      max: 4096,
      trim: false,
      required: 'Type the password again.',
    }),
  })
  .refine((form) => form.password === form.confirmPassword, {
    path: ['confirmPassword'],
    message: 'The two passwords do not match.',
  });
