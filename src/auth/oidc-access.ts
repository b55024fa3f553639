/**
 * Whether a sign-in request from an app can be answered with the person's current Keygate
 * sign-in, and if not, what they must do first. Pure: the same rules as the gate (policy.ts,
 * gate-access.ts), plus what the app asked for (acr_values, prompt=login, max_age).
 */
import type { SignInFactors } from './sign-in.ts';
import { policyState, type TwoFactorPolicy } from './policy.ts';
import type { ProtectedApp } from './protected-apps.ts';
import type { User } from './users.ts';

export const ACR_ONE_FACTOR = 'urn:keygate:1fa';
export const ACR_TWO_FACTOR = 'urn:keygate:2fa';
export const ACR_VALUES = [ACR_ONE_FACTOR, ACR_TWO_FACTOR] as const;

export type OidcDecision =
  | { kind: 'sign_in' }
  | { kind: 'deny'; reason: 'nobody' | 'not_in_group' }
  | { kind: 'enrol' }
  /** Confirm it's you: a fresh authentication, or a code where only a password was given. */
  | { kind: 'confirm' }
  | { kind: 'allow'; acr: string; amr: string[]; authTime: number };

export interface OidcRequest {
  /** acr_values, space-separated as sent (empty when absent). */
  acrValues: string;
  /** The app asked for a fresh sign-in: an authentication after this time (ms) is needed. */
  freshSince: number | null;
  /** max_age in seconds, if sent. */
  maxAgeSeconds: number | null;
}

export interface OidcSignIn {
  user: User | null;
  groups: readonly string[];
  factors: SignInFactors | undefined;
  /**
   * When the person last typed their password (and a code, if the sign-in had one). A trusted-
   * browser session has no recent full authentication, so this is when it signed in.
   */
  authAt: number | undefined;
}

/**
 * A second factor was part of this sign-in: a code, or a trusted browser (a token the browser was
 * given after a code, checked with the password; the gate treats it as two-factor as well).
 */
export function isTwoFactor(factors: SignInFactors | undefined): boolean {
  return factors === 'password_and_code' || factors === 'password_and_trusted_browser';
}

/**
 * amr values (RFC 8176): `pwd`, plus `otp` for a TOTP or a recovery code, or `mfa` for a trusted
 * browser (no code was typed this time, so `otp` would be untrue).
 */
export function amrFor(factors: SignInFactors | undefined): string[] {
  if (factors === 'password_and_code') return ['pwd', 'otp'];
  if (factors === 'password_and_trusted_browser') return ['pwd', 'mfa'];
  return ['pwd'];
}

export function acrFor(factors: SignInFactors | undefined): string {
  return isTwoFactor(factors) ? ACR_TWO_FACTOR : ACR_ONE_FACTOR;
}

export function decideOidcSignIn(input: {
  app: ProtectedApp;
  signIn: OidcSignIn;
  request: OidcRequest;
  rules: { require2fa: TwoFactorPolicy; require2faGraceMs: number };
  nowMs: number;
}): OidcDecision {
  const { app, signIn, request, nowMs } = input;
  if (app.policy === 'nobody') return { kind: 'deny', reason: 'nobody' };
  const user = signIn.user;
  if (!user || signIn.authAt === undefined) return { kind: 'sign_in' };
  if (app.allowedGroups.length > 0 && !app.allowedGroups.some((g) => signIn.groups.includes(g)))
    return { kind: 'deny', reason: 'not_in_group' };

  const policy = policyState(input.rules.require2fa, input.rules.require2faGraceMs, user, nowMs);
  const wantsTwoFactor =
    app.policy === 'two-factor' ||
    policy.kind === 'enforced' ||
    request.acrValues.split(' ').includes(ACR_TWO_FACTOR);
  if (wantsTwoFactor && !user.totpEnabledAt) return { kind: 'enrol' };
  // A code where the sign-in had only a password (2FA was turned on later in this session).
  if (wantsTwoFactor && !isTwoFactor(signIn.factors)) return { kind: 'confirm' };
  if (request.freshSince !== null && signIn.authAt < request.freshSince) return { kind: 'confirm' };
  if (request.maxAgeSeconds !== null && nowMs - signIn.authAt > request.maxAgeSeconds * 1000)
    return { kind: 'confirm' };
  return {
    kind: 'allow',
    acr: acrFor(signIn.factors),
    amr: amrFor(signIn.factors),
    authTime: Math.floor(signIn.authAt / 1000),
  };
}
