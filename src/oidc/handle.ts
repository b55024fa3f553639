/**
 * The running provider: made on first use from the signing keys in the database (a first key is
 * made if there is none), and made again when another instance (or `npm run rotate-signing-key`)
 * has rotated them, looked for at most once a minute. Everything else it needs is in the
 * database, so throwing an instance away loses nothing.
 */
import type { Request, RequestHandler } from 'express';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { recordAuditEvent } from '../auth/audit.ts';
import { OIDC_LIMITS } from '../auth/limits.ts';
import { ensureSigningKey, loadSigningKeys, signingKeyVersion } from '../auth/oidc-keys.ts';
import { recordSignOut } from '../auth/sessions.ts';
import { endKeygateGrants, rememberGrant } from './session-grants.ts';
import type { AppDeps } from '../deps.ts';
import { originOf } from '../http.ts';
import { en } from '../messages/index.ts';
import { destroySession } from '../middleware/session/state.ts';
import { createProvider, type OidcLibrary } from './provider.ts';
import { renderView } from './pages.ts';

export interface OidcHandle {
  /** The provider's requests (mounted at /oidc by app.ts). */
  middleware: RequestHandler;
  provider(): Promise<Provider>;
}

interface Running {
  provider: Provider;
  handle: ReturnType<Provider['callback']>;
  version: string;
  checkedAt: number;
}

/**
 * oidc-provider is imported on first use, not at start: on Node 20 it prints a notice when
 * imported ("Unsupported runtime", see README), which would break the one-line messages of
 * `npm start` and the commands. The notice goes to Keygate's log instead of the terminal.
 */
async function loadOidcLibrary(deps: AppDeps): Promise<OidcLibrary> {
  /* eslint-disable no-console -- the library's own console.warn, routed to the log for a moment */
  const warn = console.warn;
  console.warn = (...args: unknown[]) =>
    deps.logger.warn({ event: 'oidc_provider_notice' }, args.map(String).join(' '));
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
  /* eslint-enable no-console */
}

export function createOidc(deps: AppDeps): OidcHandle {
  const { db, config, clock } = deps;
  let running: Promise<Running> | null = null;
  const verifyForMs = OIDC_LIMITS.idTokenSeconds * 1000;

  async function start(): Promise<Running> {
    const now = new Date(clock.now());
    if (await ensureSigningKey(db, config.totpKeys, now))
      deps.logger.info({ event: 'oidc_signing_key_created' }, 'made the first OIDC signing key');
    const keys = await loadSigningKeys(db, config.totpKeys, now, verifyForMs);
    if (!keys.ok)
      throw new Error(
        `no configured encryption key opens OIDC signing key(s) ${keys.undecryptable.join(', ')}`,
      );
    const provider = createProvider(deps, await loadOidcLibrary(deps), { keys: keys.jwks });
    provider.use(afterProvider(deps));
    provider.on('server_error', (_ctx, error) =>
      deps.logger.error({ err: error }, 'oidc-provider error'),
    );
    return { provider, handle: provider.callback(), version: keys.version, checkedAt: clock.now() };
  }

  async function current(): Promise<Running> {
    running ??= start().catch((error: unknown) => {
      running = null;
      throw error;
    });
    const state = await running;
    if (clock.now() - state.checkedAt < OIDC_LIMITS.keyReloadMs) return state;
    state.checkedAt = clock.now();
    if ((await signingKeyVersion(db)) === state.version) return state;
    running = start();
    return running;
  }

  const base = new URL(config.baseUrl);
  return {
    provider: async () => (await current()).provider,
    middleware: (req, res, next) => {
      // The provider writes addresses from the request: give it BASE_URL's, never the client's.
      req.headers.host = base.host;
      req.headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
      delete req.headers['x-forwarded-host'];
      current().then((state) => state.handle(req, res), next);
    },
  };
}

/**
 * After the provider has answered: one audit event per grant when tokens are issued or
 * refreshed; and after a sign-out from an app, Keygate's own sign-out when the person asked for
 * it, and a same-origin page that moves on to the app instead of the form's redirect (Chromium
 * would hold a cross-site redirect after a form post against `form-action 'self'`).
 */
function afterProvider(deps: AppDeps) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const route = ctx.oidc?.route;
    // A code was issued under a grant: the Keygate session remembers it, to end it at sign-out
    // (express-session saves the session before this response ends).
    const grant = ctx.oidc?.entities.Grant;
    const req = ctx.req as unknown as Request;
    if ((route === 'authorization' || route === 'resume') && grant?.jti && req.session?.userId)
      rememberGrant(req, grant.jti);
    if (route === 'token' && ctx.status === 200) await auditTokens(deps, ctx);
    if (route === 'end_session_confirm' && ctx.status === 303) await afterSignOut(deps, ctx);
  };
}

async function auditTokens(deps: AppDeps, ctx: KoaContextWithOIDC) {
  const { entities, params, client } = ctx.oidc;
  const source = entities.AuthorizationCode ?? entities.RefreshToken;
  if (!source || !client) return;
  await recordAuditEvent(deps.db, {
    event: params?.grant_type === 'refresh_token' ? 'oidc_tokens_refreshed' : 'oidc_tokens_issued',
    userId: source.accountId,
    ...originOf(ctx.req as unknown as Request),
    details: { app: client.clientName ?? client.clientId, clientId: client.clientId },
    at: new Date(deps.clock.now()),
  });
}

async function afterSignOut(deps: AppDeps, ctx: KoaContextWithOIDC) {
  const req = ctx.req as unknown as Request;
  const body = (ctx.oidc as unknown as { body?: Record<string, unknown> }).body ?? {};
  const userId = req.session?.userId;
  if (body.keygate === 'yes' && userId) {
    await endKeygateGrants(deps.db, req);
    await destroySession(req);
    await recordSignOut(deps.db, {
      userId,
      origin: originOf(req),
      now: new Date(deps.clock.now()),
    });
  }
  const target = ctx.response.get('Location');
  ctx.remove('Location');
  ctx.status = 200;
  ctx.type = 'html';
  ctx.body = await renderView(deps, 'oidc/continue', {
    title: en.oidc.signedOutOfApp(),
    heading: en.oidc.signedOutOfApp(),
    target,
    host: URL.parse(target)?.host ?? '',
  });
}
