/**
 * Protected apps from the command line, whether or not the server runs (like create-user):
 *
 *   npm run app -- add --name N --host H [--path-prefix P] [--policy signed-in|two-factor|nobody] [--groups g1,g2]
 *   npm run app -- list
 *   npm run app -- remove --name N
 *
 * The same form schema as the admin page; changes are audited (no actor: the command line).
 */
import { parseArgs } from 'node:util';
import {
  createProtectedApp,
  findAppByName,
  listApps,
  removeProtectedApp,
  type ProtectedApp,
} from '../auth/protected-apps.ts';
import { appForm } from '../validation/apps.ts';
import { parseForm } from '../validation/forms.ts';
import { fail, withDatabase } from './shared.ts';

const USAGE = `usage: npm run app -- add --name N --host H [--path-prefix P] [--policy signed-in|two-factor|nobody] [--groups g1,g2]
       npm run app -- list
       npm run app -- remove --name N`;

function describeApp(app: ProtectedApp): string {
  const who =
    app.policy === 'nobody'
      ? 'nobody'
      : `${app.policy}${app.allowedGroups.length ? ` (groups: ${app.allowedGroups.join(', ')})` : ''}`;
  return `${app.name}\t${app.host}${app.pathPrefix}/\t${who}`;
}

const [verb, ...rest] = process.argv.slice(2);
let args: Record<string, string | undefined>;
try {
  args = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      host: { type: 'string' },
      'path-prefix': { type: 'string' },
      policy: { type: 'string' },
      groups: { type: 'string' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`error: ${(error as Error).message}\n${USAGE}`);
}
const now = () => new Date();
const actor = { actorId: null, origin: null };

switch (verb) {
  case 'add': {
    const form = parseForm(appForm, {
      name: args.name,
      host: args.host,
      pathPrefix: args['path-prefix'],
      policy: args.policy ?? 'signed-in',
      groups: args.groups,
    });
    if (!form.ok) fail(`error: ${Object.values(form.errors).join(' ')}\n${USAGE}`);
    const result = await withDatabase((db) =>
      createProtectedApp(
        db,
        { ...form.data, allowedGroups: form.data.groups },
        { ...actor, now: now() },
      ),
    );
    if (!result.ok)
      fail(
        `error: ${result.reason === 'name_taken' ? 'an app with this name exists' : 'an app already has this host and path prefix'}`,
      );
    console.log(`Added ${describeApp(result.app)}`);
    break;
  }
  case 'list': {
    const apps = await withDatabase((db) => listApps(db));
    if (apps.length === 0) console.log('No protected apps.');
    for (const app of apps) console.log(describeApp(app));
    break;
  }
  case 'remove': {
    if (!args.name) fail(`error: --name is required\n${USAGE}`);
    const removed = await withDatabase(async (db) => {
      const app = await findAppByName(db, args.name!);
      return app ? removeProtectedApp(db, app.id, { ...actor, now: now() }) : false;
    });
    if (!removed) fail(`error: no app is named ${args.name}`);
    console.log(`Removed ${args.name}.`);
    break;
  }
  default:
    fail(USAGE);
}
