import { z } from 'zod';
import { en } from '../messages/index.ts';

export type FieldErrors = Record<string, string>;

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

// C0 controls (NUL included) and DEL never belong in a single-line form field; U+FFFD means the
// browser sent bytes that were not UTF-8.
// eslint-disable-next-line no-control-regex
const UNREADABLE = /[\u0000-\u001f\u007f\ufffd]/;

/**
 * One form field as text. Repeated fields (arrays), bracket objects and missing values get a
 * message a person can act on instead of reaching the domain code.
 */
export function textField(
  label: string,
  options: { max: number; trim?: boolean; required?: string },
) {
  // .optional(): a missing field is read as empty, so the messages below apply to it too.
  return z
    .unknown()
    .optional()
    .transform((value, ctx): string => {
      if (Array.isArray(value)) {
        ctx.addIssue({
          code: 'custom',
          message: en.forms.sentTwice(label),
        });
        return z.NEVER;
      }
      if (value !== undefined && typeof value !== 'string') {
        ctx.addIssue({ code: 'custom', message: en.forms.unreadable(label) });
        return z.NEVER;
      }
      const text = options.trim === false ? (value ?? '') : (value ?? '').trim();
      if (text === '' && options.required) {
        ctx.addIssue({ code: 'custom', message: options.required });
        return z.NEVER;
      }
      if (UNREADABLE.test(text)) {
        ctx.addIssue({
          code: 'custom',
          message: en.forms.badCharacters(label),
        });
        return z.NEVER;
      }
      if ([...text].length > options.max) {
        ctx.addIssue({
          code: 'custom',
          message: en.forms.tooLong(label, options.max),
        });
        return z.NEVER;
      }
      return text;
    });
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** An address as typed to sign in (compared in canonical form: see canonicalEmail). */
export function emailField() {
  return textField('Email address', { max: 254, required: en.forms.enterEmail() }).refine(
    (email) => email === '' || EMAIL.test(email.normalize('NFKC')),
    en.forms.emailShape(),
  );
}

/**
 * An address for a new account. Beyond the usual checks it must be ASCII once NFKC-normalised:
 * non-ASCII letters are where look-alikes live (Cyrillic "а" for Latin "a", and many more that no
 * normalisation folds), and an identity provider gains more from one unambiguous spelling per
 * person than from internationalised mailboxes (#51).
 */
export function newEmailField() {
  return emailField().refine(
    // eslint-disable-next-line no-control-regex
    (email) => /^[\x00-\x7f]*$/.test(email.normalize('NFKC')),
    en.forms.asciiEmail(),
  );
}

/** Parses a request body (which may be undefined, e.g. for a JSON post) with a form schema. */
export function parseForm<T>(schema: z.ZodType<T>, body: unknown): FormResult<T> {
  const input = body && typeof body === 'object' ? body : {};
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

/**
 * A return path after sign-in: only a path on this site. Anything that a browser could read as
 * another host (`//evil`, `/\evil`, `https://evil`), control characters, or odd input becomes "/".
 */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (UNREADABLE.test(value) || /[\\\s]/.test(value)) return '/';
  try {
    const url = new URL(value, 'http://keygate.invalid');
    if (url.origin !== 'http://keygate.invalid') return '/';
    const path = url.pathname + url.search;
    // Dot segments can normalise into a protocol-relative address: "/.//evil" becomes "//evil".
    if (path.startsWith('//')) return '/';
    return path;
  } catch {
    return '/';
  }
}
