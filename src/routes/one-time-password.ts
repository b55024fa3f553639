/**
 * A password an admin just made (a new account's, or a temporary one) is shown exactly once, on the
 * page the POST redirects to: kept encrypted in the admin's session until that page takes it.
 * A reload shows the page without it, and nothing resubmits.
 */
import type { Request } from 'express';
import { associatedData, decrypt, encrypt, type KeyRing } from '../auth/encryption.ts';

type Purpose = 'created' | 'temporary';

export function keepOneTimePassword(
  req: Request,
  keys: KeyRing,
  input: { userId: string; purpose: Purpose; password: string },
): void {
  req.session.oneTimePassword = {
    userId: input.userId,
    purpose: input.purpose,
    password: encrypt(input.password, keys, associatedData.oneTimePassword(input.userId)),
  };
}

/** The password kept for this user and purpose, once; null after that (or if there was none). */
export function takeOneTimePassword(
  req: Request,
  keys: KeyRing,
  input: { userId: string; purpose: Purpose },
): string | null {
  const kept = req.session.oneTimePassword;
  if (!kept || kept.userId !== input.userId || kept.purpose !== input.purpose) return null;
  delete req.session.oneTimePassword;
  return decrypt(kept.password, keys, associatedData.oneTimePassword(input.userId));
}
