/**
 * Signing keys: made on first start and stored encrypted; `npm run rotate-signing-key` makes a
 * new current key, running instances pick it up, and a token signed with the old key still
 * verifies until the ID token lifetime has passed, when the old key is dropped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import { associatedData, decrypt } from '../../src/auth/encryption.ts';
import { OIDC_LIMITS } from '../../src/auth/limits.ts';
import { pruneOldRecords } from '../../src/auth/retention.ts';
import { ROOT } from '../../src/dirs.ts';
import { makeUser } from '../helpers/factories.ts';
import {
  addOidcApp,
  createOidcTestApp,
  relyingParty,
  signInThroughApp,
  verifyIdToken,
  type OidcTestApp,
} from '../helpers/oidc.ts';

const run = promisify(execFile);
let t: OidcTestApp;
let rp: client.Configuration;
before(async () => {
  t = await createOidcTestApp();
  const { clientId, secret } = await addOidcApp(t, { name: 'Keys' });
  rp = await relyingParty(t, clientId, secret);
});
after(() => t.close());

async function jwks() {
  const answer = await fetch(`${t.issuer}/jwks`);
  return ((await answer.json()) as { keys: Record<string, string>[] }).keys;
}

describe('OpenID provider: signing keys', () => {
  it('#32 when the first key is made, then it is stored encrypted and the JWKS shows only its public part', async () => {
    const rows = await t.db('oidc_signing_keys').select('*');
    assert.equal(rows.length, 1);
    const stored: string = rows[0].private_jwk_encrypted;
    assert.match(stored, /^v1\./);
    // The stored text is ciphertext: it opens with the key ring, and none of the key's parts
    // (private or public, in the base64url the JWK writes them in) is anywhere in it.
    const opened = decrypt(stored, t.config.totpKeys, associatedData.oidcSigningKey(rows[0].kid));
    assert.ok(opened, 'the key ring opens it');
    const jwk = JSON.parse(opened) as Record<string, string>;
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'n']) {
      assert.ok(jwk[part] && jwk[part].length > 40, `the key has its ${part}`);
      assert.ok(!stored.includes(jwk[part].slice(0, 24)), `${part} is not stored in the clear`);
    }
    const keys = await jwks();
    assert.deepEqual(
      keys.map((k) => k.kid),
      [rows[0].kid],
    );
    assert.equal(keys[0]!.d, undefined, 'no private part');
  });

  it('when the key is rotated, then old tokens still verify, new ones use the new key, and the old key goes after the ID token lifetime', async () => {
    const user = await makeUser(t.db);
    const before = await signInThroughApp(t, rp, user);
    const old = await verifyIdToken(t, before.tokens.id_token!);

    const rotated = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/rotate-signing-key.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: t.database.url,
          TOTP_ENCRYPTION_KEY: t.config.totpKeys.current.key.toString('base64'),
          LOG_LEVEL: 'silent',
        },
      },
    );
    assert.match(rotated.stdout, new RegExp(`New signing key .+ Key ${old.kid} still verifies`));

    t.clock.advance(OIDC_LIMITS.keyReloadMs + 1000); // the running instance looks again
    assert.equal((await jwks()).length, 2, 'both keys are published');
    assert.ok((await verifyIdToken(t, before.tokens.id_token!)).valid, 'the old token verifies');
    const after = await signInThroughApp(
      t,
      rp,
      { ...user, password: '' },
      { browser: before.browser },
    );
    const fresh = await verifyIdToken(t, after.tokens.id_token!);
    assert.ok(fresh.valid);
    assert.notEqual(fresh.kid, old.kid, 'signed with the new key');

    const later = new Date(Date.now() + OIDC_LIMITS.idTokenSeconds * 1000 + 60_000);
    await pruneOldRecords(t.db, later, { attemptsMs: 90 * 86_400_000, auditMs: 365 * 86_400_000 });
    t.clock.advance(OIDC_LIMITS.keyReloadMs + 1000);
    assert.deepEqual(
      (await jwks()).map((k) => k.kid),
      [fresh.kid],
      'the old key is gone',
    );
  });
});
