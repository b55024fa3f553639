import { z } from 'zod';
import { newEmailField, textField } from './forms.ts';
import { newPasswordField } from './passwords.ts';
import { en } from '../messages/index.ts';

export const setupForm = z
  .object({
    token: textField('Setup token', { max: 200, required: en.forms.setupLinkIncomplete() }),
    email: newEmailField(),
    password: newPasswordField(),
    confirmPassword: textField('Password confirmation', {
      max: 4096,
      trim: false,
      required: en.forms.typePasswordAgain(),
    }),
  })
  .refine((form) => form.password === form.confirmPassword, {
    path: ['confirmPassword'],
    message: en.forms.passwordsDiffer(),
  });
