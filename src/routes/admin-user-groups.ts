import { Router, type RequestHandler } from 'express';
import { addUserToGroup, removeUserFromGroup } from '../auth/groups.ts';
import { findUserById, isUserId } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';
import { currentUser, originOf } from '../http.ts';
import { HttpError } from '../middleware/errors.ts';
import { setFlash } from '../middleware/flash.ts';
import { requireRecentAuth } from '../middleware/guards.ts';
import { adminUserPath, paths } from '../paths.ts';
import { groupForm } from '../validation/apps.ts';
import { parseForm } from '../validation/forms.ts';

/**
 * A user's groups, from their page (behind app.ts's adminGuards). Audited; a removal takes effect
 * on the user's next authz call.
 *
 *   POST /admin/users/:id/groups          recent(back: user page) → changeGroup('add')
 *   POST /admin/users/:id/groups/remove   recent(back: user page) → changeGroup('remove')
 */
export function adminUserGroupsRoutes(deps: AppDeps): Router {
  const { config, clock } = deps;
  const recent: RequestHandler = (req, res, next) =>
    requireRecentAuth(config.recentAuthWindowMs, clock, {
      back: adminUserPath(String(req.params.id)),
    })(req, res, next);
  return Router()
    .post(paths.adminUserGroups, recent, changeGroup(deps, 'add'))
    .post(paths.adminUserGroupRemove, recent, changeGroup(deps, 'remove'));
}

function changeGroup({ db, clock }: AppDeps, change: 'add' | 'remove'): RequestHandler {
  return async function changeGroup(req, res) {
    const id = String(req.params.id);
    const target = isUserId(id) ? await findUserById(db, id) : null;
    if (!target) throw new HttpError(404, req.t.admin.noSuchUser());
    const form = parseForm(groupForm, req.body);
    if (!form.ok) {
      setFlash(req, 'error', Object.values(form.errors)[0]!);
      return res.redirect(303, `${adminUserPath(target.id)}#groups`);
    }
    const input = {
      userId: target.id,
      group: form.data.group,
      actorId: currentUser(req).id,
      origin: originOf(req),
      now: new Date(clock.now()),
    };
    const changed =
      change === 'add' ? await addUserToGroup(db, input) : await removeUserFromGroup(db, input);
    req.log.info({ event: `group_${change}`, userId: target.id }, 'group membership changed');
    const text = !changed
      ? req.t.gate.groupUnchanged()
      : change === 'add'
        ? req.t.gate.groupAdded(input.group)
        : req.t.gate.groupRemoved(input.group);
    setFlash(req, changed ? 'success' : 'info', text);
    res.redirect(303, `${adminUserPath(target.id)}#groups`);
  };
}
