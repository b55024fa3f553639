/**
 * Every change of a session's sign-in state, one verb each. Each verb that raises or lowers what
 * a session may do starts a new session id (ASVS 7.2.4), so a planted or stolen earlier id is
 * never promoted.
 */
import crypto from 'node:crypto';
import type { Request } from 'express';
import type { SignInFactors } from '../../auth/sign-in.ts';

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => (error ? reject(error) : resolve())),
  );
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.destroy((error) => (error ? reject(error) : resolve())),
  );
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.save((error) => (error ? reject(error) : resolve())),
  );
}

/**
 * Starts a fresh signed-in session for `user`: a new id, so a planted id is never promoted. A
 * trusted-browser sign-in skipped the code, so it is no recent full authentication (no `authAt`):
 * sensitive actions ask for the password and a code first, as after the recent window.
 */
export async function startSignedInSession(
  req: Request,
  user: { id: string; sessionGeneration: number },
  now: number,
  factors: SignInFactors,
): Promise<void> {
  await regenerateSession(req);
  Object.assign(req.session, {
    userId: user.id,
    factors,
    generation: user.sessionGeneration,
    createdAt: now,
    lastSeenAt: now,
    ...(factors === 'password_and_trusted_browser' ? {} : { authAt: now }),
    ip: req.ip ?? 'unknown',
    userAgent: (req.get('user-agent') ?? '').slice(0, 300),
  });
}

/** A correct password for a 2FA user: a new session that holds only the pending sign-in. */
export async function startPendingSignIn(
  req: Request,
  userId: string,
  now: number,
  next: string,
  options: { trustOffered: boolean },
): Promise<void> {
  await regenerateSession(req);
  req.session.pending = {
    ref: crypto.randomBytes(16).toString('base64url'),
    userId,
    startedAt: now,
    next,
    ...(options.trustOffered ? { trustOffered: true } : {}),
  };
}

/**
 * After "confirm it's you" or a change that ended the user's other sessions: a new session id,
 * same sign-in, fresh authentication time, and (if given) the user's new session generation and
 * the factors just proven (a code at confirm-it's-you or at enrolment; none once 2FA is off).
 */
export async function refreshAuthentication(
  req: Request,
  now: number,
  options: { generation?: number; factors?: SignInFactors } = {},
): Promise<void> {
  // The gate cookie and the apps' grants go on with the sign-in: apps in other tabs stay open.
  const { userId, createdAt, ip, userAgent, gateHash, oidcGrants } = req.session;
  const factors = options.factors ?? req.session.factors;
  const generation = options.generation ?? req.session.generation;
  await regenerateSession(req);
  Object.assign(req.session, {
    userId,
    factors,
    createdAt,
    ip,
    userAgent,
    generation,
    lastSeenAt: now,
    authAt: now,
    ...(gateHash ? { gateHash } : {}),
    ...(oidcGrants ? { oidcGrants } : {}),
  });
}

/**
 * A reset link was opened: a new session that holds only the pending reset (no sign-in), so the
 * token leaves the address bar and the steps that follow need only this session.
 */
export async function startPasswordReset(
  req: Request,
  link: { tokenId: string; userId: string },
  now: number,
): Promise<void> {
  await regenerateSession(req);
  req.session.passwordReset = {
    ref: crypto.randomBytes(16).toString('base64url'),
    tokenId: link.tokenId,
    userId: link.userId,
    startedAt: now,
    codeVerified: false,
  };
}

/** The reset's code step is done: a new session id, as after any authentication step. */
export async function markResetCodeVerified(req: Request): Promise<void> {
  const reset = req.session.passwordReset;
  if (!reset) throw new Error('markResetCodeVerified needs a pending reset');
  await regenerateSession(req);
  req.session.passwordReset = { ...reset, codeVerified: true };
}

/** Ends whatever the session held (a sign-in, a pending one): an empty session with a new id. */
export function resetSession(req: Request): Promise<void> {
  return regenerateSession(req);
}
