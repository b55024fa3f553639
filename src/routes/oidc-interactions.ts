import { Router, type Request, type RequestHandler, type Response } from 'express';
import type Provider from 'oidc-provider';
import { findOidcClient } from '../auth/oidc-clients.ts';
import type { ProtectedApp } from '../auth/protected-apps.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../middleware/errors.ts';
import { decisionFor, requestOf } from '../oidc/accounts.ts';
import type { OidcHandle } from '../oidc/handle.ts';
import { rememberGrant } from '../oidc/session-grants.ts';
import { interactionPath, paths, withQuery } from '../paths.ts';

/**
 * Keygate's pages for an app's sign-in request (oidc-provider's "interactions"). Each visit
 * decides afresh from the person's Keygate sign-in: sign in (the usual pages, back here after),
 * confirm it's you (prompt=login, max_age, or a code where an app needs two factors), turn 2FA
 * on, Keygate's 403 page (the app's policy or groups), consent (apps that are not first-party).
 * The way on to the app is always a same-origin page with a meta refresh (oidc/continue), never a
 * redirect that could follow a form post (see routes/gate-pages.ts for why).
 *
 *   GET  /interaction/:uid           loadRequest → showStep
 *   POST /interaction/:uid/consent   loadRequest → consent
 */
export function oidcInteractionRoutes(deps: AppDeps, oidc: OidcHandle): Router {
  const load = loadRequest(deps, oidc);
  return Router()
    .get(`${paths.oidcInteraction}/:uid`, load, showStep(deps))
    .post(`${paths.oidcInteraction}/:uid/consent`, load, consent);
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

interface SignInRequest {
  provider: Provider;
  interaction: Interaction;
  app: ProtectedApp;
}

function signInRequest(res: Response): SignInRequest {
  return res.locals.signInRequest as SignInRequest;
}

/** The provider's interaction for this browser (its cookie is scoped to this path), and its app. */
function loadRequest(deps: AppDeps, oidc: OidcHandle): RequestHandler {
  return async function loadRequest(req, res, next) {
    const provider = await oidc.provider();
    const interaction = await provider.interactionDetails(req, res).catch(() => null);
    if (!interaction || interaction.uid !== req.params.uid)
      return next(new HttpError(400, req.t.oidc.requestExpired()));
    const found = await findOidcClient(
      deps.db,
      deps.config.totpKeys,
      interaction.params.client_id as string,
    );
    if (!found) return next(new HttpError(400, req.t.oidc.requestExpired()));
    res.locals.signInRequest = { provider, interaction, app: found.app } satisfies SignInRequest;
    next();
  };
}

/**
 * When the request began, on Keygate's clock: the provider dates it by the system's, so its age
 * is measured there and taken off Keygate's now.
 */
function startedAt(deps: AppDeps, interaction: Interaction): number {
  return deps.clock.now() - Math.max(0, Date.now() - interaction.iat * 1000);
}

async function finish(
  req: Request,
  res: Response,
  result: Parameters<Provider['interactionResult']>[2],
) {
  const { provider } = signInRequest(res);
  const target = await provider.interactionResult(req, res, result);
  res.render('oidc/continue', { target, host: new URL(target).host, heading: null });
}

function showStep(deps: AppDeps): RequestHandler {
  return async function showStep(req, res) {
    const { interaction, app } = signInRequest(res);
    const here = interactionPath(interaction.uid);
    const fresh = interaction.prompt.reasons.includes('login_prompt');
    const decision = await decisionFor(
      deps,
      req,
      app,
      requestOf(interaction.params, fresh ? startedAt(deps, interaction) : null),
    );
    switch (decision.kind) {
      case 'sign_in':
        return res.redirect(303, withQuery(paths.signIn, { next: here }));
      case 'deny':
        throw new HttpError(
          403,
          req.t.gate.denied(app.name, decision.reason === 'nobody' ? [] : app.allowedGroups),
        );
      case 'enrol':
        return res.redirect(
          303,
          withQuery(paths.twoFactorSetup, { rd: `${deps.config.baseUrl}${here}` }),
        );
      case 'confirm':
        return res.redirect(303, withQuery(paths.confirm, { next: here }));
    }
    const user = req.user!;
    if (interaction.prompt.name === 'login')
      return finish(req, res, {
        login: { accountId: user.id, acr: decision.acr, amr: decision.amr, ts: decision.authTime },
      });
    if (interaction.session?.accountId !== user.id)
      return finish(req, res, { error: 'login_required' });
    if (app.oidc?.firstParty) return grantAndFinish(req, res);
    renderConsent(req, res);
  };
}

function renderConsent(req: Request, res: Response) {
  const { interaction, app } = signInRequest(res);
  const scopes = String(interaction.params.scope ?? '').split(' ');
  res.render('oidc/consent', {
    title: req.t.oidc.consentTitle(app.name),
    app: app.name,
    learns: scopes.map((scope) => req.t.oidc.scopeMeaning(scope)).filter(Boolean),
    action: interactionPath(interaction.uid, 'consent'),
  });
}

/** Grants what the request asks for (the scopes and claims the provider found missing). */
async function grantAndFinish(req: Request, res: Response) {
  const { provider, interaction } = signInRequest(res);
  const details = interaction.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const grant =
    (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
    new provider.Grant({
      accountId: interaction.session!.accountId,
      clientId: interaction.params.client_id as string,
    });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {}))
    grant.addResourceScope(resource, scopes.join(' '));
  const grantId = await grant.save();
  rememberGrant(req, grantId);
  await finish(req, res, { consent: { grantId } });
}

const consent: RequestHandler = async (req, res) => {
  const { interaction } = signInRequest(res);
  if (interaction.prompt.name !== 'consent' || interaction.session?.accountId !== req.user?.id)
    return res.redirect(303, interactionPath(interaction.uid));
  if ((req.body as { decision?: unknown } | undefined)?.decision !== 'allow')
    return finish(req, res, {
      error: 'access_denied',
      error_description: req.t.oidc.consentDenied(),
    });
  await grantAndFinish(req, res);
};
