/**
 * The actions an administrator takes on one user (admin-user.ts shows and confirms them): which
 * apply, which must be refused before a button is offered, and doing them.
 */
import type { Request } from 'express';
import { setTemporaryPassword } from '../auth/temporary-password.ts';
import { accountLockedUntil } from '../auth/throttle.ts';
import { forgetTrustedBrowsersAs } from '../auth/trusted-browsers.ts';
import {
  endAllSessionsOf,
  isLastActiveAdmin,
  resetTwoFactorOf,
  setUserActive,
  setUserRole,
  unlockSignIn,
  type GuardedResult,
} from '../auth/user-admin.ts';
import type { User } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf, targetUser } from '../http.ts';
import { resetTwoFactorForm, temporaryPasswordForm } from '../validation/admin.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { keepOneTimePassword } from './one-time-password.ts';

/** What an administrator can do to one user; each has a confirmation page (GET) and a POST. */
export const ACTIONS = [
  'unlock-sign-in',
  'make-admin',
  'reactivate',
  'set-password',
  'reset-2fa',
  'end-sessions',
  'forget-browsers',
  'remove-admin',
  'deactivate',
] as const;
export type ActionName = (typeof ACTIONS)[number];
/** Actions that take something away: danger-styled and grouped apart on the page. */
export const DESTRUCTIVE: ReadonlySet<ActionName> = new Set([
  'set-password',
  'reset-2fa',
  'end-sessions',
  'forget-browsers',
  'remove-admin',
  'deactivate',
]);

/** Whether the action applies to the user as they are now (else the page just goes back). */
export function available(action: ActionName, target: User): boolean {
  switch (action) {
    case 'reset-2fa':
      return target.totpEnabledAt !== null;
    case 'deactivate':
      return target.isActive;
    case 'reactivate':
      return !target.isActive;
    case 'make-admin':
      return target.role !== 'admin';
    case 'remove-admin':
      return target.role === 'admin';
    default:
      return true;
  }
}

/** Why the action must not be done, decided before any button is offered; or null. */
export async function refusal(
  { db }: AppDeps,
  action: ActionName,
  req: Request,
): Promise<string | null> {
  const target = targetUser(req);
  const self = target.id === currentUser(req).id;
  if (action === 'deactivate' || action === 'remove-admin') {
    if (await isLastActiveAdmin(db, target.id)) return req.t.admin.lastAdmin();
    if (self) return req.t.admin.notYourself(action);
  }
  if (action === 'set-password' && self) return req.t.admin.notYourself(action);
  return null;
}

type Outcome =
  GuardedResult | { ok: true; notice: string } | { ok: false; reason: 'form'; errors: FieldErrors };

export async function perform(deps: AppDeps, action: ActionName, req: Request): Promise<Outcome> {
  const { db, config, clock } = deps;
  const target = targetUser(req);
  const base = {
    targetId: target.id,
    actorId: currentUser(req).id,
    now: new Date(clock.now()),
    origin: originOf(req),
  };
  switch (action) {
    case 'reset-2fa': {
      const form = parseForm(resetTwoFactorForm, req.body);
      await resetTwoFactorOf(db, { ...base, reason: form.ok ? form.data.reason : '' });
      return { ok: true };
    }
    case 'set-password': {
      const form = parseForm(temporaryPasswordForm, req.body);
      if (!form.ok) return { ok: false, reason: 'form', errors: form.errors };
      const typed = form.data.passwordChoice === 'set' ? form.data.password : null;
      const result = await setTemporaryPassword(db, {
        userId: target.id,
        password: typed,
        bcryptCost: config.bcryptCost,
        actorId: base.actorId,
        now: base.now,
        origin: base.origin,
      });
      if (!result.ok) return result;
      if (result.generatedPassword)
        keepOneTimePassword(req, config.totpKeys, {
          userId: target.id,
          purpose: 'temporary',
          password: result.generatedPassword,
        });
      return { ok: true };
    }
    case 'deactivate':
      return setUserActive(db, { ...base, active: false });
    case 'reactivate':
      return setUserActive(db, { ...base, active: true });
    case 'make-admin':
      return setUserRole(db, { ...base, role: 'admin' });
    case 'remove-admin':
      return setUserRole(db, { ...base, role: 'user' });
    case 'end-sessions':
      await endAllSessionsOf(db, base);
      return { ok: true };
    case 'forget-browsers': {
      const forgotten = await forgetTrustedBrowsersAs(db, {
        userId: target.id,
        actorId: base.actorId,
        browserId: 'all',
        origin: base.origin,
        now: base.now,
      });
      return { ok: true, notice: req.t.admin.browsersForgotten(forgotten) };
    }
    case 'unlock-sign-in': {
      const lockedUntil = await accountLockedUntil(db, target, base.now);
      await unlockSignIn(db, { ...base, email: target.email });
      return { ok: true, notice: req.t.admin.unlocked(lockedUntil !== null) };
    }
  }
}
