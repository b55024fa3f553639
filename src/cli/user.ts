import { parseArgs } from 'node:util';
import { z } from 'zod';
import { COMMAND_LINE_ACTOR, COMMAND_LINE_ORIGIN } from '../auth/command-line.ts';
import { setTemporaryPassword } from '../auth/temporary-password.ts';
import { accountLockedUntil } from '../auth/throttle.ts';
import {
  resetTwoFactorOf,
  setUserActive,
  setUserRole,
  unlockSignIn,
  type GuardedResult,
} from '../auth/user-admin.ts';
import { findUserByEmail, type User } from '../auth/users.ts';
import type { Db } from '../db/knex.ts';
import { emailField, parseForm } from '../validation/forms.ts';
import { newPasswordField } from '../validation/passwords.ts';
import { readPassword } from './read-password.ts';
import { fail, withDatabase } from './shared.ts';
import { addGroupCommand, CliGroupError, removeGroupCommand } from './user-groups.ts';

/**
 * The operator's recovery tool, for when nobody can sign in to fix things in the browser (the
 * last administrator lost their password, or both their phone and their recovery codes). Each
 * change goes through the same domain functions as the admin pages, so the last-admin guard and
 * the audit trail are the same; the audit rows say "command line" (auth/command-line.ts).
 */
const VERBS = [
  'set-password',
  'reset-2fa',
  'unlock',
  'deactivate',
  'activate',
  'make-admin',
  'remove-admin',
  'show',
] as const;
type Verb = (typeof VERBS)[number];

const USAGE = `usage: npm run user -- ${VERBS.join('|')} --email EMAIL  (set-password reads the new password from standard input)\n       npm run user -- add-group|remove-group --email EMAIL --group GROUP`;

const LAST_ADMIN =
  'is the last active administrator; make another user an administrator first (npm run user -- make-admin --email …)';

// Groups (forward-auth access rules) have verbs of their own, with a --group option.
const groupVerb = process.argv[2];
if (groupVerb === 'add-group' || groupVerb === 'remove-group') {
  const command = groupVerb === 'add-group' ? addGroupCommand : removeGroupCommand;
  const result = await withDatabase(async (db) => {
    try {
      return { ok: true, text: await command(db, process.argv.slice(3)) };
    } catch (error) {
      if (error instanceof CliGroupError) return { ok: false, text: error.message };
      throw error;
    }
  });
  if (!result.ok) fail(result.text);
  console.log(result.text);
  process.exit(0);
}

