import type { PageText } from './sign-in.ts';

/** Forward-auth: what the authz endpoints and the pages around them say. */
export const gate = {
  // Plain-text answers to proxies and scripts (their bodies are rarely shown to anyone).
  badRequest: () =>
    'The proxy did not say which address was asked for (X-Original-URL, or X-Forwarded-Method, -Proto, -Host and -Uri).',
  untrustedProxy: () =>
    'This address answers only the reverse proxy in front of your apps (see TRUST_PROXY).',
  unavailable: () => 'Keygate is temporarily unavailable. Try again in a moment.',
  signInRequired: () => 'Sign in first.',
  enrolmentRequired: () => 'Turn on two-factor authentication first.',
  deniedPlain: (app: string | null) =>
    app ? `You may not open ${app}.` : 'This address is not one of the apps Keygate protects.',
  denied: (app: string | null, groups: readonly string[]): PageText => ({
    title: app ? `You may not open ${app}` : 'This app is not protected by Keygate',
    message: app
      ? groups.length > 0
        ? `${app} is open to members of ${groups.join(', ')}. Ask your Keygate administrator to add you to one of these groups.`
        : `Nobody may open ${app} at the moment. Ask your Keygate administrator if you need it.`
      : 'Keygate lets nobody in to an address it does not know. Ask your Keygate administrator to add this app.',
  }),
  noSuchApp: (): PageText => ({
    title: 'No such app',
    message: 'That app does not exist. Go back to the list of protected apps.',
  }),
  appSaved: (name: string, created: boolean) => `${name} was ${created ? 'added' : 'changed'}.`,
  appRemoved: (name: string) => `${name} was removed. Nobody can open it through Keygate now.`,
  appNameTaken: () => 'Another app already has this name.',
  appPlaceTaken: () => 'Another app already has this host and path prefix.',
  enterAppName: () => 'Enter a name for the app.',
  enterHost: () => 'Enter the host name people use for the app, such as wiki.example.com.',
  hostShape: () => 'Enter a host name only, such as wiki.example.com: no scheme, port or path.',
  prefixShape: () =>
    'Enter a path that starts with a slash, such as /admin, or leave it empty for the whole host.',
  groupShape: () =>
    'Group names use lowercase letters, digits, dots, dashes and underscores (up to 63).',
  enterGroup: () => 'Enter a group name.',
  groupAdded: (group: string) => `Added to ${group}.`,
  groupRemoved: (group: string) =>
    `Removed from ${group}. Their next request to an app limited to it is refused.`,
  groupUnchanged: () => 'Nothing changed.',
};
