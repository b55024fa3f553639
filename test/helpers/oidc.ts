import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import request from 'supertest';
import { createOidcApp, type OidcClientInput } from '../../src/auth/oidc-clients.ts';
import type { AppInput } from '../../src/auth/protected-apps.ts';
import { csrfTokenIn, encodeForm, type Response } from './agent.ts';
import { createTestApp, type TestApp } from './app.ts';
import type { TestDatabase } from './database.ts';
import { rememberSecret } from './secrets.ts';

/** Where the relying party of the tests says it lives (never contacted: the browser stops there). */
export const RP_CALLBACK = 'https://rp.example.com/callback';
export const RP_LOGGED_OUT = 'https://rp.example.com/logged-out';

export interface OidcTestApp extends TestApp {
  baseUrl: string;
  issuer: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = http.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The real app listening on loopback (openid-client talks HTTP to it, as an app's server would),
 * with BASE_URL its own address, so that the issuer is what discovery says it is.
 */
export async function createOidcTestApp(
  env: Record<string, string> = {},
  existing?: TestDatabase,
): Promise<OidcTestApp> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const t = await createTestApp({ REQUIRE_2FA: 'off', BASE_URL: baseUrl, ...env }, existing);
  const server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    ...t,
    baseUrl,
    issuer: `${baseUrl}/oidc`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

/** Registers an app as a client through the data layer (as the admin page and the CLI do). */
export async function addOidcApp(
  t: TestApp,
  input: Partial<AppInput> & { name: string } & { oidc?: Partial<OidcClientInput> } = {
    name: 'RP',
  },
) {
  const result = await createOidcApp(
    t.db,
    t.config.totpKeys,
    {
      name: input.name,
      host: input.host ?? '',
      pathPrefix: input.pathPrefix ?? '',
      policy: input.policy ?? 'signed-in',
      allowedGroups: input.allowedGroups ?? [],
      oidc: {
        redirectUris: [RP_CALLBACK],
        postLogoutRedirectUris: [RP_LOGGED_OUT],
        isPublic: false,
        firstParty: true,
        ...input.oidc,
      },
    },
    { actorId: null, origin: null, now: new Date(t.clock.now()) },
  );
  assert.ok(result.ok, 'the app was added');
  if (result.clientSecret) rememberSecret('client secret', result.clientSecret);
  return { app: result.app, clientId: result.app.oidc!.clientId, secret: result.clientSecret };
}

/** openid-client's view of Keygate for one client (discovery over HTTP). */
export async function relyingParty(
  t: OidcTestApp,
  clientId: string,
  secret: string | null,
  auth: 'basic' | 'post' | 'none' = secret ? 'basic' : 'none',
) {
  const authentication =
    auth === 'none'
      ? client.None()
      : auth === 'post'
        ? client.ClientSecretPost(secret!)
        : client.ClientSecretBasic(secret!);
  return client.discovery(new URL(t.issuer), clientId, undefined, authentication, {
    execute: [client.allowInsecureRequests],
  });
}

/** A browser without JavaScript on the real server: cookies, redirects and meta refreshes by hand. */
export function oidcBrowser(t: OidcTestApp) {
  const agent = request.agent(t.baseUrl);
  const local = (location: string) => {
    const url = new URL(location, t.baseUrl);
    return url.origin === t.baseUrl ? url.pathname + url.search : null;
  };
  const browser = {
    agent,
    /**
     * Goes to `location` and on, through redirects and Keygate's continue pages, until a page
     * asks for something (a form, an error) or the browser leaves for another site.
     */
    async go(
      location: string,
    ): Promise<{ page: Response | null; left: string | null; at: string }> {
      let next = location;
      for (let hop = 0; hop < 20; hop++) {
        const path = local(next);
        if (path === null) return { page: null, left: next, at: next };
        const page = await agent.get(path);
        if (page.status === 303 || page.status === 302) {
          next = page.headers.location!;
          continue;
        }
        const refresh = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(page.text)?.[1];
        if (page.status === 200 && refresh) {
          next = refresh.replace(/&amp;/g, '&');
          continue;
        }
        return { page, left: null, at: path };
      }
      throw new Error('too many hops');
    },
    /** Posts the form on `page` (its CSRF token included) to `action`, then goes on. */
    async submit(page: Response, action: string, fields: Record<string, string>) {
      const answer = await agent
        .post(action)
        .type('form')
        .send(encodeForm({ ...fields, _csrf: csrfTokenIn(page.text) }));
      if (answer.status === 303) return browser.go(answer.headers.location!);
      const refresh = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(answer.text)?.[1];
      if (answer.status === 200 && refresh) return browser.go(refresh.replace(/&amp;/g, '&'));
      return { page: answer, left: null, at: action };
    },
  };
  return browser;
}

/** An authorization request with PKCE, state and nonce, as an app's server builds it. */
export async function authorizationRequest(
  config: client.Configuration,
  extra: Record<string, string> = {},
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid email groups',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url: url.href, verifier, state, nonce };
}

/** The code step of the sign-in page a browser reached, for a user without 2FA. */
export async function signInOnPage(
  browser: ReturnType<typeof oidcBrowser>,
  page: Response,
  email: string,
  password: string,
) {
  const next = /name="next" value="([^"]*)"/.exec(page.text)?.[1] ?? '';
  return browser.submit(page, '/login', { email, password, next: next.replace(/&amp;/g, '&') });
}

