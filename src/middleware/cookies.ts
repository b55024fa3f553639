import type { IncomingMessage } from 'node:http';

/**
 * The value of the first cookie called `name` in the request's Cookie header, URI-decoded;
 * undefined when there is none or it cannot be decoded.
 */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
