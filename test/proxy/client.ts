import assert from 'node:assert/strict';
import { encodeForm } from '../helpers/agent.ts';
import { viaProxy, type ProxiedAnswer } from '../helpers/proxies.ts';
import { rememberSecret } from '../helpers/secrets.ts';

/**
 * A browser without JavaScript that talks to every host through the proxy on one loopback port.
 * Its cookie jar keeps cookies by name: every test host is under keygate.test, the gate cookie's
 * domain, and the portal's cookie only ever comes from the portal.
 */
export class ProxyBrowser {
  readonly cookies = new Map<string, string>();
  constructor(readonly port: number) {}

  cookieHeader(only?: string[]): string {
    return [...this.cookies]
      .filter(([name]) => !only || only.includes(name))
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }

  async request(
    host: string,
    path: string,
    options: {
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      cookies?: string[];
    } = {},
  ): Promise<ProxiedAnswer> {
    const cookie = this.cookieHeader(options.cookies);
    const answer = await viaProxy(this.port, host, path, {
      ...options,
      headers: { ...(cookie ? { cookie } : {}), ...options.headers },
    });
    const set = answer.headers['set-cookie'] ?? [];
    for (const line of set) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else {
        this.cookies.set(name, value);
        rememberSecret('cookie', decodeURIComponent(value));
      }
    }
    return answer;
  }

  /** GETs a portal page, then posts its first form's token with `fields` to `action`. */
  async submit(host: string, page: string, action: string, fields: Record<string, string>) {
    const form = await this.request(host, page);
    assert.equal(form.status, 200, `GET ${page}: ${form.status} ${form.body.slice(0, 200)}`);
    // Like a browser: the form's hidden fields (token, next, rd) go with what the person typed.
    const hidden = Object.fromEntries(
      [...form.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        m[2]!.replace(/&amp;/g, '&').replace(/&#34;/g, '"').replace(/&#39;/g, "'"),
      ]),
    );
    assert.ok(hidden._csrf, `${page} has a form`);
    return this.request(host, action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encodeForm({ ...hidden, ...fields }),
    });
  }
}

/** A Location header as a URL (absolute, or on `base`). */
export function locationOf(answer: ProxiedAnswer, base: string): URL {
  assert.ok(answer.headers.location, `a Location (status ${answer.status})`);
  return new URL(answer.headers.location, base);
}
