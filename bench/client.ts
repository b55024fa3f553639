/**
 * A minimal browser for the scripted parts of the bench (signing the admin in, the legitimate
 * user under attack): keeps its cookies (the session's, the sign-in form's), reads CSRF tokens
 * from forms, never follows redirects.
 * Requests look as if they came through a TLS proxy, as production traffic does.
 */
export interface Reply {
  status: number;
  location: string | null;
  body: string;
}

export function proxyHeaders(ip = '203.0.113.10'): Record<string, string> {
  return { 'x-forwarded-proto': 'https', 'x-forwarded-for': ip };
}

export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1]!;
}

export class Browser {
  private readonly jar = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly ip = '203.0.113.10',
  ) {}

  private async send(path: string, init: RequestInit): Promise<Reply> {
    const response = await fetch(this.base + path, {
      ...init,
      redirect: 'manual',
      headers: {
        ...proxyHeaders(this.ip),
        'user-agent': 'keygate-bench',
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      if (/=$/.test(pair) || /expires=Thu, 01 Jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, pair);
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
    };
  }

  /** The Cookie header this browser sends. */
  get cookie(): string {
    return [...this.jar.values()].join('; ');
  }

  /** Starts from a seeded cookie ("name=value"). */
  set cookie(pair: string) {
    this.jar.clear();
    if (pair) this.jar.set(pair.slice(0, pair.indexOf('=')), pair);
  }

  get(path: string): Promise<Reply> {
    return this.send(path, { method: 'GET' });
  }

  post(path: string, form: Record<string, string>): Promise<Reply> {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** GET the form at `path`, then POST it with its CSRF token. */
  async submit(path: string, form: Record<string, string>): Promise<Reply> {
    const page = await this.get(path);
    return this.post(path, { ...form, _csrf: csrfTokenIn(page.body) });
  }
}
