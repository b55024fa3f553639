import { parseArgs } from 'node:util';
import { z } from 'zod';
import { hashPassword } from '../auth/passwords.ts';
import { recordAuditEvent } from '../auth/audit.ts';
import { createUser } from '../auth/users.ts';
import { newEmailField, parseForm } from '../validation/forms.ts';
import { newPasswordField } from '../validation/passwords.ts';
import { readPassword } from './read-password.ts';
import { fail, withDatabase } from './shared.ts';

const USAGE =
  'usage: npm run create-user -- --email EMAIL [--admin]  (the password is read from standard input)';

const userForm = z.object({ email: newEmailField(), password: newPasswordField() });

let args;
try {
  args = parseArgs({
    options: { email: { type: 'string' }, admin: { type: 'boolean', default: false } },
    strict: true,
  }).values;
} catch (error) {
  fail(`error: ${(error as Error).message}\n${USAGE}`);
}
if (!args.email) fail(`error: --email is required\n${USAGE}`);

const password = await readPassword();
const form = parseForm(userForm, { email: args.email, password });
if (!form.ok) fail(`error: ${Object.values(form.errors).join(' ')}`);

const created = await withDatabase(async (db, config) => {
  const passwordHash = await hashPassword(form.data.password, config.bcryptCost);
  const result = await createUser(db, {
    email: form.data.email,
    passwordHash,
    role: args.admin ? 'admin' : 'user',
  });
  if (result.ok) {
    await recordAuditEvent(db, {
      event: 'user_created',
      userId: result.user.id,
      details: { via: 'command line', role: result.user.role },
    });
  }
  return result;
});
if (!created.ok) fail(`error: a user with the email ${form.data.email} already exists`);
console.log(
  `Created ${created.user.role === 'admin' ? 'administrator' : 'user'} ${created.user.email} (id ${created.user.id}).`,
);
