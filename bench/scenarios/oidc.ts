import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { ROOT } from '../../src/dirs.ts';
import { proxyHeaders } from '../client.ts';
import { measurementSeconds, type BenchContext } from '../context.ts';
import { expectStatuses, load } from '../load.ts';

const run = promisify(execFile);

export type OidcResult =
  | { available: false; reason: string }
  | {
      available: true;
      tokenRps: number;
      tokenP99: number;
      userinfoRps: number;
      userinfoP99: number;
    };

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
}

const REDIRECT = 'https://client.bench.test/callback';

/** The contract of issue 17: `npm run app -- add-oidc` prints the client's id and secret. */
async function registerClient(ctx: BenchContext): Promise<{ id: string; secret: string }> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/app.ts',
      'add-oidc',
      '--name',
      'Bench',
      '--redirect-uri',
      REDIRECT,
      // First-party: no consent page, as for an organisation's own apps.
      '--first-party',
    ],
    { cwd: ROOT, env: ctx.stack.env },
  );
  const id = /client[ _-]?id\W+(\S+)/i.exec(stdout)?.[1];
  const secret = /client[ _-]?secret\W+(\S+)/i.exec(stdout)?.[1];
  if (!id || !secret) throw new Error(`add-oidc printed no client id and secret:\n${stdout}`);
  return { id, secret };
}

/** One authorization code for the signed-in admin (PKCE S256), from the authorization endpoint. */
async function authorizationCode(ctx: BenchContext, discovery: Discovery, clientId: string) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(discovery.authorization_endpoint);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'openid email',
    state: crypto.randomBytes(8).toString('hex'),
    nonce: crypto.randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  // As a browser does: the provider sends the person through Keygate's interaction page (which
  // answers at once for a signed-in person and a first-party app) and back, then to the app.
  let next = `${url.pathname}?${query.toString()}`;
  for (let hop = 0; hop < 8; hop++) {
    const reply = await ctx.admin.get(next);
    const refresh = /http-equiv="refresh" content="0;\s*url=([^"]+)"/i.exec(reply.body)?.[1];
    const location = reply.location ?? (refresh ? refresh.replace(/&amp;/g, '&') : '');
    if (location.startsWith(REDIRECT)) {
      const code = new URL(location).searchParams.get('code');
      if (!code) throw new Error(`authorize ended at ${location}`);
      return { code, verifier };
    }
    if (!location) {
      // What the page said, to tell an expired interaction from a refused request.
      const said = /<main[^>]*>([\s\S]*?)<\/main>/i.exec(reply.body)?.[1] ?? reply.body;
      const text = said
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
      throw new Error(`authorize: ${next} answered ${reply.status} with nowhere to go: ${text}`);
    }
    // Keygate's own addresses carry its BASE_URL, which the bench leaves at its default: only
    // the path and query are followed, on the bench's server.
    const to = new URL(location, ctx.stack.url);
    next = to.pathname + to.search;
  }
  throw new Error('authorize: too many redirects');
}

/**
 * Row 12 (issue 17's OpenID provider): code-for-token exchanges (each code is single use, so
 * they are made first, one authorization each) and userinfo calls with one access token, each at
 * full speed; compared with GET /login by the caller. Skipped, with the reason, when this build
 * has no provider at /oidc.
 */
export async function oidcScenario(ctx: BenchContext): Promise<OidcResult> {
  const found = await fetch(`${ctx.stack.url}/oidc/.well-known/openid-configuration`, {
    headers: proxyHeaders(),
  });
  if (found.status === 404)
    return { available: false, reason: 'not available in this build (no /oidc)' };
  const discovery = (await found.json()) as Discovery;
  const client = await registerClient(ctx);
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  // Each code costs a full authorization first (a few hops, one at a time), which took most of
  // this scenario's time at 2,000; 1,000 exchanges still load the endpoint for several seconds.
  // The smoke run only shows that the flow works: 25.
  const count = ctx.options.quick ? 25 : 1000;
  const codes: { code: string; verifier: string }[] = [];
  for (let i = 0; i < count; i++) codes.push(await authorizationCode(ctx, discovery, client.id));
  const tokenPath = new URL(discovery.token_endpoint).pathname;
  const exchange = (i: number) => ({
    method: 'POST' as const,
    path: tokenPath,
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: codes[i % count]!.code,
      redirect_uri: REDIRECT,
      code_verifier: codes[i % count]!.verifier,
    }).toString(),
  });
  const tokens = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    amount: count,
    request: exchange,
  });
  expectStatuses('OIDC token exchange', tokens, [200]);
  // A fresh code for the access token the userinfo calls use.
  const last = await authorizationCode(ctx, discovery, client.id);
  const answer = await fetch(`${ctx.stack.url}${tokenPath}`, {
    method: 'POST',
    headers: { ...proxyHeaders(), ...exchange(0).headers },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: last.code,
      redirect_uri: REDIRECT,
      code_verifier: last.verifier,
    }),
  });
  const { access_token: accessToken } = (await answer.json()) as { access_token: string };
  const userinfo = await load({
    url: ctx.stack.url,
    connections: ctx.options.connections,
    seconds: measurementSeconds(ctx),
    request: () => ({
      path: new URL(discovery.userinfo_endpoint).pathname,
      headers: { authorization: `Bearer ${accessToken}` },
    }),
  });
  expectStatuses('OIDC userinfo', userinfo, [200]);
  return {
    available: true,
    tokenRps: tokens.rps,
    tokenP99: tokens.p99,
    userinfoRps: userinfo.rps,
    userinfoP99: userinfo.p99,
  };
}
