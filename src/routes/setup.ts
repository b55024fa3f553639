import { Router } from 'express';
import type { AppDeps } from '../app.ts';
import { recordAuditEvent } from '../auth/audit.ts';
import { hashPassword } from '../auth/passwords.ts';
import { createFirstAdmin, isSetupTokenValid } from '../auth/setup-tokens.ts';
import { hasAnyUser } from '../auth/users.ts';
import { HttpError } from '../middleware/errors.ts';
import { startSignedInSession } from '../middleware/session.ts';
import { parseForm, textField } from '../validation/forms.ts';
import { setupForm } from '../validation/setup.ts';
import { originOf } from './auth.ts';

const setupDone = () =>
  new HttpError(
    410,
    'Setup is already complete',
    'An administrator already exists. Sign in instead, or ask an administrator for an account.',
  );
const badLink = () =>
  new HttpError(
    403,
    'This setup link does not work',
    'The link is wrong or was replaced by a newer one. Use the link printed most recently when Keygate started.',
  );

export function setupRoutes({ db, config, clock }: AppDeps): Router {
  const router = Router();
  const tokenParam = textField('Setup token', { max: 200 });

  router.get('/setup', async (req, res) => {
    if (await hasAnyUser(db)) throw setupDone();
    const token = tokenParam.safeParse(req.query.token);
    if (!token.success || !token.data || !(await isSetupTokenValid(db, token.data)))
      throw badLink();
    res.render('setup/index', { values: { token: token.data, email: '' }, errors: {} });
  });

  router.post('/setup', async (req, res) => {
    if (await hasAnyUser(db)) throw setupDone();
    const form = parseForm(setupForm, req.body);
    const body = (req.body ?? {}) as { token?: unknown; email?: unknown };
    const values = {
      token: typeof body.token === 'string' ? body.token.slice(0, 200) : '',
      email: typeof body.email === 'string' ? body.email.slice(0, 254) : '',
    };
    if (!form.ok) {
      if (form.errors.token) throw badLink();
      return res.status(400).render('setup/index', { values, errors: form.errors });
    }
    const passwordHash = await hashPassword(form.data.password, config.bcryptCost);
    const result = await createFirstAdmin(db, form.data.token, {
      email: form.data.email,
      passwordHash,
    });
    if (!result.ok) throw badLink();

    const now = clock.now();
    await recordAuditEvent(db, {
      event: 'first_admin_created',
      userId: result.user.id,
      actorId: result.user.id,
      ...originOf(req),
      at: new Date(now),
    });
    req.log.info(
      { event: 'first_admin_created', userId: result.user.id },
      'first administrator created',
    );
    await startSignedInSession(req, result.user, now);
    await db('users')
      .where({ id: result.user.id })
      .update({ last_sign_in_at: new Date(now) });
    res.redirect(303, '/');
  });

  return router;
}
