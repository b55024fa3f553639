/**
 * The HTTP edge's types in one place: what Keygate adds to Express's request, what it keeps in
 * the server-side session, and the locals every page may read. Plus the accessors that routes
 * use instead of non-null assertions, so an impossible state fails loudly in one place.
 */
import type { Request } from 'express';
import type { PolicyState } from './auth/policy.ts';
import type { SignInFactors } from './auth/sign-in.ts';
import type { RequestOrigin } from './auth/origin.ts';
import type { User } from './auth/users.ts';
import type { Logger } from './logger.ts';
import type { Messages } from './messages/index.ts';

export interface Flash {
  kind: 'success' | 'info' | 'error';
  text: string;
  /** Where to do what the notice asks for. */
  links?: { href: string; text: string }[];
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Sent back as X-Request-Id and shown on error pages (middleware/request-context.ts). */
    id: string;
    log: Logger;
    /** The wording of every sentence this request may show (messages/). */
    t: Messages;
    /** The signed-in user, loaded fresh from the database on every request. */
    user?: User;
    /** The user of the pending sign-in (the second step's pages, not their POSTs). */
    pendingUser?: User;
    /** The user an /admin/users/:id route acts on. */
    target?: User;
    /** This request's anti-forgery token for a form (middleware/csrf.ts). */
    csrfToken(): string;
  }

  interface Locals {
    /** The signed-in user, for the header; null when nobody is signed in. */
    user: User | null;
    /** The signed-in user's own 2FA policy state (a banner during the grace period). */
    policy: PolicyState | null;
    /** A notice from the previous request, shown once (middleware/flash.ts). */
    flash: Flash | null;
    csrfToken: () => string;
    t: Messages;
    /** The app clock's time when the request came in (ms). */
    now: number;
  }
}

declare module 'express-session' {
  interface SessionData {
    /** Set only once sign-in is complete (both factors when 2FA is on). */
    userId: string;
    /**
     * How this sign-in was authenticated (the gate's and the OpenID provider's `amr`/`acr` come
     * from here): a password alone, a password and a TOTP or recovery code, or a password on a
     * browser that passed a code before and was trusted (a 2FA sign-in too: see trusted-browsers.ts).
     */
    factors: SignInFactors;
    /** When this signed-in session began: the absolute timeout counts from here. */
    createdAt: number;
    /** Last request seen, at one-minute precision: the idle timeout counts from here. */
    lastSeenAt: number;
    /**
     * Last full authentication (password, plus a code with 2FA): "recent authentication". Unset
     * after a trusted-browser sign-in, which skipped the code: sensitive actions ask for it first.
     */
    authAt: number;
    /** The user's session generation when this session was issued (see auth/sessions.ts). */
    generation: number;
    /** Where the sign-in came from, for the person's list of their sessions. */
    ip: string;
    userAgent: string;
    flash: Flash;
    /** The secret of this session's form tokens (middleware/csrf.ts; csurf's name for it). */
    csrfSecret: string;
    /** A correct password waiting for its second factor (no userId yet: nothing is reachable). */
    pending: {
      ref: string;
      userId: string;
      startedAt: number;
      next: string;
      /** Whether the code form offers "don't ask for a code on this browser" (see sign-in.ts). */
      trustOffered?: boolean;
    };
    /**
     * A password reset after its link (routes/password-reset.ts): the token's row, never the
     * token; `ref` names this reset's code step for its limit; `codeVerified` once the code step
     * (2FA accounts) is done.
     */
    passwordReset: {
      ref: string;
      tokenId: string;
      userId: string;
      startedAt: number;
      codeVerified: boolean;
    };
    /** 2FA enrolment in progress: the new secret, encrypted, until a first code confirms it. */
    enrolment: { secret: string; startedAt: number; failures: number };
    /** The OpenID grants apps received through this session: they end when it signs out. */
    oidcGrants: string[];
    /** SHA-256 of this session's gate cookie token (forward-auth; see auth/gate.ts). */
    gateHash: string;
    /** A protected app's address to go on to once 2FA enrolment is done (validated). */
    gateReturn: string;
    /** Recovery codes just made, encrypted, viewable until the person says they saved them. */
    freshCodes: { codes: string; createdAt: number };
    /**
     * A password an admin just made for a user (a new account, or a temporary password),
     * encrypted, to be shown once on the page the POST redirects to (Post/Redirect/Get).
     */
    oneTimePassword: { userId: string; purpose: 'created' | 'temporary'; password: string };
    /** An OIDC client secret just made, encrypted, to be shown once (like oneTimePassword). */
    freshClientSecret: { appId: string; secret: string };
  }
}

/** The signed-in user of a route behind requireAuth. */
export function currentUser(req: Request): User {
  if (!req.user) throw new Error(`${req.method} ${req.path} needs requireAuth before it`);
  return req.user;
}

/** The user an admin route acts on (after loadTarget). */
export function targetUser(req: Request): User {
  if (!req.target) throw new Error(`${req.method} ${req.path} needs loadTarget before it`);
  return req.target;
}

/** Where a request came from, as the domain records it. */
export function originOf(req: Request): RequestOrigin {
  return { ip: req.ip ?? 'unknown', userAgent: req.get('user-agent') ?? null };
}
