import type { Request } from 'express';
import { revokeGrantsById } from '../auth/oidc-grants.ts';
import type { Db } from '../db/knex.ts';

/**
 * The grants an app received through this Keygate session are kept in the session, so that
 * signing out (here, or from an app with "also sign out of Keygate") ends them too: the app's
 * next userinfo call or refresh is refused (SECURITY.md #56).
 */
export function rememberGrant(req: Request, grantId: string): void {
  const grants = new Set(req.session.oidcGrants ?? []);
  grants.add(grantId);
  req.session.oidcGrants = [...grants].slice(-50);
}

export async function endKeygateGrants(db: Db, req: Request): Promise<void> {
  await revokeGrantsById(db, req.session?.oidcGrants ?? [], 'signed_out');
}
