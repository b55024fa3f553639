/**
 * Apps as OpenID Connect clients, made by an admin on the Apps page or with
 * `npm run app -- add-oidc`: the secret is shown once (Post/Redirect/Get) and stored encrypted,
 * a new secret stops the old one, and a client made either way works with a real relying party.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import { ROOT } from '../../src/dirs.ts';
import { createBrowser, type Browser } from '../helpers/agent.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import {
  RP_CALLBACK,
  createOidcTestApp,
  oauthError,
  relyingParty,
  signInThroughApp,
  type OidcTestApp,
} from '../helpers/oidc.ts';
import { rememberSecret } from '../helpers/secrets.ts';

const run = promisify(execFile);
let t: OidcTestApp;
let admin: Browser;
before(async () => {
  t = await createOidcTestApp();
  const person = await makeUser(t.db, { role: 'admin', email: uniqueEmail('admin') });
  admin = createBrowser(t.app);
  const signedIn = await admin.submit('/login', '/login', {
    email: person.email,
    password: person.password,
  });
  assert.equal(signedIn.status, 303);
});
after(() => t.close());

function field(html: string, label: string): string {
  const match = new RegExp(`<dt>${label}[^<]*</dt>\\s*<dd>\\s*<code[^>]*>([^<]+)</code>`).exec(
    html,
  );
  assert.ok(match, `the page shows the ${label}`);
  return match[1]!;
}

describe('Apps as OpenID Connect clients', () => {
  it('when an admin adds an OIDC app, then its secret is shown once, stored encrypted, and works', async () => {
    const added = await admin.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Forgejo',
      host: '',
      pathPrefix: '',
      policy: 'signed-in',
      groups: '',
      oidc: 'yes',
      redirectUris: RP_CALLBACK,
      postLogoutRedirectUris: '',
      clientType: 'confidential',
      firstParty: 'yes',
    });
    assert.equal(added.status, 303, added.text.slice(0, 400));
    const page = await admin.get(added.headers.location!);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['cache-control']), /no-store/);
    const clientId = field(page.text, 'Client id');
    const secret = field(page.text, 'Client secret');
    rememberSecret('client secret', secret);
    assert.equal(field(page.text, 'Issuer'), t.issuer);
    const again = await admin.get(added.headers.location!);
    assert.doesNotMatch(again.text, new RegExp(secret), 'a reload does not show it');

    const row = await t.db('protected_apps').where({ oidc_client_id: clientId }).first();
    assert.match(row.oidc_client_secret_encrypted, /^v1\./);
    assert.ok(!row.oidc_client_secret_encrypted.includes(secret));

    const rp = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    const { tokens } = await signInThroughApp(t, rp, user);

    const renewed = await admin.submit(
      added.headers.location!,
      added.headers.location!.replace('/client', '/new-secret'),
      {},
    );
    assert.equal(renewed.status, 303);
    const newSecret = field((await admin.get(renewed.headers.location!)).text, 'Client secret');
    rememberSecret('client secret', newSecret);
    assert.notEqual(newSecret, secret);
    await assert.rejects(
      client.refreshTokenGrant(rp, tokens.refresh_token!),
      (error: { error?: string; cause?: unknown }) =>
        oauthError('invalid_client')(error as never) || oauthError('invalid_grant')(error as never),
      'the old secret is refused',
    );
    const fresh = await relyingParty(t, clientId, newSecret);
    await signInThroughApp(t, fresh, user);
  });

  it('when an app has neither a host nor a client, or a bad redirect URI, then the form says so', async () => {
    const neither = await admin.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Nothing',
      host: '',
      policy: 'signed-in',
    });
    assert.equal(neither.status, 400);
    assert.match(neither.text, /Enter a host for the gate, or let the app sign people in/);
    const fragment = await admin.submit('/admin/apps/new', '/admin/apps/new', {
      name: 'Bad',
      policy: 'signed-in',
      oidc: 'yes',
      redirectUris: 'https://app.example.com/cb#x',
      clientType: 'confidential',
    });
    assert.equal(fragment.status, 400);
    assert.match(fragment.text, /without a # part/);
  });

  it('when an app is added with npm run app -- add-oidc, then it prints the client id and secret, which work', async () => {
    const answer = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/app.ts',
        'add-oidc',
        '--name',
        'Grafana',
        '--redirect-uri',
        RP_CALLBACK,
        '--first-party',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: t.database.url,
          TOTP_ENCRYPTION_KEY: t.config.totpKeys.current.key.toString('base64'),
          BASE_URL: t.baseUrl,
          LOG_LEVEL: 'silent',
        },
      },
    );
    const clientId = /^client_id: (\S+)$/m.exec(answer.stdout)![1]!;
    const secret = /^client_secret: (\S+)$/m.exec(answer.stdout)![1]!;
    rememberSecret('client secret', secret);
    assert.match(answer.stdout, new RegExp(`^issuer: ${t.issuer}$`, 'm'));
    const rp = await relyingParty(t, clientId, secret);
    const user = await makeUser(t.db);
    const { tokens } = await signInThroughApp(t, rp, user);
    assert.equal(tokens.claims()!.sub, user.id);
  });
});
