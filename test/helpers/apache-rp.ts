/**
 * A real OpenID Connect relying party for the provider's browser journey: Debian's Apache with
 * mod_auth_openidc (packages apache2 and libapache2-mod-auth-openidc; .ci/run installs them when
 * missing), started as an ordinary foreground process on a free loopback port with a config
 * written into a temporary folder. It protects a small CGI page that prints the claims Apache
 * received from Keygate (the OIDC_CLAIM_* variables mod_auth_openidc sets) and a page to land on
 * after signing out.
 *
 * Apache is reached as http://localhost:<port> and Keygate as http://127.0.0.1:<port>: two
 * hosts, so the browser keeps their cookies apart as it would for an app and its portal, and
 * Apache's own calls (discovery, token, JWKS, userinfo) reach Keygate without any name lookup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForPort } from './proxies.ts';

export const APACHE_BINARY = process.env.APACHE_PATH ?? '/usr/sbin/apache2';
const MODULES = process.env.APACHE_MODULES_DIR ?? '/usr/lib/apache2/modules';

export interface RelyingPartyOptions {
  port: number;
  /** The provider's issuer, e.g. http://127.0.0.1:4000/oidc. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** Sent as acr_values on every authentication request (e.g. urn:keygate:2fa). */
  acrValues?: string;
}

export interface RelyingParty {
  port: number;
  origin: string;
  /** The redirect URI to register for the client. */
  redirectUri: string;
  /** The post-logout redirect URI to register for the client. */
  signedOutUrl: string;
  /** The protected page that shows the claims. */
  claimsUrl: string;
  /** mod_auth_openidc's logout: ends its session, then RP-initiated logout at the provider. */
  logoutUrl: string;
  log(): string;
  close(): Promise<void>;
}

const CLAIMS_CGI = `#!/bin/sh
# Prints what mod_auth_openidc passed on: the claims as OIDC_CLAIM_* variables, and REMOTE_USER.
printf 'Content-Type: text/html; charset=utf-8\\r\\n\\r\\n'
printf '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Claims</title></head><body><main><h1>Claims received</h1><dl>'
env | grep '^OIDC_CLAIM_\\|^REMOTE_USER=' | sort | sed 's/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g; s/"/\\&quot;/g; s/^\\([^=]*\\)=\\(.*\\)$/<dt>\\1<\\/dt><dd id="\\1">\\2<\\/dd>/'
printf '</dl><p><a href="/protected/redirect_uri?logout=%s">Sign out</a></p></main></body></html>\\n' "$SIGNED_OUT_ESCAPED"
`;

const SIGNED_OUT_CGI = `#!/bin/sh
printf 'Content-Type: text/html; charset=utf-8\\r\\n\\r\\n'
printf '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Signed out</title></head><body><main><h1>Signed out of the app</h1><p><a href="/protected/claims">Open the app again</a></p></main></body></html>\\n'
`;

function apacheConfig(dir: string, options: RelyingPartyOptions, urls: Urls): string {
  const runAs =
    process.getuid?.() === 0
      ? // Apache refuses to serve as root; its children (and the CGI pages) run as www-data.
        'User www-data\nGroup www-data\n'
      : '';
  const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
  return [
    `ServerRoot ${dir}`,
    'ServerName localhost',
    `Listen 127.0.0.1:${options.port}`,
    `PidFile ${dir}/httpd.pid`,
    `ErrorLog ${dir}/error.log`,
    'LogLevel warn auth_openidc:info',
    `DefaultRuntimeDir ${dir}`,
    ...[
      'mpm_event',
      'authn_core',
      'authz_core',
      'authz_user',
      'alias',
      'cgid',
      'env',
      'auth_openidc',
    ].map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`),
    `ScriptSock ${dir}/cgid.sock`,
    runAs,
    `OIDCProviderMetadataURL ${options.issuer}/.well-known/openid-configuration`,
    `OIDCClientID ${quote(options.clientId)}`,
    `OIDCClientSecret ${quote(options.clientSecret)}`,
    'OIDCProviderTokenEndpointAuth client_secret_basic',
    `OIDCRedirectURI ${urls.redirectUri}`,
    `OIDCCryptoPassphrase ${crypto.randomBytes(24).toString('hex')}`,
    `OIDCScope ${quote(options.scope ?? 'openid email groups')}`,
    'OIDCPKCEMethod S256',
    'OIDCRemoteUserClaim email',
    `OIDCDefaultLoggedOutURL ${urls.signedOutUrl}`,
    ...(options.acrValues ? [`OIDCPathAuthRequestParams acr_values=${options.acrValues}`] : []),
    `SetEnv SIGNED_OUT_ESCAPED ${encodeURIComponent(urls.signedOutUrl)}`,
    `ScriptAlias /protected/claims ${dir}/cgi/claims`,
    `ScriptAlias /signed-out ${dir}/cgi/signed-out`,
    '<Location />',
    '  Require all granted',
    '</Location>',
    '<Location /protected>',
    '  AuthType openid-connect',
    '  Require valid-user',
    '</Location>',
    '',
  ].join('\n');
}

interface Urls {
  redirectUri: string;
  signedOutUrl: string;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The URLs the relying party will use on `port`, to register the client before it starts. */
export function relyingPartyUrls(port: number): Urls & { origin: string } {
  const origin = `http://localhost:${port}`;
  return {
    origin,
    redirectUri: `${origin}/protected/redirect_uri`,
    signedOutUrl: `${origin}/signed-out`,
  };
}

/** Starts Apache with mod_auth_openidc in front of the claims page; resolves once it listens. */
export async function startApacheRelyingParty(options: RelyingPartyOptions): Promise<RelyingParty> {
  for (const file of [APACHE_BINARY, path.join(MODULES, 'mod_auth_openidc.so')])
    if (!fs.existsSync(file))
      throw new Error(
        `${file} is missing: .ci/run installs Debian's apache2 and libapache2-mod-auth-openidc`,
      );
  const urls = relyingPartyUrls(options.port);
  const dir = fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), 'apache-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'cgi'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'cgi', 'claims'), CLAIMS_CGI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'cgi', 'signed-out'), SIGNED_OUT_CGI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'httpd.conf'), apacheConfig(dir, options, urls));
  const child = spawn(APACHE_BINARY, ['-f', path.join(dir, 'httpd.conf'), '-DFOREGROUND'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const log = () => {
    const file = path.join(dir, 'error.log');
    return output + (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  };
  await waitForPort(options.port, child, log);
  return {
    port: options.port,
    origin: urls.origin,
    redirectUri: urls.redirectUri,
    signedOutUrl: urls.signedOutUrl,
    claimsUrl: `${urls.origin}/protected/claims`,
    logoutUrl: `${urls.origin}/protected/redirect_uri?logout=${encodeURIComponent(urls.signedOutUrl)}`,
    log,
    close: () =>
      new Promise((resolve) => {
        running.delete(child);
        const done = () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        // SIGWINCH is Apache's graceful stop; SIGTERM stops it at once, children included.
        child.kill('SIGTERM');
      }),
  };
}
