import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatRecoveryCode,
  generateRecoveryCode,
  lookupTag,
  parseRecoveryCode,
} from '../../src/auth/recovery-codes.ts';

describe('recovery codes', () => {
  it('#25 when codes are generated, then they are 16 Crockford symbols (80 bits) and distinct', () => {
    const codes = Array.from({ length: 1000 }, generateRecoveryCode);
    for (const code of codes) assert.match(code, /^[0-9A-HJKMNP-TV-Z]{16}$/);
    assert.equal(new Set(codes).size, codes.length);
    assert.match(
      formatRecoveryCode(codes[0]!),
      /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/,
    );
  });

  it('#28 when a code is typed loosely, then case, hyphens, spaces, O/0 and I/L/1 do not matter', () => {
    const canonical = '7K2MQX9D4RTB8HZW';
    for (const typed of [
      '7K2M-QX9D-4RTB-8HZW',
      '7k2m qx9d 4rtb 8hzw',
      ' 7k2mqx9d4rtb8hzw ',
      '7K2M--QX9D-4RTB-8HZW',
    ]) {
      assert.equal(parseRecoveryCode(typed), canonical, typed);
    }
    assert.equal(parseRecoveryCode('O1IL-0000-0000-0000'), '0111000000000000');
    assert.equal(parseRecoveryCode('7K2M-QX9D-4RTB-8HZ'), null, 'too short');
    assert.equal(parseRecoveryCode('7K2M-QX9D-4RTB-8HZWX'), null, 'too long');
    assert.equal(parseRecoveryCode('UUUU-QX9D-4RTB-8HZW'), null, 'U is not in the alphabet');
    assert.equal(parseRecoveryCode('7K2M_QX9D_4RTB_8HZW'), null);
  });

  it('when looking a code up, then the tag depends on the user and the code', () => {
    assert.match(lookupTag('1', 'ABC'), /^[0-9a-f]{8}$/);
    assert.notEqual(lookupTag('1', 'ABC'), lookupTag('2', 'ABC'));
    assert.equal(lookupTag('1', 'ABC'), lookupTag('1', 'ABC'));
  });
});
