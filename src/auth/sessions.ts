import type { Db } from '../db/knex.ts';

/** Ends every session of a user except `keepSid` (the one making the change), if given. */
export async function endUserSessions(db: Db, userId: string, keepSid?: string): Promise<number> {
  const query = db('sessions').where({ user_id: userId });
  if (keepSid) query.whereNot({ sid: keepSid });
  return query.delete();
}
