import { z } from 'zod';
import { emailField } from './forms.ts';
import { currentPasswordField } from './passwords.ts';

export const loginForm = z.object({
  email: emailField(),
  password: currentPasswordField(),
});
