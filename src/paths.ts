/**
 * Every address Keygate serves, in one place: routes mount these, guards redirect to them, and the
 * account-requirements middleware lists what stays reachable from them, so the three cannot drift.
 */
export const paths = {
  home: '/',
  signIn: '/login',
  signInCode: '/login/2fa',
  signInRecoveryCode: '/login/recovery',
  signOut: '/logout',
  confirm: '/confirm',
  settings: '/settings',
  password: '/settings/password',
  activity: '/settings/activity',
  endSession: '/settings/sessions/end',
  endOtherSessions: '/settings/sessions/end-others',
  forgetTrustedBrowser: '/settings/trusted-browsers/forget',
  twoFactorSetup: '/settings/2fa/setup',
  twoFactorConfirm: '/settings/2fa/confirm',
  twoFactorDisable: '/settings/2fa/disable',
  recoveryCodes: '/settings/2fa/recovery-codes',
  recoveryCodesDownload: '/settings/2fa/recovery-codes.txt',
  recoveryCodesSaved: '/settings/2fa/recovery-codes/saved',
  recoveryCodesRegenerate: '/settings/2fa/recovery-codes/regenerate',
  recoveryCodeUsed: '/settings/2fa/recovery-used',
  admin: '/admin',
  adminUsers: '/admin/users',
  adminNewUser: '/admin/users/new',
  adminUser: '/admin/users/:id',
  adminApps: '/admin/apps',
  adminNewApp: '/admin/apps/new',
  adminApp: '/admin/apps/:id',
  adminUserGroups: '/admin/users/:id/groups',
  adminUserGroupRemove: '/admin/users/:id/groups/remove',
  forgotPassword: '/password/forgot',
  /** A reset link is `/password/reset/<token>`; it moves the token into the session and on here. */
  passwordReset: '/password/reset',
  passwordResetLink: '/password/reset',
  passwordResetCode: '/password/reset-2fa',
  passwordResetRecovery: '/password/reset-recovery',
  email: '/settings/email',
  /** A confirmation link is `/settings/email/confirm/<token>`. */
  emailConfirmLink: '/settings/email/confirm',
  adminUserEmail: '/admin/users/:id/email',
  setup: '/setup',
  /** Forward-auth (contract: proxies' snippets rely on these two names). */
  authz: '/api/authz',
  authzAuthRequest: '/api/authz/auth-request',
  authzForwardAuth: '/api/authz/forward-auth',
  /** A same-origin page that sends the browser on to a protected app (see routes/gate-pages.ts). */
  continueToApp: '/continue',
  /** "You may not open this app", for proxies that show Keygate's page on a denial. */
  accessDenied: '/denied',
  /** The OpenID provider (issuer BASE_URL/oidc) and Keygate's pages for its sign-in requests. */
  oidc: '/oidc',
  oidcInteraction: '/interaction',
  health: '/healthz',
  ready: '/readyz',
  publicFiles: '/public',
} as const;

/** An address with a query string; empty values are left out. */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const entries = Object.entries(query).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
  );
  if (entries.length === 0) return path;
  const text = entries.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  return `${path}?${text}`;
}

export function adminAppPath(id: string, action?: string): string {
  const base = paths.adminApp.replace(':id', encodeURIComponent(id));
  return action ? `${base}/${action}` : base;
}

/** The OpenID provider's issuer identifier: BASE_URL/oidc (discovery lies under it). */
export function oidcIssuer(baseUrl: string): string {
  return `${baseUrl}${paths.oidc}`;
}

/** A sign-in request's page (its cookie is scoped to this path), or one of its steps. */
export function interactionPath(uid: string, step?: string): string {
  const base = `${paths.oidcInteraction}/${encodeURIComponent(uid)}`;
  return step ? `${base}/${step}` : base;
}

export function adminUserPath(id: string, action?: string): string {
  const base = paths.adminUser.replace(':id', encodeURIComponent(id));
  return action ? `${base}/${action}` : base;
}

/** While the 2FA policy is enforced: only the pages that turn 2FA on (and signing out). */
export const REACHABLE_WHILE_ENROLMENT_REQUIRED: ReadonlySet<string> = new Set([
  paths.twoFactorSetup,
  paths.twoFactorConfirm,
  paths.recoveryCodes,
  paths.recoveryCodesDownload,
  paths.recoveryCodesSaved,
  paths.confirm,
  paths.signOut,
  paths.continueToApp,
]);

/** While an admin-set password must be changed: only the password page (and signing out). */
export const REACHABLE_WHILE_PASSWORD_MUST_CHANGE: ReadonlySet<string> = new Set([
  paths.password,
  paths.signOut,
]);
