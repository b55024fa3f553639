import { z } from 'zod';
import { newEmailField, textField } from './forms.ts';
import { newPasswordField } from './passwords.ts';
import { en } from '../messages/index.ts';

function choice<T extends string>(label: string, values: readonly T[]) {
  return textField(label, { max: 40 }).refine(
    (value): value is T => (values as readonly string[]).includes(value),
    { message: en.forms.oneOf(label, values) },
  ) as unknown as z.ZodType<T>;
}

/** The user list's query string: search, filters, sort and page cursors. */
export const userListQuery = z.object({
  q: textField('Search', { max: 254 }),
  twofa: choice('Two-factor filter', ['', 'on', 'off'] as const),
  role: choice('Role filter', ['', 'admin', 'user'] as const),
  active: choice('Active filter', ['', 'yes', 'no'] as const),
  sort: choice('Sort', ['', 'email', 'last_sign_in'] as const),
  after: textField('Page', { max: 600 }),
  before: textField('Page', { max: 600 }),
});

export const createUserForm = z
  .object({
    email: newEmailField(),
    role: choice('Role', ['user', 'admin'] as const),
    passwordChoice: choice('Password choice', ['generate', 'set'] as const),
    password: textField('Initial password', { max: 4096, trim: false }),
  })
  .superRefine((form, ctx) => {
    if (form.passwordChoice !== 'set') return;
    const check = newPasswordField('Initial password').safeParse(form.password);
    if (!check.success)
      ctx.addIssue({ code: 'custom', path: ['password'], message: check.error.issues[0]!.message });
  });

export const resetTwoFactorForm = z.object({
  reason: textField('Reason', { max: 500 }),
});

/** "Set a temporary password": generated, or typed by the admin. */
export const temporaryPasswordForm = z
  .object({
    passwordChoice: choice('Password choice', ['generate', 'set'] as const),
    password: textField('Temporary password', { max: 4096, trim: false }),
  })
  .superRefine((form, ctx) => {
    if (form.passwordChoice !== 'set') return;
    const check = newPasswordField('Temporary password').safeParse(form.password);
    if (!check.success)
      ctx.addIssue({ code: 'custom', path: ['password'], message: check.error.issues[0]!.message });
  });
