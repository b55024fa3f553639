import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { describeUserAgent, recentActivity, timeAgo } from '../auth/activity.ts';
import { coveredByPolicy, policyState } from '../auth/policy.ts';
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts';
import { listUserSessions } from '../auth/sessions.ts';
import {
  createUserAsAdmin,
  endAllSessionsOf,
  listUsers,
  resetTwoFactorOf,
  setUserActive,
  setUserRole,
  unlockSignIn,
  type GuardedResult,
  type UserListQuery,
} from '../auth/user-admin.ts';
import { findUserById, isUserId, type User } from '../auth/users.ts';
import { requireAdmin, requireAuth, requireRecentAuth } from '../middleware/auth.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/session.ts';
import { createUserForm, resetTwoFactorForm, userListQuery } from '../validation/admin.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { originOf } from './auth.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The user an /admin/users/:id route acts on. */
    target?: User;
  }
}

/** The confirmation pages: what each action does, in words, and how it is carried out. */
const ACTIONS = {
  'reset-2fa': {
    title: 'Reset two-factor authentication',
    explain:
      'This deletes their authenticator secret and all recovery codes and signs them out everywhere. They can sign in with their password and set up two-factor authentication again. They will see a notice when they next sign in.',
    button: 'Reset two-factor authentication',
    done: 'Two-factor authentication was reset and all their sessions were ended.',
  },
  deactivate: {
    title: 'Deactivate account',
    explain:
      'They will be signed out everywhere and cannot sign in until the account is reactivated.',
    button: 'Deactivate',
    done: 'The account was deactivated and all its sessions were ended.',
  },
  reactivate: {
    title: 'Reactivate account',
    explain: 'They will be able to sign in again.',
    button: 'Reactivate',
    done: 'The account was reactivated.',
  },
  'make-admin': {
    title: 'Make administrator',
    explain: 'They will be able to manage every user of Keygate, including you.',
    button: 'Make administrator',
    done: 'They are now an administrator.',
  },
  'remove-admin': {
    title: 'Remove administrator rights',
    explain: 'They will keep their account but can no longer manage users.',
    button: 'Remove administrator rights',
    done: 'They are no longer an administrator.',
  },
  'unlock-sign-in': {
    title: 'Unlock sign-in',
    explain:
      'If too many wrong passwords locked this account, they can sign in again right away. Use it when you know the failed attempts were theirs or are over.',
    button: 'Unlock sign-in',
    done: 'Sign-in is unlocked.',
  },
  'end-sessions': {
    title: 'Sign out everywhere',
    explain: 'Every session of theirs ends now, on every device. Their account is not changed.',
    button: 'Sign out everywhere',
    done: 'All their sessions were ended.',
  },
} as const;
type ActionName = keyof typeof ACTIONS;

