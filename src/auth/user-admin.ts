import type { Knex } from 'knex';
import type { Db } from '../db/knex.ts';
import { recordAuditEvent } from './audit.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { endOtherSessions, endUserSessions } from './sessions.ts';
import type { RequestOrigin } from './origin.ts';
import { accountKeyOf, unlockPasswordSignIn } from './throttle.ts';
import { forgetTrustedBrowsers } from './trusted-browsers.ts';
import { disableTwoFactor } from './two-factor-removal.ts';
import { createUser, toUser, type Role, type User, type UserRow } from './users.ts';

interface AdminAction {
  targetId: string;
  /** The admin acting, or null for the command line (no user signed in). */
  actorId: string | null;
  now: Date;
  origin: RequestOrigin;
}

/** Whether `userId` is the only active administrator (so Keygate would be left without one). */
export async function isLastActiveAdmin(db: Db, userId: string): Promise<boolean> {
  const rows = await db('users').where({ role: 'admin', is_active: true }).limit(2).pluck('id');
  return rows.length === 1 && String(rows[0]) === userId;
}

export type GuardedResult = { ok: true } | { ok: false; reason: 'last_admin' | 'not_found' };

/**
 * Runs a change that may take away an active admin, under one lock for all such changes, and
 * refuses it if the target is the last active admin: Keygate must always keep one.
 */
async function guardLastAdmin(
  db: Db,
  targetId: string,
  removesAdmin: (target: User) => boolean,
  change: (trx: Knex.Transaction, target: User) => Promise<void>,
): Promise<GuardedResult> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(20261125, 0)');
    const row = await trx<UserRow>('users').where({ id: targetId }).first();
    if (!row) return { ok: false, reason: 'not_found' } as const;
    const target = toUser(row);
    if (target.role === 'admin' && target.isActive && removesAdmin(target)) {
      const admins = await trx('users')
        .where({ role: 'admin', is_active: true })
        .count<{ n: string }>('* as n')
        .first();
      if (Number(admins?.n) <= 1) return { ok: false, reason: 'last_admin' } as const;
    }
    await change(trx, target);
    return { ok: true } as const;
  });
}

/** Deactivating also ends every session of the user (ASVS 7.4.2) and forgets their trusted browsers. */
export function setUserActive(
  db: Db,
  action: AdminAction & { active: boolean },
): Promise<GuardedResult> {
  return guardLastAdmin(
    db,
    action.targetId,
    () => !action.active,
    async (trx) => {
      await trx('users')
        .where({ id: action.targetId })
        .update({ is_active: action.active, updated_at: action.now });
      if (!action.active) {
        await endUserSessions(trx, action.targetId, { reason: 'deactivated' });
        await forgetTrustedBrowsers(trx, action.targetId);
      }
      await recordAuditEvent(trx, {
        event: action.active ? 'user_reactivated' : 'user_deactivated',
        userId: action.targetId,
        actorId: action.actorId,
        ...action.origin,
        at: action.now,
      });
    },
  );
}

export function setUserRole(db: Db, action: AdminAction & { role: Role }): Promise<GuardedResult> {
  return guardLastAdmin(
    db,
    action.targetId,
    () => action.role !== 'admin',
    async (trx, target) => {
      if (target.role === action.role) return;
      await trx('users')
        .where({ id: action.targetId })
        .update({ role: action.role, updated_at: action.now });
      await recordAuditEvent(trx, {
        event: 'role_changed',
        userId: action.targetId,
        actorId: action.actorId,
        ...action.origin,
        details: { from: target.role, to: action.role },
        at: action.now,
      });
    },
  );
}

export async function endAllSessionsOf(db: Db, action: AdminAction): Promise<number> {
  const { ended } = await endOtherSessions(db, {
    userId: action.targetId,
    actorId: action.actorId,
    origin: action.origin,
    now: action.now,
  });
  return ended;
}

/** Lifts a password lock on the account (see throttle.ts); audited with the admin. */
export async function unlockSignIn(db: Db, action: AdminAction & { email: string }): Promise<void> {
  await unlockPasswordSignIn(db, {
    accountKey: accountKeyOf(action.email),
    userId: action.targetId,
    ip: action.origin.ip,
    now: action.now,
  });
  await recordAuditEvent(db, {
    event: 'sign_in_unlocked',
    userId: action.targetId,
    actorId: action.actorId,
    ...action.origin,
    at: action.now,
  });
}

/** Deletes the user's secret and recovery codes and ends all their sessions; audited with the admin. */
export async function resetTwoFactorOf(
  db: Db,
  action: AdminAction & { reason: string },
): Promise<void> {
  await disableTwoFactor(db, {
    userId: action.targetId,
    actorId: action.actorId,
    now: action.now,
    origin: action.origin,
    ...(action.reason ? { reason: action.reason } : {}),
  });
}

export type AdminCreateResult =
  { ok: true; user: User; generatedPassword: string | null } | { ok: false; reason: 'email_taken' };

/** A user made by an admin must choose their own password at first sign-in. */
export async function createUserAsAdmin(
  db: Db,
  input: {
    email: string;
    role: Role;
    password: string | null;
    bcryptCost: number;
    actorId: string;
    now: Date;
    origin: RequestOrigin;
  },
): Promise<AdminCreateResult> {
  const generatedPassword = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? generatedPassword!, input.bcryptCost);
  const result = await createUser(db, {
    email: input.email,
    passwordHash,
    role: input.role,
    mustChangePassword: true,
  });
  if (!result.ok) return result;
  await recordAuditEvent(db, {
    event: 'user_created',
    userId: result.user.id,
    actorId: input.actorId,
    ...input.origin,
    details: { role: input.role, via: 'admin', generatedPassword: generatedPassword !== null },
    at: input.now,
  });
  return { ok: true, user: result.user, generatedPassword };
}
