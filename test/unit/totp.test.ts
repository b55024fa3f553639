import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScureBase32Plugin } from 'otplib';
import {
  clockDriftMinutes,
  codeForStep,
  formatSecretForHumans,
  generateTotpSecret,
  matchingStep,
  parseTotpCode,
  totpUri,
  type TotpAlgorithm,
} from '../../src/auth/totp.ts';

const ascii = (text: string) => new TextEncoder().encode(text);
const SEEDS: Record<TotpAlgorithm, Uint8Array> = {
  sha1: ascii('12345678901234567890'),
  sha256: ascii('12345678901234567890123456789012'),
  sha512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
};

// RFC 6238 Appendix B: T0 = 0, 30-second steps, 8 digits, each algorithm with its own seed.
const RFC6238: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

// RFC 4226 Appendix D: HOTP, SHA-1, 6 digits, counters 0–9.
const RFC4226 = [
  '755224',
  '287082',
  '359152',
  '969429',
  '338314',
  '254676',
  '287922',
  '162583',
  '399871',
  '520489',
];

describe('TOTP', () => {
  for (const [time, sha1, sha256, sha512] of RFC6238) {
    it(`when the time is ${time}, then the RFC 6238 vectors match for SHA1, SHA256 and SHA512`, async () => {
      const step = Math.floor(time / 30);
      assert.equal(await codeForStep(SEEDS.sha1, step, { algorithm: 'sha1', digits: 8 }), sha1);
      assert.equal(
        await codeForStep(SEEDS.sha256, step, { algorithm: 'sha256', digits: 8 }),
        sha256,
      );
      assert.equal(
        await codeForStep(SEEDS.sha512, step, { algorithm: 'sha512', digits: 8 }),
        sha512,
      );
    });
  }

  it('when counting 0 to 9, then the RFC 4226 HOTP vectors match', async () => {
    for (const [counter, expected] of RFC4226.entries()) {
      assert.equal(await codeForStep(SEEDS.sha1, counter), expected, `counter ${counter}`);
    }
  });

  it('#35 when a secret is generated, then it is 160 random bits in unpadded base32', () => {
    const secret = generateTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.notEqual(secret, generateTotpSecret());
    assert.equal(formatSecretForHumans('ABCDEFGHIJKLMNOP'), 'ABCD EFGH IJKL MNOP');
  });

  it('when a secret goes through base32 and back, then nothing changes', async () => {
    const base32 = new ScureBase32Plugin();
    for (let i = 0; i < 50; i++) {
      const secret = generateTotpSecret();
      const bytes = base32.decode(secret);
      assert.equal(bytes.length, 20);
      assert.equal(base32.encode(bytes, { padding: false }), secret);
      assert.equal(
        await codeForStep(secret, 1000 + i),
        await codeForStep(bytes, 1000 + i),
        'text and bytes give one code',
      );
    }
    assert.equal(base32.encode(SEEDS.sha1, { padding: false }), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('#35 when the otpauth URI is made, then label and issuer agree and nothing else is set', () => {
    const uri = totpUri('Keygate', 'ada@example.com', 'JBSWY3DPEHPK3PXP');
    assert.equal(
      uri,
      'otpauth://totp/Keygate:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Keygate',
    );
    assert.equal(
      totpUri('Acme Corp', 'a@b.c', 'X').startsWith('otpauth://totp/Acme%20Corp:a%40b.c?'),
      true,
    );
  });

  it('#16 when codes for nearby steps are checked, then only the window accepts them', async () => {
    const secret = generateTotpSecret();
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const offset of [-1, 0, 1]) {
      assert.equal(
        await matchingStep(secret, await codeForStep(secret, step + offset), now, 1),
        step + offset,
      );
    }
    for (const offset of [-2, 2]) {
      assert.equal(
        await matchingStep(secret, await codeForStep(secret, step + offset), now, 1),
        null,
      );
    }
    assert.equal(
      await matchingStep(secret, await codeForStep(secret, step + 1), now, 0),
      null,
      'window 0: only now',
    );
    assert.equal(
      await matchingStep(secret, await codeForStep(secret, step + 2), now, 2),
      step + 2,
      'window 2',
    );
  });

  it('when a code is from a few minutes away, then the drift is estimated (at enrolment, both ways)', async () => {
    const secret = generateTotpSecret();
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    const both = { look: 'both_ways' } as const;
    assert.equal(
      await clockDriftMinutes(secret, await codeForStep(secret, step + 6), now, 1, both),
      3,
    );
    assert.equal(
      await clockDriftMinutes(secret, await codeForStep(secret, step - 10), now, 1, both),
      -5,
    );
    assert.equal(
      await clockDriftMinutes(secret, await codeForStep(secret, step + 40), now, 1, both),
      null,
    );
  });

  it('#49 when only a clock behind may be hinted, then a code for a future step gets no estimate', async () => {
    const secret = generateTotpSecret();
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    const behind = { look: 'behind_only' } as const;
    for (let offset = 2; offset <= 20; offset++) {
      assert.equal(
        await clockDriftMinutes(secret, await codeForStep(secret, step + offset), now, 1, behind),
        null,
        `step +${offset}`,
      );
    }
    assert.equal(
      await clockDriftMinutes(secret, await codeForStep(secret, step - 10), now, 1, behind),
      -5,
    );
  });

  it('#22 when a code is typed, then only six digits count (spaces ignored)', () => {
    assert.equal(parseTotpCode('012345'), '012345');
    assert.equal(parseTotpCode(' 012 345 '), '012345');
    assert.equal(parseTotpCode('12345'), null);
    assert.equal(parseTotpCode('1234567'), null);
    assert.equal(parseTotpCode('12345a'), null);
    assert.equal(parseTotpCode('１２３４５６'), null, 'full-width digits are not ASCII digits');
    assert.equal(parseTotpCode(''), null);
  });
});
