import { Router, type RequestHandler, type Response } from 'express';
import { LOW_RECOVERY_CODES } from '../auth/limits.ts';
import { policyState } from '../auth/policy.ts';
import { createUserAsAdmin } from '../auth/user-admin.ts';
import { listUsers, type UserListQuery } from '../auth/user-list.ts';
import type { AppDeps } from '../deps.ts';
import { timeAgo } from '../format.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminUserPath, paths } from '../paths.ts';
import { createUserForm, userListQuery } from '../validation/admin.ts';
import { parseForm, type FieldErrors } from '../validation/forms.ts';
import { keepOneTimePassword } from './one-time-password.ts';

/**
 * The administrators' user list and creating users (behind app.ts's adminGuards: a signed-in
 * admin, with their own 2FA on where the policy covers them).
 *
 *   GET  /admin            → /admin/users
 *   GET  /admin/users      showUserList
 *   GET  /admin/users/new  recent → showNewUserForm
 *   POST /admin/users/new  recent → createUser
 */
export function adminUsersRoutes(deps: AppDeps): Router {
  const recent = requireRecentAuth(deps.config.recentAuthWindowMs, deps.clock);
  return Router()
    .get(paths.admin, toUserList)
    .get(paths.adminUsers, showUserList(deps))
    .get(paths.adminNewUser, recent, showNewUserForm)
    .post(paths.adminNewUser, recent, createUser(deps));
}

const toUserList: RequestHandler = (_req, res) => res.redirect(303, paths.adminUsers);

function showUserList({ db, config, clock }: AppDeps): RequestHandler {
  return async function showUserList(req, res) {
    const parsed = parseForm(userListQuery, req.query);
    if (!parsed.ok)
      throw new HttpError(400, req.t.admin.badListAddress(Object.values(parsed.errors)));
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
    if (!page) throw new HttpError(400, req.t.admin.badPageLink());
    const now = clock.now();
    const filters = {
      q: query.search,
      twofa: query.twoFactor,
      role: query.role,
      active: query.active,
      sort: query.sort,
    };
    const link = (extra: Record<string, string>) =>
      `${paths.adminUsers}?` +
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
      lowRecoveryCodes: LOW_RECOVERY_CODES,
    });
  };
}

function renderNewUserForm(
  res: Response,
  status: number,
  values: Record<string, string>,
  errors: FieldErrors,
) {
  res.status(status).render('admin/new-user', { values, errors });
}

const showNewUserForm: RequestHandler = (_req, res) =>
  renderNewUserForm(res, 200, { email: '', role: 'user', passwordChoice: 'generate' }, {});

function createUser({ db, config, clock }: AppDeps): RequestHandler {
  return async function createUser(req, res) {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (name: string, fallback: string) =>
      typeof body[name] === 'string' ? (body[name] as string).slice(0, 254) : fallback;
    const values = {
      email: text('email', ''),
      role: text('role', 'user'),
      passwordChoice: text('passwordChoice', 'generate'),
    };
    const form = parseForm(createUserForm, req.body);
    if (!form.ok) return renderNewUserForm(res, 400, values, form.errors);
    const admin = currentUser(req);
    const result = await createUserAsAdmin(db, {
      email: form.data.email,
      role: form.data.role,
      password: form.data.passwordChoice === 'set' ? form.data.password : null,
      bcryptCost: config.bcryptCost,
      actorId: admin.id,
      now: new Date(clock.now()),
      origin: originOf(req),
    });
    if (!result.ok) return renderNewUserForm(res, 409, values, { email: req.t.admin.emailTaken() });
    req.log.info(
      { event: 'user_created', userId: result.user.id, actorId: admin.id },
      'user created by an administrator',
    );
    // Post/Redirect/Get: the password is shown once, on the page this redirects to (no-store),
    // never stored in clear or logged, and a reload resubmits nothing.
    if (result.generatedPassword)
      keepOneTimePassword(req, config.totpKeys, {
        userId: result.user.id,
        purpose: 'created',
        password: result.generatedPassword,
      });
    res.redirect(303, adminUserPath(result.user.id, 'created'));
  };
}
