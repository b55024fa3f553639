/**
 * Keygate as an OpenID Provider: panva's oidc-provider, mounted at /oidc (app.ts), configured
 * for the authorization code flow only (PKCE with S256; public clients must use it), with
 * Keygate's storage (auth/oidc-store.ts), apps as clients (auth/oidc-clients.ts), signing keys
 * from the database (auth/oidc-keys.ts) and Keygate's own pages for every interaction
 * (routes/oidc-interactions.ts). No implicit or hybrid flow, no registration, no device flow.
 *
 * The provider keeps a session of its own (cookie `_session`), but Keygate's session decides:
 * the `keygate_sign_in` check below sends every request through Keygate's pages unless the
 * provider's session matches the person's current Keygate sign-in (same person, same
 * authentication time, same acr) and the app's policy lets them in.
 */
import crypto from 'node:crypto';
import type { Request } from 'express';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { ACR_VALUES } from '../auth/oidc-access.ts';
import { clientMetadata, findOidcClient } from '../auth/oidc-clients.ts';
import { payloadAdapter } from '../auth/oidc-store.ts';
import { OIDC_LIMITS } from '../auth/limits.ts';
import type { AppDeps } from '../deps.ts';
import { oidcIssuer, paths } from '../paths.ts';
import { decisionFor, findAccount, requestOf } from './accounts.ts';
import { renderErrorPage, renderLogoutPage } from './pages.ts';

/** Cookie signing keys for the provider, derived from SESSION_SECRET (rotation included). */
function cookieKeys(secrets: readonly string[]): string[] {
  return secrets.map((secret) =>
    crypto.createHmac('sha256', secret).update('keygate oidc-provider cookies').digest('base64url'),
  );
}

function clientAdapter(deps: AppDeps) {
  const unsupported = async () => {
    throw new Error('clients are Keygate apps: they are not written through the provider');
  };
  return {
    async find(id: string) {
      const found = await findOidcClient(deps.db, deps.config.totpKeys, id);
      return found ? (clientMetadata(found.app, found.secret) ?? undefined) : undefined;
    },
    upsert: unsupported,
    findByUid: unsupported,
    findByUserCode: unsupported,
    consume: unsupported,
    destroy: unsupported,
    revokeByGrantId: unsupported,
  };
}

/** oidc-provider itself, imported when first needed (see loadOidcLibrary in handle.ts). */
export type OidcLibrary = typeof import('oidc-provider');

function keygateSignInCheck(deps: AppDeps, { interactionPolicy }: OidcLibrary) {
  return new interactionPolicy.Check(
    'keygate_sign_in',
    'the person’s Keygate sign-in does not answer this request yet',
    async (ctx: KoaContextWithOIDC) => {
      const req = ctx.req as unknown as Request;
      const found = await findOidcClient(deps.db, deps.config.totpKeys, ctx.oidc.client!.clientId);
      if (!found) return interactionPolicy.Check.REQUEST_PROMPT;
      const decision = await decisionFor(
        deps,
        req,
        found.app,
        requestOf(ctx.oidc.params as Record<string, unknown>, null),
      );
      if (decision.kind !== 'allow') return interactionPolicy.Check.REQUEST_PROMPT;
      const session = ctx.oidc.session!;
      const matches =
        session.accountId === req.user!.id &&
        session.loginTs === decision.authTime &&
        session.acr === decision.acr;
      return matches
        ? interactionPolicy.Check.NO_NEED_TO_PROMPT
        : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
}

function policy(deps: AppDeps, lib: OidcLibrary) {
  const prompts = lib.interactionPolicy.base();
  prompts.get('login')!.checks.add(keygateSignInCheck(deps, lib));
  return prompts;
}

export function providerConfiguration(
  deps: AppDeps,
  lib: OidcLibrary,
  jwks: Configuration['jwks'],
): Configuration {
  const { config } = deps;
  const longLivedSeconds = Math.floor(config.sessionAbsoluteTimeoutMs / 1000);
  return {
    adapter: (name: string) =>
      name === 'Client'
        ? clientAdapter(deps)
        : payloadAdapter(deps.db, name, {
            reused: () => new lib.errors.InvalidGrant('grant already consumed'),
          }),
    jwks,
    findAccount: findAccount(deps),
    acrValues: [...ACR_VALUES],
    claims: {
      // acr and amr come from the sign-in (not the account): listed under openid, they are in
      // every ID token.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
      groups: ['groups'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // Browsers may call the token and userinfo endpoints only from a public client's own origin.
    clientBasedCORS: (ctx, origin, client) =>
      origin !== 'null' &&
      (ctx.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') &&
      client.redirectUris!.some((uri) => URL.parse(uri)?.origin === origin),
    cookies: {
      keys: cookieKeys(config.sessionSecrets),
      names: {
        session: 'keygate.oidc',
        interaction: 'keygate.oidc.interaction',
        resume: 'keygate.oidc.resume',
      },
      long: { httpOnly: true, sameSite: 'lax', secure: config.baseUrl.startsWith('https:') },
      short: { httpOnly: true, sameSite: 'lax', secure: config.baseUrl.startsWith('https:') },
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: renderLogoutPage(deps),
        postLogoutSuccessSource: renderLogoutPage(deps, { done: true }),
      },
      revocation: { enabled: true },
      introspection: { enabled: false },
      registration: { enabled: false },
      deviceFlow: { enabled: false },
      clientCredentials: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      claimsParameter: { enabled: false },
    },
    interactions: {
      policy: policy(deps, lib),
      url: (_ctx, interaction) => `${paths.oidcInteraction}/${interaction.uid}`,
    },
    // Every code exchange gets a refresh token, which is replaced at every use.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AuthorizationCode: OIDC_LIMITS.authorizationCodeSeconds,
      AccessToken: OIDC_LIMITS.accessTokenSeconds,
      IdToken: OIDC_LIMITS.idTokenSeconds,
      Interaction: OIDC_LIMITS.interactionSeconds,
      RefreshToken: longLivedSeconds,
      Grant: longLivedSeconds,
      Session: longLivedSeconds,
    },
    renderError: renderErrorPage(deps),
  };
}

export function createProvider(
  deps: AppDeps,
  lib: OidcLibrary,
  jwks: Configuration['jwks'],
): Provider {
  const provider = new lib.Provider(
    oidcIssuer(deps.config.baseUrl),
    providerConfiguration(deps, lib, jwks),
  );
  // app.ts sets Host and X-Forwarded-Proto from BASE_URL before the provider sees a request, so
  // every address it writes (discovery, redirects) is BASE_URL's, whatever the client sent.
  provider.proxy = true;
  return provider;
}
