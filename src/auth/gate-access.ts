/**
 * The gate's decision for one request, from what lookUpGate read: which app the URL belongs to
 * (most specific rule first; a host that matches no app is denied), whether the session still
 * holds (generation, deactivation, idle and absolute timeouts, exactly as for the portal), and
 * whether the app's policy and groups let the person in. Pure: no clock, no database.
 */
import type { GateIdentity } from './gate.ts';
import { LAST_SEEN_PRECISION_MS } from './limits.ts';
import { policyState, type TwoFactorPolicy } from './policy.ts';
import { mostSpecificApp, type ProtectedApp } from './protected-apps.ts';

/** The identity headers of an allowed request: each present, non-empty, visible ASCII. */
export interface IdentityHeaders {
  'Remote-User': string;
  'Remote-Email': string;
  'Remote-Groups': string;
}

export type GateDecision =
  | { kind: 'allow'; app: ProtectedApp; headers: IdentityHeaders; userId: string }
  | { kind: 'sign_in'; app: ProtectedApp }
  | { kind: 'enrol'; app: ProtectedApp; userId: string }
  | {
      kind: 'deny';
      app: ProtectedApp | null;
      reason: 'no_app' | 'nobody' | 'not_in_group' | 'unrepresentable';
      userId: string | null;
    };

export interface GateRules {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  require2fa: TwoFactorPolicy;
  require2faGraceMs: number;
}

const HEADER_VALUE = /^[\x21-\x7e]+$/;

/** Whether the session behind the gate cookie is one the portal itself would still accept. */
export function sessionHolds(identity: GateIdentity, rules: GateRules, nowMs: number): boolean {
  if (!identity.isActive || identity.sessionGeneration !== identity.generation) return false;
  if (identity.createdAt === null) return false;
  const lastSeenAt = identity.lastSeenAt ?? identity.createdAt;
  return (
    nowMs - lastSeenAt <= rules.idleTimeoutMs &&
    nowMs - identity.createdAt <= rules.absoluteTimeoutMs
  );
}

/** True when the session's idle clock is due to move (at most one write a minute per session). */
export function idleClockDue(identity: GateIdentity, nowMs: number): boolean {
  return nowMs - (identity.lastSeenAt ?? identity.createdAt ?? 0) >= LAST_SEEN_PRECISION_MS;
}

export function identityHeaders(identity: GateIdentity): IdentityHeaders | null {
  const headers = {
    'Remote-User': identity.email,
    'Remote-Email': identity.email,
    'Remote-Groups': [identity.role, ...identity.groups].join(','),
  };
  return Object.values(headers).every((value) => HEADER_VALUE.test(value)) ? headers : null;
}

export function decideAccess(input: {
  apps: readonly ProtectedApp[];
  identity: GateIdentity | null;
  url: URL;
  nowMs: number;
  rules: GateRules;
}): GateDecision {
  const { identity, rules, nowMs } = input;
  const app = mostSpecificApp(input.apps, input.url.hostname, input.url.pathname);
  const userId = identity?.userId ?? null;
  if (!app) return { kind: 'deny', app: null, reason: 'no_app', userId };
  if (app.policy === 'nobody') return { kind: 'deny', app, reason: 'nobody', userId };
  if (!identity || !sessionHolds(identity, rules, nowMs) || identity.mustChangePassword)
    return { kind: 'sign_in', app };

  const policy = policyState(rules.require2fa, rules.require2faGraceMs, identity, nowMs);
  const needsTwoFactor = app.policy === 'two-factor' || policy.kind === 'enforced';
  // Enabling 2FA ends every other session of the user, so a live session of a user with 2FA on
  // passed a code (at sign-in or at enrolment): a password alone never gets here.
  if (needsTwoFactor && !identity.totpEnabledAt)
    return { kind: 'enrol', app, userId: identity.userId };

  if (app.allowedGroups.length > 0 && !app.allowedGroups.some((g) => identity.groups.includes(g)))
    return { kind: 'deny', app, reason: 'not_in_group', userId: identity.userId };
  const headers = identityHeaders(identity);
  if (!headers) return { kind: 'deny', app, reason: 'unrepresentable', userId: identity.userId };
  return { kind: 'allow', app, headers, userId: identity.userId };
}
