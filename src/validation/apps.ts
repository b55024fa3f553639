import { z } from 'zod';
import { isGroupName } from '../auth/groups.ts';
import { APP_POLICIES, type AppPolicy } from '../auth/protected-apps.ts';
import { en } from '../messages/index.ts';
import { textField } from './forms.ts';

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

/** The Protected apps form (and `npm run app -- add`): the same rules in both. */
export const appForm = z.object({
  name: textField('Name', { max: 60, required: en.gate.enterAppName() }),
  host: textField('Host', { max: 253, required: en.gate.enterHost() })
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

export const groupForm = z.object({
  group: textField('Group', { max: 63, required: en.gate.enterGroup() })
    .transform((group) => group.toLowerCase())
    .refine((group) => group === '' || isGroupName(group), en.gate.groupShape()),
});
