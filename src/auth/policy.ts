import type { Db } from '../db/knex.ts';
import type { User } from './users.ts';

export type TwoFactorPolicy = 'off' | 'admins' | 'all';

export type PolicyState =
  | { kind: 'exempt' }
  | { kind: 'satisfied' }
  | { kind: 'grace'; deadline: Date }
  | { kind: 'enforced' };

export function coveredByPolicy(policy: TwoFactorPolicy, user: Pick<User, 'role'>): boolean {
  return policy === 'all' || (policy === 'admins' && user.role === 'admin');
}

/**
 * Where a user stands with the 2FA policy. The grace period counts from the first time the
 * policy applied to them (recorded by startGracePeriod); a user it never applied to yet is in
 * grace from now.
 */
export function policyState(
  policy: TwoFactorPolicy,
  graceMs: number,
  user: Pick<User, 'role' | 'totpEnabledAt' | 'twoFactorGraceStartedAt'>,
  now: number,
): PolicyState {
  if (!coveredByPolicy(policy, user)) return { kind: 'exempt' };
  if (user.totpEnabledAt) return { kind: 'satisfied' };
  const deadline = (user.twoFactorGraceStartedAt?.getTime() ?? now) + graceMs;
  return now < deadline ? { kind: 'grace', deadline: new Date(deadline) } : { kind: 'enforced' };
}

/** Records when the policy started to apply to a covered user without 2FA (once). */
export async function startGracePeriod(db: Db, userId: string, now: Date): Promise<Date> {
  const [row] = await db('users')
    .where({ id: userId })
    .update({
      two_factor_grace_started_at: db.raw('coalesce(two_factor_grace_started_at, ?)', [now]),
    })
    .returning('two_factor_grace_started_at');
  return row.two_factor_grace_started_at as Date;
}
