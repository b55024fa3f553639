/**
 * The group verbs of `npm run user -- VERB` (wired into src/cli/user.ts):
 *
 *   npm run user -- add-group --email E --group G
 *   npm run user -- remove-group --email E --group G
 *
 * Each returns the line to print; a bad argument or an unknown email is a CliGroupError (one
 * line, exit 1, like every Keygate command). Works whether or not the server runs.
 */
import { parseArgs } from 'node:util';
import { COMMAND_LINE_ORIGIN } from '../auth/command-line.ts';
import { addUserToGroup, removeUserFromGroup } from '../auth/groups.ts';
import { findUserByEmail } from '../auth/users.ts';
import type { Db } from '../db/knex.ts';
import { groupForm } from '../validation/apps.ts';
import { emailField, parseForm } from '../validation/forms.ts';
import { z } from 'zod';

export class CliGroupError extends Error {}

const USAGE = 'usage: npm run user -- add-group|remove-group --email EMAIL --group GROUP';
const groupArgs = z.object({ email: emailField() }).and(groupForm);

function readArgs(argv: string[]): { email: string; group: string } {
  let values: { email?: string; group?: string };
  try {
    values = parseArgs({
      args: argv,
      options: { email: { type: 'string' }, group: { type: 'string' } },
      strict: true,
    }).values;
  } catch (error) {
    throw new CliGroupError(`error: ${(error as Error).message}\n${USAGE}`);
  }
  const form = parseForm(groupArgs, values);
  if (!form.ok) throw new CliGroupError(`error: ${Object.values(form.errors).join(' ')}\n${USAGE}`);
  return form.data;
}

async function userIdByEmail(db: Db, email: string): Promise<string> {
  const user = await findUserByEmail(db, email);
  if (!user) throw new CliGroupError(`error: no user has the email ${email}`);
  return user.id;
}

/** `add-group`: `db` is the command's handle (from cli/shared.ts's withDatabase). */
export async function addGroupCommand(db: Db, argv: string[]): Promise<string> {
  const { email, group } = readArgs(argv);
  const userId = await userIdByEmail(db, email);
  const changed = await addUserToGroup(db, {
    userId,
    group,
    actorId: null,
    origin: COMMAND_LINE_ORIGIN,
    now: new Date(),
  });
  return changed ? `Added ${email} to ${group}.` : `${email} is already in ${group}.`;
}

export async function removeGroupCommand(db: Db, argv: string[]): Promise<string> {
  const { email, group } = readArgs(argv);
  const userId = await userIdByEmail(db, email);
  const changed = await removeUserFromGroup(db, {
    userId,
    group,
    actorId: null,
    origin: COMMAND_LINE_ORIGIN,
    now: new Date(),
  });
  return changed ? `Removed ${email} from ${group}.` : `${email} was not in ${group}.`;
}