let parsed;
try {
  parsed = parseArgs({
    options: { email: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
} catch (error) {
  fail(`error: ${(error as Error).message}\n${USAGE}`);
}
const [verbText, ...extra] = parsed.positionals;
if (!verbText) fail(`error: say what to do\n${USAGE}`);
if (!(VERBS as readonly string[]).includes(verbText))
  fail(`error: unknown command '${verbText}'\n${USAGE}`);
if (extra.length) fail(`error: unexpected '${extra.join(' ')}'\n${USAGE}`);
const verb = verbText as Verb;
if (!parsed.values.email) fail(`error: --email is required\n${USAGE}`);
const email = parseForm(z.object({ email: emailField() }), { email: parsed.values.email });
if (!email.ok) fail(`error: ${Object.values(email.errors).join(' ')}`);

const password =
  verb === 'set-password'
    ? parseForm(z.object({ password: newPasswordField() }), { password: await readPassword() })
    : null;
if (password && !password.ok) fail(`error: ${Object.values(password.errors).join(' ')}`);

/** What a verb did, or why it did nothing; printed once the database is closed again. */
type Outcome = { ok: boolean; text: string };
const done = (text: string): Outcome => ({ ok: true, text });
const refused = (text: string): Outcome => ({ ok: false, text: `error: ${text}` });

function guarded(result: GuardedResult, user: User, text: string): Outcome {
  if (result.ok) return done(text);
  return result.reason === 'last_admin'
    ? refused(`${user.email} ${LAST_ADMIN}`)
    : refused(`no user with the email ${user.email}`);
}

async function show(db: Db, user: User, now: Date): Promise<string> {
  const codes = await db('recovery_codes')
    .where({ user_id: user.id })
    .whereNull('used_at')
    .count<{ n: string }>('* as n')
    .first();
  const lockedUntil = await accountLockedUntil(db, user, now);
  const time = (at: Date | null) => (at ? at.toISOString().replace(/\.\d+Z$/, 'Z') : 'never');
  return [
    `${user.email} (id ${user.id})`,
    `  role:            ${user.role === 'admin' ? 'administrator' : 'user'}`,
    `  active:          ${user.isActive ? 'yes' : 'no (deactivated)'}`,
    `  two-factor:      ${user.totpEnabledAt ? `on since ${time(user.totpEnabledAt)}, ${Number(codes?.n)} recovery codes left` : 'off'}`,
    `  password:        ${user.mustChangePassword ? 'temporary (must be changed at the next sign-in)' : 'chosen by the user'}`,
    `  sign-in:         ${lockedUntil ? `locked after too many wrong passwords until ${time(lockedUntil)}` : 'not locked'}`,
    `  last sign-in:    ${time(user.lastSignInAt)}`,
    `  created:         ${time(user.createdAt)}`,
  ].join('\n');
}

// No exit inside: withDatabase must get to stop the embedded server it may have started.
const outcome = await withDatabase(async (db, config): Promise<Outcome> => {
  const user = await findUserByEmail(db, email.data.email);
  if (!user) return refused(`no user with the email ${email.data.email}`);
  const now = new Date();
  const action = {
    targetId: user.id,
    actorId: COMMAND_LINE_ACTOR,
    now,
    origin: COMMAND_LINE_ORIGIN,
  };
  switch (verb) {
    case 'show':
      return done(await show(db, user, now));
    case 'set-password': {
      const result = await setTemporaryPassword(db, {
        userId: user.id,
        password: password!.ok ? password!.data.password : null,
        bcryptCost: config.bcryptCost,
        actorId: null,
        now,
        origin: COMMAND_LINE_ORIGIN,
      });
      if (!result.ok) return refused(`no user with the email ${user.email}`);
      return done(
        `Set a temporary password for ${user.email}: they must choose a new one at the next sign-in. Ended ${result.endedSessions} session(s).`,
      );
    }
    case 'reset-2fa':
      if (!user.totpEnabledAt)
        return done(`Two-factor authentication is already off for ${user.email}.`);
      await resetTwoFactorOf(db, { ...action, reason: '' });
      return done(
        `Reset two-factor authentication for ${user.email}: secret and recovery codes deleted, all sessions ended. They sign in with their password and set it up again.`,
      );
    case 'unlock': {
      const lockedUntil = await accountLockedUntil(db, user, now);
      await unlockSignIn(db, { ...action, email: user.email });
      return done(
        lockedUntil
          ? `Unlocked sign-in for ${user.email}.`
          : `Sign-in for ${user.email} was not locked; nothing to undo.`,
      );
    }
    case 'deactivate':
      if (!user.isActive) return done(`${user.email} is already deactivated.`);
      return guarded(
        await setUserActive(db, { ...action, active: false }),
        user,
        `Deactivated ${user.email} and ended all their sessions.`,
      );
    case 'activate':
      if (user.isActive) return done(`${user.email} is already active.`);
      return guarded(
        await setUserActive(db, { ...action, active: true }),
        user,
        `Reactivated ${user.email}.`,
      );
    case 'make-admin':
      if (user.role === 'admin') return done(`${user.email} is already an administrator.`);
      return guarded(
        await setUserRole(db, { ...action, role: 'admin' }),
        user,
        `${user.email} is now an administrator.`,
      );
    case 'remove-admin':
      if (user.role !== 'admin') return done(`${user.email} is not an administrator.`);
      return guarded(
        await setUserRole(db, { ...action, role: 'user' }),
        user,
        `${user.email} is no longer an administrator.`,
      );
  }
});
if (!outcome.ok) fail(outcome.text);
console.log(outcome.text);
