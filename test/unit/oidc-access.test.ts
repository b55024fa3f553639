/**
 * What the provider answers for each way a Keygate sign-in was made (the session's `factors`):
 * the acr and amr an app receives, and when it must confirm it's you first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACR_ONE_FACTOR,
  ACR_TWO_FACTOR,
  decideOidcSignIn,
  type OidcRequest,
} from '../../src/auth/oidc-access.ts';
import type { ProtectedApp } from '../../src/auth/protected-apps.ts';
import type { SignInFactors } from '../../src/auth/sign-in.ts';
import type { User } from '../../src/auth/users.ts';

const NOW = Date.UTC(2026, 11, 1, 12);
const app: ProtectedApp = {
  id: '1',
  name: 'Forgejo',
  host: '',
  pathPrefix: '',
  policy: 'signed-in',
  allowedGroups: [],
  oidc: null,
};
const user = {
  id: '7',
  email: 'ada@example.com',
  role: 'user',
  isActive: true,
  totpEnabledAt: new Date(NOW - 86_400_000),
  twoFactorGraceStartedAt: null,
} as unknown as User;
const plain: OidcRequest = { acrValues: '', freshSince: null, maxAgeSeconds: null };

function decide(factors: SignInFactors, request: OidcRequest = plain, authAt = NOW - 60_000) {
  return decideOidcSignIn({
    app,
    signIn: { user, groups: [], factors, authAt },
    request,
    rules: { require2fa: 'off', require2faGraceMs: 0 },
    nowMs: NOW,
  });
}

describe('OpenID sign-in decisions by how the Keygate sign-in was made', () => {
  it('when the sign-in had a code, then the app learns acr 2fa and amr pwd+otp', () => {
    assert.deepEqual(decide('password_and_code'), {
      kind: 'allow',
      acr: ACR_TWO_FACTOR,
      amr: ['pwd', 'otp'],
      authTime: Math.floor((NOW - 60_000) / 1000),
    });
  });

  it('when the sign-in used a trusted browser, then it counts as two-factor (as at the gate) with amr pwd+mfa, never otp', () => {
    const answer = decide('password_and_trusted_browser', { ...plain, acrValues: ACR_TWO_FACTOR });
    assert.equal(answer.kind, 'allow');
    assert.ok(answer.kind === 'allow');
    assert.equal(answer.acr, ACR_TWO_FACTOR);
    assert.deepEqual(answer.amr, ['pwd', 'mfa']);
  });

  it('when the sign-in had only a password and the app asks for 2FA, then the person confirms with a code first', () => {
    assert.deepEqual(decide('password'), {
      kind: 'allow',
      acr: ACR_ONE_FACTOR,
      amr: ['pwd'],
      authTime: Math.floor((NOW - 60_000) / 1000),
    });
    assert.deepEqual(decide('password', { ...plain, acrValues: ACR_TWO_FACTOR }), {
      kind: 'confirm',
    });
  });

  it('when an app sends max_age shorter than the sign-in’s age, then even a trusted browser confirms first', () => {
    assert.deepEqual(
      decide('password_and_trusted_browser', { ...plain, maxAgeSeconds: 30 }, NOW - 3_600_000),
      { kind: 'confirm' },
    );
  });
});
