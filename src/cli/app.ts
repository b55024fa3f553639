/**
 * Apps from the command line, whether or not the server runs (like create-user):
 *
 *   npm run app -- add --name N --host H [--path-prefix P] [--policy signed-in|two-factor|nobody] [--groups g1,g2]
 *   npm run app -- add-oidc --name N --redirect-uri URI [--redirect-uri URI…] [--post-logout-uri URI…]
 *                           [--public] [--first-party] [--host H] [--policy P] [--groups g1,g2]
 *   npm run app -- list
 *   npm run app -- remove --name N
 *
 * The same form schema as the admin page; changes are audited (no actor: the command line).
 */
import { parseArgs } from 'node:util';
import { createOidcApp } from '../auth/oidc-clients.ts';
import {
  createProtectedApp,
  findAppByName,
  listApps,
  removeProtectedApp,
  type ProtectedApp,
} from '../auth/protected-apps.ts';
import { oidcIssuer } from '../paths.ts';
import { appForm, parseAppFormWithClient } from '../validation/apps.ts';
import { parseForm } from '../validation/forms.ts';
import { fail, withDatabase } from './shared.ts';

const USAGE = `usage: npm run app -- add --name N --host H [--path-prefix P] [--policy signed-in|two-factor|nobody] [--groups g1,g2]
       npm run app -- add-oidc --name N --redirect-uri URI [--post-logout-uri URI] [--public] [--first-party] [--host H] [--policy P] [--groups g1,g2]
       npm run app -- list
       npm run app -- remove --name N`;

function describeApp(app: ProtectedApp): string {
  const who =
    app.policy === 'nobody'
      ? 'nobody'
      : `${app.policy}${app.allowedGroups.length ? ` (groups: ${app.allowedGroups.join(', ')})` : ''}`;
  const where = [app.host ? `${app.host}${app.pathPrefix}/` : '', app.oidc ? 'OIDC' : '']
    .filter(Boolean)
    .join(' + ');
  return `${app.name}\t${where}\t${who}`;
}

const [verb, ...rest] = process.argv.slice(2);
let args: Record<string, string | undefined>;
let lists: { 'redirect-uri': string[]; 'post-logout-uri': string[] };
let flags: { public: boolean; 'first-party': boolean };
try {
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      host: { type: 'string' },
      'path-prefix': { type: 'string' },
      policy: { type: 'string' },
      groups: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'first-party': { type: 'boolean' },
    },
    strict: true,
  });
  const { public: isPublic, 'first-party': firstParty, ...texts } = values;
  lists = {
    'redirect-uri': texts['redirect-uri'] ?? [],
    'post-logout-uri': texts['post-logout-uri'] ?? [],
  };
  flags = { public: isPublic ?? false, 'first-party': firstParty ?? false };
  args = {
    name: texts.name,
    host: texts.host,
    'path-prefix': texts['path-prefix'],
    policy: texts.policy,
    groups: texts.groups,
  };
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
    if (!form.data.host) fail(`error: --host is required\n${USAGE}`);
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
  case 'add-oidc': {
    const form = parseAppFormWithClient({
      name: args.name,
      host: args.host,
      pathPrefix: args['path-prefix'],
      policy: args.policy ?? 'signed-in',
      groups: args.groups,
      oidc: 'yes',
      redirectUris: lists['redirect-uri'].join('\n'),
      postLogoutRedirectUris: lists['post-logout-uri'].join('\n'),
      clientType: flags.public ? 'public' : 'confidential',
      firstParty: flags['first-party'] ? 'yes' : '',
    });
    if (!form.ok) fail(`error: ${Object.values(form.errors).join(' ')}\n${USAGE}`);
    const { result, issuer } = await withDatabase(async (db, config) => ({
      result: await createOidcApp(
        db,
        config.totpKeys,
        { ...form.data, oidc: form.data.oidc! },
        { ...actor, now: now() },
      ),
      issuer: oidcIssuer(config.baseUrl),
    }));
    if (!result.ok)
      fail(
        `error: ${result.reason === 'name_taken' ? 'an app with this name exists' : 'an app already has this host and path prefix'}`,
      );
    console.log(`Added ${describeApp(result.app)}`);
    console.log(`issuer: ${issuer}`);
    console.log(`client_id: ${result.app.oidc!.clientId}`);
    // Shown once: Keygate keeps it encrypted and never prints it again.
    if (result.clientSecret) console.log(`client_secret: ${result.clientSecret}`);
    break;
  }
  case 'list': {
    const apps = await withDatabase((db) => listApps(db));
    if (apps.length === 0) console.log('No apps.');
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
