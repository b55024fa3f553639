import type { RequestOrigin } from './sign-in.ts';

/**
 * What an operator's command (npm run user, create-user) is recorded as: no address, no browser,
 * and `via: 'command line'` in every audit row it writes, through the same `...origin` the admin
 * pages pass. The audit rows have no actor user (actor_id NULL): nobody signed in.
 */
export const COMMAND_LINE_ORIGIN: RequestOrigin = Object.freeze({
  ip: '',
  userAgent: null,
  via: 'command line',
});

/**
 * The actor id the admin functions of user-admin.ts record for the command line: none.
 * Their AdminAction type says `actorId: string` because until now only a signed-in admin acted;
 * recordAuditEvent stores null as actor_id NULL, and disableTwoFactor takes null as "no user".
 */
export const COMMAND_LINE_ACTOR = null as unknown as string;
