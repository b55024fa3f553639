import type { Express } from 'express';
import request from 'supertest';
import { rememberSecret } from './secrets.ts';
import type TestAgent from 'supertest/lib/agent.js';

export type Response = request.Response;

/** The CSRF token of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on this page');
  rememberSecret('csrf token', match[1]);
  return match[1]!;
}

/**
 * A browser without JavaScript: keeps its cookies, reads the CSRF token from the page that holds
 * a form, and posts the form back as application/x-www-form-urlencoded.
 */
export interface Browser {
  agent: TestAgent;
  get(path: string): Promise<Response>;
  /** GETs `pagePath`, then POSTs `fields` (plus the page's CSRF token) to `action`. */
  submit(
    pagePath: string,
    action: string,
    fields: Record<string, string | string[]>,
  ): Promise<Response>;
  /** POSTs with an explicit token (or none), for CSRF tests. */
  post(action: string, fields: Record<string, string | string[]>): Promise<Response>;
  /** The raw session cookie ("name=value"), if any. */
  sessionCookie(): string | undefined;
}

export function createBrowser(app: Express): Browser {
  const agent = request.agent(app);
  const browser: Browser = {
    agent,
    get: async (path) => {
      const response = await agent.get(path);
      browser.sessionCookie();
      return response;
    },
    async submit(pagePath, action, fields) {
      const page = await agent.get(pagePath);
      if (page.status !== 200) throw new Error(`GET ${pagePath} answered ${page.status}`);
      return browser.post(action, { ...fields, _csrf: csrfTokenIn(page.text) });
    },
    post: async (action, fields) => {
      const response = await agent.post(action).type('form').send(encodeForm(fields));
      browser.sessionCookie();
      return response;
    },
    sessionCookie() {
      const cookies = (
        agent as unknown as { jar: { getCookies(o: object): { name: string; value: string }[] } }
      ).jar.getCookies({
        domain: '127.0.0.1',
        path: '/',
        secure: false,
        script: false,
      });
      const found = cookies.find(
        (cookie) => cookie.name === 'keygate.sid' || cookie.name === '__Host-keygate',
      );
      if (found)
        rememberSecret('session id', decodeURIComponent(found.value).slice(2).split('.')[0]);
      return found ? `${found.name}=${found.value}` : undefined;
    },
  };
  return browser;
}

export function encodeForm(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
  }
  return params.toString();
}
