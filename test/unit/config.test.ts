import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, loadConfig, parseDuration } from '../../src/config.ts';
import { ROOT } from '../../src/dirs.ts';

const key = () => crypto.randomBytes(32).toString('base64');
const production = () => ({
  NODE_ENV: 'production',
  SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
  TOTP_ENCRYPTION_KEY: key(),
});

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a configuration error');
}

describe('configuration', () => {
  it('when nothing is set in production, then the defaults are safe and complete', () => {
    const config = loadConfig(production());
    assert.equal(config.bcryptCost, 12);
    assert.equal(config.sessionIdleTimeoutMs, 3_600_000);
    assert.equal(config.sessionAbsoluteTimeoutMs, 86_400_000);
    assert.equal(config.trustProxy, false);
    assert.equal(config.port, 3000);
    assert.equal(config.appName, 'Keygate');
    assert.ok(Object.isFrozen(config));
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ BCRYPT_COST: '9' }, /^BCRYPT_COST must be a whole number from 10 to 16 \(got "9"\)$/],
    [{ BCRYPT_COST: 'twelve' }, /^BCRYPT_COST must be a whole number/],
    [{ PORT: '70000' }, /^PORT must be a whole number from 0 to 65535/],
    [
      { SESSION_IDLE_TIMEOUT: 'forever' },
      /^SESSION_IDLE_TIMEOUT must be a duration like 90s, 15m, 1h or 7d/,
    ],
    [{ SESSION_IDLE_TIMEOUT: '2d' }, /^SESSION_IDLE_TIMEOUT must be a duration .* from 1m to 24h/],
    [
      { SESSION_IDLE_TIMEOUT: '2h', SESSION_ABSOLUTE_TIMEOUT: '1h' },
      /^SESSION_ABSOLUTE_TIMEOUT must not be shorter/,
    ],
    [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY must be false, a number of proxy hops/],
    [{ TRUST_PROXY: 'everyone' }, /^TRUST_PROXY must be/],
    [
      { TOTP_ENCRYPTION_KEY: 'short' },
      /^TOTP_ENCRYPTION_KEY must be 32 random bytes in base64 .* \(got "…redacted…"\)$/,
    ],
    [
      { TOTP_ENCRYPTION_OLD_KEYS: `${key()},nope` },
      /^TOTP_ENCRYPTION_OLD_KEYS must be a comma-separated list/,
    ],
    [{ SESSION_SECRET: 'too-short' }, /^SESSION_SECRET must be at least 32 characters .*redacted/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL must be a postgres:\/\/ connection URL/],
    [{ NODE_ENV: 'staging' }, /^NODE_ENV must be development, production or test/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ LOG_FORMAT: 'fancy' }, /^LOG_FORMAT must be pretty or json \(got "fancy"\)$/],
    [{ BASE_URL: 'ftp://x' }, /^BASE_URL must be an http\(s\) URL/],
    [{ APP_NAME: 'a:b' }, /^APP_NAME must be 1 to 40 characters without a colon/],
  ];
  for (const [env, message] of bad) {
    it(`when ${JSON.stringify(env)}, then one line names the variable and what it expects`, () => {
      const text = configError({ ...production(), ...env });
      assert.match(text, message);
      assert.doesNotMatch(text, /\n/);
    });
  }

  it('when production lacks the session secret or the TOTP key, then it refuses to start', () => {
    assert.match(
      configError({ NODE_ENV: 'production', TOTP_ENCRYPTION_KEY: key() }),
      /^SESSION_SECRET must be set in production/,
    );
    assert.match(
      configError({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40) }),
      /^TOTP_ENCRYPTION_KEY must be set in production/,
    );
  });

  it('when developing without secrets, then they are generated once into DATA_DIR (0600) and reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keygate-config-'));
    try {
      const first = loadConfig({ DATA_DIR: dir });
      assert.equal(first.notes.length, 2);
      for (const file of ['session-secret', 'totp-encryption-key']) {
        assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
      }
      const second = loadConfig({ DATA_DIR: dir });
      assert.equal(second.notes.length, 0);
      assert.deepEqual(second.sessionSecrets, first.sessionSecrets);
      assert.deepEqual(second.totpKeys.current, first.totpKeys.current);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when TRUST_PROXY lists proxies or hops, then it is parsed for express', () => {
    assert.deepEqual(
      loadConfig({ ...production(), TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy,
      ['loopback', '10.0.0.0/8'],
    );
    assert.equal(loadConfig({ ...production(), TRUST_PROXY: '1' }).trustProxy, 1);
    assert.equal(loadConfig({ ...production(), TRUST_PROXY: 'false' }).trustProxy, false);
  });

  it('when durations are written with units, then they mean what they say', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1.5h'), null);
  });

  it('when the server is started with a bad value, then it exits 1 with one line on stderr', async () => {
    const run = promisify(execFile);
    const error = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...production(), BCRYPT_COST: '4' },
    }).then(
      () => assert.fail('the server started'),
      (failure: { code: number; stderr: string }) => failure,
    );
    assert.equal(error.code, 1);
    assert.equal(
      error.stderr.trim(),
      'keygate: configuration error: BCRYPT_COST must be a whole number from 10 to 16 (got "4")',
    );
  });
});