export function adminRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();

  /** Admins covered by the 2FA policy administer only with their own 2FA on. */
  const requireOwnTwoFactor: RequestHandler = (req, _res, next) => {
    const user = req.user!;
    if (coveredByPolicy(config.require2fa, user) && !user.totpEnabledAt) {
      return next(
        new HttpError(
          403,
          'Turn on two-factor authentication first',
          'Administrators must use two-factor authentication to manage users. Turn it on in your settings, then come back.',
        ),
      );
    }
    next();
  };
  router.use('/admin', requireAuth, requireAdmin, requireOwnTwoFactor);

  router.get('/admin', (_req, res) => res.redirect(303, '/admin/users'));

  router.get('/admin/users', async (req, res) => {
    const parsed = parseForm(userListQuery, req.query);
    if (!parsed.ok) {
      throw new HttpError(
        400,
        'That list address is not valid',
        Object.values(parsed.errors).join(' '),
      );
    }
    const query: UserListQuery = {
      search: parsed.data.q,
      twoFactor: parsed.data.twofa,
      role: parsed.data.role,
      active: parsed.data.active,
      sort: parsed.data.sort || 'email',
      after: parsed.data.after,
      before: parsed.data.before,
    };
    const page = await listUsers(db, query);
    if (!page)
      throw new HttpError(
        400,
        'That page link is not valid',
        'Go back to the first page of the list and try again.',
      );
    const now = clock.now();
    const filters = {
      q: query.search,
      twofa: query.twoFactor,
      role: query.role,
      active: query.active,
      sort: query.sort,
    };
    const link = (extra: Record<string, string>) =>
      '/admin/users?' +
      new URLSearchParams(
        Object.entries({ ...filters, ...extra }).filter(([, v]) => v !== ''),
      ).toString();
    res.render('admin/users', {
      filters,
      rows: page.rows.map((row) => ({
        ...row,
        policy: policyState(config.require2fa, config.require2faGraceMs, row, now),
        lastSignIn: row.lastSignInAt ? timeAgo(row.lastSignInAt, now) : 'never',
      })),
      nextHref: page.next ? link({ after: page.next }) : null,
      previousHref: page.previous ? link({ before: page.previous }) : null,
      sortHref: (sort: string) => link({ sort }),
    });
  });

  // Creating a user.
  const renderNew = (
    res: Response,
    status: number,
    values: Record<string, string>,
    errors: FieldErrors,
  ) => res.status(status).render('admin/new-user', { values, errors });
  const recent = requireRecentAuth(config.recentAuthWindowMs, clock);

  router.get('/admin/users/new', recent, (_req, res) =>
    renderNew(res, 200, { email: '', role: 'user', passwordChoice: 'generate' }, {}),
  );

  router.post('/admin/users/new', recent, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (name: string, fallback: string) =>
      typeof body[name] === 'string' ? (body[name] as string).slice(0, 254) : fallback;
    const values = {
      email: text('email', ''),
      role: text('role', 'user'),
      passwordChoice: text('passwordChoice', 'generate'),
    };
    const form = parseForm(createUserForm, req.body);
    if (!form.ok) return renderNew(res, 400, values, form.errors);
    const result = await createUserAsAdmin(db, {
      email: form.data.email,
      role: form.data.role,
      password: form.data.passwordChoice === 'set' ? form.data.password : null,
      bcryptCost: config.bcryptCost,
      actorId: req.user!.id,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    if (!result.ok)
      return renderNew(res, 409, values, {
        email: 'A user with this email address already exists.',
      });
    req.log.info(
      { event: 'user_created', userId: result.user.id, actorId: req.user!.id },
      'user created by an administrator',
    );
    // Shown once, in this response (no-store), never stored in clear or logged.
    res.status(201).render('admin/user-created', {
      created: result.user,
      generatedPassword: result.generatedPassword,
    });
  });

  // One user, and the actions on them.
  const loadTarget: RequestHandler = async (req, _res, next) => {
    const id = req.params.id;
    const target = isUserId(id) ? await findUserById(db, id) : null;
    if (!target)
      return next(
        new HttpError(
          404,
          'No such user',
          'That user does not exist. Go back to the list and search again.',
        ),
      );
    req.target = target;
    next();
  };

  router.get('/admin/users/:id', loadTarget, async (req, res) => {
    const target = req.target!;
    const now = clock.now();
    const [codesLeft, sessions, activity] = await Promise.all([
      countUnusedRecoveryCodes(db, target.id),
      listUserSessions(db, target.id, req.sessionID, new Date(now)),
      recentActivity(db, target.id, now, 20),
    ]);
    res.render('admin/user', {
      target,
      codesLeft,
      policy: policyState(config.require2fa, config.require2faGraceMs, target, now),
      sessions: sessions.map((s) => ({
        ...s,
        device: describeUserAgent(s.userAgent),
        lastSeen: s.lastSeenAt ? timeAgo(s.lastSeenAt, now) : 'unknown',
      })),
      activity,
    });
  });

  const available = (action: ActionName, target: User): boolean => {
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
      case 'end-sessions':
      case 'unlock-sign-in':
        return true;
    }
  };

  const perform = async (action: ActionName, req: Request): Promise<GuardedResult> => {
    const base = {
      targetId: req.target!.id,
      actorId: req.user!.id,
      now: new Date(clock.now()),
      origin: originOf(req),
    };
    switch (action) {
      case 'reset-2fa': {
        const form = parseForm(resetTwoFactorForm, req.body);
        await resetTwoFactorOf(db, { ...base, reason: form.ok ? form.data.reason : '' });
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
      case 'unlock-sign-in':
        await unlockSignIn(db, { ...base, email: req.target!.email });
        return { ok: true };
    }
  };

  for (const action of Object.keys(ACTIONS) as ActionName[]) {
    const path = `/admin/users/:id/${action}`;
    router.get(path, recent, loadTarget, (req, res) => {
      if (!available(action, req.target!))
        return res.redirect(303, `/admin/users/${req.target!.id}`);
      res.render('admin/confirm-action', {
        target: req.target,
        action,
        ...ACTIONS[action],
        errors: {},
      });
    });
    router.post(path, recent, loadTarget, async (req, res) => {
      const target = req.target!;
      if (!available(action, target)) return res.redirect(303, `/admin/users/${target.id}`);
      const result = await perform(action, req);
      if (!result.ok) {
        return res.status(409).render('admin/confirm-action', {
          target,
          action,
          ...ACTIONS[action],
          errors: {
            form: 'This is the last active administrator. Make someone else an administrator first, so that Keygate always has one.',
          },
        });
      }
      req.log.info(
        { event: `admin_${action}`, userId: target.id, actorId: req.user!.id },
        'administrator action',
      );
      setFlash(req, 'success', ACTIONS[action].done);
      res.redirect(303, `/admin/users/${target.id}`);
    });
  }

  return router;
}
