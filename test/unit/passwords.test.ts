import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bcryptCostOf,
  generatePassword,
  hashPassword,
  passwordLength,
  verifyPassword,
} from '../../src/auth/passwords.ts';
import { parseForm } from '../../src/validation/forms.ts';
import { newPasswordField } from '../../src/validation/passwords.ts';
import { z } from 'zod';

const form = z.object({ password: newPasswordField() });

describe('passwords', () => {
  it('#5 when two passwords share their first 72 bytes, then the hash tells them apart', async () => {
    const hash = await hashPassword(`${'x'.repeat(72)}one`, 10);
    assert.equal(await verifyPassword(`${'x'.repeat(72)}one`, hash), true);
    assert.equal(await verifyPassword(`${'x'.repeat(72)}two`, hash), false);
  });

  it('when hashing, then bcrypt runs at the configured cost', async () => {
    assert.equal(bcryptCostOf(await hashPassword('a password of length', 11)), 11);
  });

  it('#6 when choosing a password, then only the length rule applies (12 to 128 characters)', () => {
    const verdict = (password: string) => parseForm(form, { password }).ok;
    assert.equal(verdict('a'.repeat(11)), false);
    assert.equal(verdict('a'.repeat(12)), true);
    assert.equal(verdict('a'.repeat(128)), true);
    assert.equal(verdict('a'.repeat(129)), false);
    assert.equal(verdict('     spaces     '), true);
    assert.equal(verdict('🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑'), true, 'twelve emoji are twelve characters');
    assert.equal(verdict('€'.repeat(24) + 'x'), true);
    assert.equal(passwordLength('e\u0301'.repeat(12)), 12, 'combining marks count after NFKC');
  });

  it('when generating a password, then it is long, random and acceptable', () => {
    const a = generatePassword();
    assert.notEqual(a, generatePassword());
    assert.match(a, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    assert.equal(parseForm(form, { password: a }).ok, true);
  });
});
