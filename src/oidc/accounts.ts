/**
 * What the OpenID provider knows of a person: the account behind `sub` (the user id: stable,
 * never the email), and the decision whether their current Keygate sign-in answers an app's
 * request (auth/oidc-access.ts), read fresh from the database each time.
 */
import type { Request } from 'express';
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import { listUserGroups } from '../auth/groups.ts';
import { decideOidcSignIn, type OidcDecision, type OidcRequest } from '../auth/oidc-access.ts';
import type { ProtectedApp } from '../auth/protected-apps.ts';
import { findUserById } from '../auth/users.ts';
import type { AppDeps } from '../deps.ts';

export function findAccount({ db }: AppDeps) {
  return async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const user = /^[1-9]\d{0,17}$/.test(sub) ? await findUserById(db, sub) : null;
    // A deactivated person's tokens answer nothing: userinfo and refresh fail at once.
    if (!user || !user.isActive) return undefined;
    return {
      accountId: user.id,
      async claims() {
        const groups = await listUserGroups(db, user.id);
        return {
          sub: user.id,
          email: user.email,
          // Keygate's addresses are set by an administrator; Keygate sends no mail to check them.
          email_verified: true,
          preferred_username: user.email,
          groups: [user.role, ...groups],
        };
      },
    };
  };
}

/** The Keygate sign-in of this request (Express's session, shared with the provider's ctx.req). */
export async function decisionFor(
  deps: AppDeps,
  req: Request,
  app: ProtectedApp,
  request: OidcRequest,
): Promise<OidcDecision> {
  const user = req.user ?? null;
  return decideOidcSignIn({
    app,
    signIn: {
      user,
      groups: user ? await listUserGroups(deps.db, user.id) : [],
      factors: req.session?.factors,
      authAt: req.session?.authAt ?? (req.session?.userId ? req.session.createdAt : undefined),
    },
    request,
    rules: deps.config,
    nowMs: deps.clock.now(),
  });
}

/** acr_values and max_age as the provider parsed them. */
export function requestOf(params: Record<string, unknown>, freshSince: number | null): OidcRequest {
  const maxAge = Number(params.max_age);
  return {
    acrValues: typeof params.acr_values === 'string' ? params.acr_values : '',
    freshSince,
    maxAgeSeconds: params.max_age !== undefined && Number.isFinite(maxAge) ? maxAge : null,
  };
}
