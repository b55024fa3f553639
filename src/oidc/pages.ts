/**
 * The provider's own pages (an error it cannot send back to the app, the sign-out question and
 * the signed-out page), rendered from Keygate's views so that they look like every other page
 * and keep the same CSP. These run inside oidc-provider (Koa), so they render with ejs directly.
 */
import path from 'node:path';
import ejs from 'ejs';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AppDeps } from '../deps.ts';
import { VIEWS_DIR } from '../dirs.ts';
import { en } from '../messages/index.ts';

export function renderView(deps: AppDeps, view: string, locals: Record<string, unknown>) {
  return ejs.renderFile(
    path.join(VIEWS_DIR, `${view}.ejs`),
    { appName: deps.config.appName, t: en, user: null, ...locals },
    { rmWhitespace: true, cache: deps.config.isProduction, root: VIEWS_DIR },
  );
}

export function renderErrorPage(deps: AppDeps) {
  return async (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) => {
    const page = en.oidc.providerError(out.error_description ?? out.error);
    ctx.type = 'html';
    ctx.body = await renderView(deps, 'errors/error', {
      title: page.title,
      message: page.message,
      status: ctx.status,
      requestId: (ctx.req as unknown as { id?: string }).id ?? '',
    });
  };
}

function unescapeAttribute(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The action and xsrf value of oidc-provider's logout form (null when it sent none). */
export function logoutFormFields(form: string): { action: string; xsrf: string } | null {
  const action = /\saction="([^"]*)"/.exec(form)?.[1];
  const xsrf = /name="xsrf"\s+value="([^"]*)"/.exec(form)?.[1];
  if (action === undefined || xsrf === undefined) return null;
  return { action: unescapeAttribute(action), xsrf: unescapeAttribute(xsrf) };
}

/** The question "sign out of this app (and of Keygate)?", or the page after it. */
export function renderLogoutPage(deps: AppDeps, options: { done?: boolean } = {}) {
  return async (ctx: KoaContextWithOIDC, form?: string) => {
    const client = ctx.oidc.client;
    ctx.type = 'html';
    ctx.body = await renderView(deps, 'oidc/logout', {
      title: en.oidc.logoutTitle(client?.clientName ?? null),
      done: options.done === true,
      // Only the provider form's action and xsrf value are used: the page's form is Keygate's own
      // markup (the provider's has an id with a dot and XHTML-style void tags).
      form: logoutFormFields(form ?? ''),
      app: client?.clientName ?? null,
    });
  };
}
