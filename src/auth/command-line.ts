import type { RequestOrigin } from './origin.ts';

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

/** The actor the admin functions of user-admin.ts record for the command line: no user. */
export const COMMAND_LINE_ACTOR = null;
