import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { decrypt, encrypt, keyIdOf, type KeyRing } from '../../src/auth/encryption.ts';
import { parseEncryptionKey } from '../../src/config.ts';

const newKey = () => parseEncryptionKey(crypto.randomBytes(32).toString('base64'))!;

describe('secret encryption (AES-256-GCM)', () => {
  const ring: KeyRing = { current: newKey(), old: [] };

  it('when a secret is encrypted, then it decrypts back and never appears in the stored text', () => {
    const stored = encrypt('JBSWY3DPEHPK3PXP', ring, 'totp:1');
    assert.match(stored, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.doesNotMatch(stored, /JBSWY3DPEHPK3PXP/);
    assert.equal(decrypt(stored, ring, 'totp:1'), 'JBSWY3DPEHPK3PXP');
    assert.notEqual(encrypt('JBSWY3DPEHPK3PXP', ring, 'totp:1'), stored, 'a fresh IV each time');
  });

  it('when the key is wrong, then decryption fails as a value, not an exception', () => {
    const stored = encrypt('secret', ring, 'totp:1');
    const otherKey = newKey();
    assert.equal(decrypt(stored, { current: otherKey, old: [] }, 'totp:1'), null);
    const forged = stored.replace(ring.current.id, otherKey.id);
    assert.equal(decrypt(forged, { current: otherKey, old: [] }, 'totp:1'), null);
  });

  it('when the associated data is another user, then decryption fails', () => {
    assert.equal(decrypt(encrypt('secret', ring, 'totp:1'), ring, 'totp:2'), null);
  });

  it('when any part is altered or truncated, then decryption fails', () => {
    const stored = encrypt('secret', ring, 'totp:1');
    const parts = stored.split('.');
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    for (const index of [2, 3, 4]) {
      const altered = parts.map((part, i) => (i === index ? flip(part) : part)).join('.');
      assert.equal(decrypt(altered, ring, 'totp:1'), null, `part ${index}`);
    }
    const shortTag = [...parts.slice(0, 4), parts[4]!.slice(0, 6)].join('.');
    assert.equal(decrypt(shortTag, ring, 'totp:1'), null, 'a truncated tag is refused');
    assert.equal(decrypt('garbage', ring, 'totp:1'), null);
    assert.equal(decrypt(`v2${stored.slice(2)}`, ring, 'totp:1'), null);
  });

  it('when the key is rotated, then old secrets still decrypt with the old key listed', () => {
    const stored = encrypt('secret', ring, 'totp:1');
    const rotated: KeyRing = { current: newKey(), old: [ring.current] };
    assert.equal(decrypt(stored, rotated, 'totp:1'), 'secret');
    assert.equal(keyIdOf(stored), ring.current.id);
    assert.equal(keyIdOf(encrypt('secret', rotated, 'totp:1')), rotated.current.id);
    assert.equal(
      decrypt(stored, { current: rotated.current, old: [] }, 'totp:1'),
      null,
      'without the old key it fails',
    );
  });
});
