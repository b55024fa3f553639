import crypto from 'node:crypto';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import type { RequestOrigin } from './origin.ts';
import { createUser, type CreateUserResult } from './users.ts';

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A fresh first-admin setup token (256 random bits). Only its hash is stored, and any earlier
 * token is replaced, so only the link printed last works.
 */
export async function createSetupToken(db: Db): Promise<string> {
  const token = crypto.randomBytes(32).toString('base64url');
  await db.transaction(async (trx) => {
    await trx('setup_tokens').delete();
    await trx('setup_tokens').insert({ token_hash: hashToken(token) });
  });
  return token;
}

export async function isSetupTokenValid(db: Db, token: string): Promise<boolean> {
  const row = await db('setup_tokens')
    .where({ token_hash: hashToken(token) })
    .first();
  return Boolean(row);
}

export type FirstAdminResult = CreateUserResult | { ok: false; reason: 'invalid_token' };

/**
 * Consumes the token and creates the first admin in one transaction, audited and counted as their
 * first sign-in (they are signed in straight away). The DELETE … RETURNING makes the token single
 * use even under concurrent requests, and the table lock keeps a second user from appearing
 * between the "no user yet" check and the insert.
 */
export async function createFirstAdmin(
  db: Db,
  token: string,
  input: { email: string; passwordHash: string; origin: RequestOrigin; now: Date },
): Promise<FirstAdminResult> {
  return db.transaction(async (trx) => {
    await trx.raw('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
    const consumed = await trx('setup_tokens')
      .where({ token_hash: hashToken(token) })
      .delete()
      .returning('token_hash');
    if (consumed.length === 0) return { ok: false, reason: 'invalid_token' } as const;
    const anyUser = await trx('users').first('id');
    if (anyUser) {
      await trx('setup_tokens').delete();
      return { ok: false, reason: 'invalid_token' } as const;
    }
    const created = await createUser(trx, {
      email: input.email,
      passwordHash: input.passwordHash,
      role: 'admin',
    });
    if (!created.ok) return created;
    await trx('users').where({ id: created.user.id }).update({ last_sign_in_at: input.now });
    await recordAuditEvent(trx, {
      event: 'first_admin_created',
      userId: created.user.id,
      actorId: created.user.id,
      ...input.origin,
      at: input.now,
    });
    return created;
  });
}