/** Checks an ID token's RS256 signature against the provider's JWKS (fetched over HTTP). */
export async function verifyIdToken(t: OidcTestApp, idToken: string) {
  const [header, payload, signature] = idToken.split('.') as [string, string, string];
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as {
    kid: string;
    alg: string;
  };
  assert.equal(alg, 'RS256');
  const jwks = (await (await fetch(`${t.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  const jwk = jwks.keys.find((key) => key.kid === kid);
  assert.ok(jwk, `the JWKS holds the key ${kid}`);
  const valid = crypto.verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }),
    Buffer.from(signature, 'base64url'),
  );
  return { valid, kid, claims: JSON.parse(Buffer.from(payload, 'base64url').toString()) };
}

export type OidcBrowser = ReturnType<typeof oidcBrowser>;

/** The value of a hidden `next` field on a page, as the browser would send it back. */
export function nextFieldOf(page: Response): string {
  return (/name="next" value="([^"]*)"/.exec(page.text)?.[1] ?? '').replace(/&amp;/g, '&');
}

/**
 * The whole way through an app's sign-in request: Keygate's sign-in page (and code step when a
 * code is given), back to the app's callback; then the app's code exchange. Returns the tokens.
 */
export async function signInThroughApp(
  t: OidcTestApp,
  rp: client.Configuration,
  person: { email: string; password: string; code?: () => Promise<string> },
  options: { browser?: OidcBrowser; extra?: Record<string, string> } = {},
) {
  const browser = options.browser ?? oidcBrowser(t);
  const auth = await authorizationRequest(rp, options.extra);
  let step = await browser.go(auth.url);
  if (step.page && /name="password"/.test(step.page.text)) {
    step = await signInOnPage(browser, step.page, person.email, person.password);
    if (step.page && /action="\/login\/2fa"/.test(step.page.text) && person.code)
      step = await browser.submit(step.page, '/login/2fa', { code: await person.code() });
  }
  assert.ok(
    step.left?.startsWith(`${RP_CALLBACK}?`),
    `back at the app, not: ${step.page?.status} ${step.page?.text.slice(0, 400)}`,
  );
  const tokens = await client.authorizationCodeGrant(rp, new URL(step.left!), {
    pkceCodeVerifier: auth.verifier,
    expectedState: auth.state,
    expectedNonce: auth.nonce,
  });
  return { tokens, browser, callback: step.left };
}

/** True when openid-client's error is the OAuth error `code`. */
export function oauthError(code: string) {
  return (error: {
    error?: string;
    cause?: { parameters?: { error?: string } }[] | { error?: string };
  }) => {
    const cause = error.cause;
    const challenged = Array.isArray(cause) ? cause[0]?.parameters?.error : cause?.error;
    return (error.error ?? challenged) === code;
  };
}
