import { z } from 'zod';
import { isGroupName } from '../auth/groups.ts';
import type { OidcClientInput } from '../auth/oidc-clients.ts';
import { APP_POLICIES, type AppInput, type AppPolicy } from '../auth/protected-apps.ts';
import { en } from '../messages/index.ts';
import { parseForm, textField, type FormResult } from './forms.ts';

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const PATH_PREFIX = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

/** Group names as typed: separated by commas or spaces, any case. */
export function parseGroupList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((g) => g.toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/** The Apps form (and `npm run app -- add`): the same rules in both. */
export const appForm = z.object({
  name: textField('Name', { max: 60, required: en.gate.enterAppName() }),
  // Empty: no forward-auth (the app is then an OpenID Connect client; the route checks one is).
  host: textField('Host', { max: 253 })
    .transform((host) => host.toLowerCase().replace(/\.$/, ''))
    .refine((host) => host === '' || HOST_NAME.test(host), en.gate.hostShape()),
  pathPrefix: textField('Path prefix', { max: 200 })
    .transform((prefix) => prefix.replace(/\/+$/, ''))
    .refine((prefix) => prefix === '' || PATH_PREFIX.test(prefix), en.gate.prefixShape()),
  policy: textField('Policy', { max: 20 }).refine(
    (value): value is AppPolicy => (APP_POLICIES as readonly string[]).includes(value),
    en.forms.oneOf('Policy', APP_POLICIES),
  ) as unknown as z.ZodType<AppPolicy>,
  groups: textField('Groups', { max: 1000 })
    .transform(parseGroupList)
    .refine((groups) => groups.every(isGroupName), en.gate.groupShape()),
});

/** Redirect URIs as typed, one per line (or separated by spaces): compared exactly later. */
export function parseUriList(text: string): string[] {
  return [...new Set(text.split(/\s+/).filter(Boolean))];
}

/** An absolute http(s) address without user info or fragment, as a redirect URI must be. */
export function isRedirectUri(value: string): boolean {
  if (value.length > 2000) return false;
  const url = URL.parse(value);
  return (
    url !== null &&
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    url.hash === '' &&
    !value.includes('#') &&
    url.href === value
  );
}

function uriList(label: string, required?: string) {
  return textField(label, { max: 10_000, ...(required ? { required } : {}) })
    .transform(parseUriList)
    .refine((uris) => uris.length <= 10, en.oidcForms.tooManyUris())
    .refine((uris) => uris.every(isRedirectUri), en.oidcForms.uriShape());
}

/** The OpenID Connect part of the Apps form (and `npm run app -- add-oidc`). */
export const oidcClientForm = z.object({
  redirectUris: uriList('Redirect URIs', en.oidcForms.enterRedirectUri()),
  postLogoutRedirectUris: uriList('Post-logout redirect URIs'),
  clientType: textField('Client type', { max: 20 }).refine(
    (value) => value === 'confidential' || value === 'public',
    en.forms.oneOf('Client type', ['confidential', 'public']),
  ),
  firstParty: textField('First-party', { max: 3 }).transform((value) => value === 'yes'),
});

export const groupForm = z.object({
  group: textField('Group', { max: 63, required: en.gate.enterGroup() })
    .transform((group) => group.toLowerCase())
    .refine((group) => group === '' || isGroupName(group), en.gate.groupShape()),
});

/**
 * The whole Apps form: the app (appForm) and, when "OpenID Connect" is ticked, its client. An app
 * needs a way in: a host for the gate, a client, or both.
 */
export function parseAppFormWithClient(
  body: unknown,
): FormResult<AppInput & { oidc: OidcClientInput | null }> {
  const app = parseForm(appForm, body);
  const wantsClient = (body as { oidc?: unknown } | undefined)?.oidc === 'yes';
  const client = wantsClient ? parseForm(oidcClientForm, body) : null;
  const errors = { ...(app.ok ? {} : app.errors), ...(client && !client.ok ? client.errors : {}) };
  if (app.ok && app.data.host === '' && !wantsClient) errors.host = en.oidcForms.hostOrClient();
  if (!app.ok || (client && !client.ok) || Object.keys(errors).length > 0)
    return { ok: false, errors };
  const { groups, ...rest } = app.data;
  return {
    ok: true,
    data: {
      ...rest,
      allowedGroups: groups,
      oidc:
        client && client.ok
          ? {
              redirectUris: client.data.redirectUris,
              postLogoutRedirectUris: client.data.postLogoutRedirectUris,
              isPublic: client.data.clientType === 'public',
              firstParty: client.data.firstParty,
            }
          : null,
    },
  };
}
