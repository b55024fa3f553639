import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decrypt, keyIdOf } from '../../src/auth/encryption.ts';
import { rotateTotpSecrets } from '../../src/auth/key-rotation.ts';
import { parseEncryptionKey } from '../../src/config.ts';
import { ROOT } from '../../src/dirs.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUserWithTwoFactor } from '../helpers/two-factor.ts';

const run = promisify(execFile);
const oldKeyText = crypto.randomBytes(32).toString('base64');
const newKeyText = crypto.randomBytes(32).toString('base64');
const oldKey = parseEncryptionKey(oldKeyText)!;
const newKey = parseEncryptionKey(newKeyText)!;

let t: TestApp;
before(async () => {
  t = await createTestApp({ TOTP_ENCRYPTION_KEY: oldKeyText });
});
after(() => t.close());

describe('TOTP key rotation', () => {
  it('when rotate-key runs with a new key, then every secret is re-encrypted and still decrypts', async () => {
    const enrolled = [
      await makeUserWithTwoFactor(t),
      await makeUserWithTwoFactor(t),
      await makeUserWithTwoFactor(t),
    ];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/rotate-key.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.database.url,
        TOTP_ENCRYPTION_KEY: newKeyText,
        TOTP_ENCRYPTION_OLD_KEYS: oldKeyText,
        LOG_LEVEL: 'silent',
      },
    });
    assert.equal(
      stdout.trim(),
      `Re-encrypted 3 TOTP secret(s) with key ${newKey.id}; 0 already used it; 0 could not be decrypted.`,
    );
    for (const { user, secret } of enrolled) {
      const row = await t.db('users').where({ id: user.id }).first();
      assert.equal(keyIdOf(row.totp_secret_encrypted), newKey.id);
      assert.equal(
        decrypt(row.totp_secret_encrypted, { current: newKey, old: [] }, `totp:${user.id}`),
        secret,
      );
    }
    const again = await rotateTotpSecrets(t.db, { current: newKey, old: [oldKey] }, 2);
    assert.deepEqual(again, { rotated: 0, alreadyCurrent: 3, failedUserIds: [] });
  });

  it('when a secret was encrypted with a key that is not configured, then it is reported and the exit code is 1', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const unknownKey = crypto.randomBytes(32).toString('base64');
    const failure = await run(process.execPath, ['--import', 'tsx', 'src/cli/rotate-key.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.database.url,
        TOTP_ENCRYPTION_KEY: unknownKey,
        LOG_LEVEL: 'silent',
      },
    }).then(
      () => assert.fail('expected exit code 1'),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    assert.equal(failure.code, 1);
    assert.match(
      failure.stderr,
      new RegExp(`user id\\(s\\) .*\\b${user.id}\\b.*TOTP_ENCRYPTION_OLD_KEYS`),
    );
  });
});
