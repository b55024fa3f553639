import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomToken } from '../../src/auth/random-tokens.ts';

describe('random tokens from the pool', () => {
  it('when many are drawn across refills of the pool, then each is new, of the asked size, and the bytes look random', () => {
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const token = randomToken(24);
      assert.match(token, /^[A-Za-z0-9_-]{32}$/);
      assert.ok(!seen.has(token), 'a token came twice');
      seen.add(token);
      for (const byte of Buffer.from(token, 'base64url')) counts[byte]!++;
    }
    // 480,000 bytes: each value ~1,875 times; a stuck or zeroed pool would be far off.
    assert.ok(Math.min(...counts) > 1_600 && Math.max(...counts) < 2_150, JSON.stringify(counts));
  });

  it('when a size outside 1 to 256 bytes is asked for, then it throws', () => {
    assert.throws(() => randomToken(0));
    assert.throws(() => randomToken(257));
    assert.throws(() => randomToken(1.5));
  });
});
