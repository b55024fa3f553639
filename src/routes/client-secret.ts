/**
 * A client secret just made is shown exactly once, on the page the POST redirects to: kept
 * encrypted in the admin's session (bound to them) until that page takes it (as
 * one-time-password.ts does for passwords).
 */
import type { Request } from 'express';
import { associatedData, decrypt, encrypt, type KeyRing } from '../auth/encryption.ts';
import { currentUser } from '../http.ts';

export function keepClientSecret(
  req: Request,
  keys: KeyRing,
  input: { appId: string; secret: string },
): void {
  const userId = currentUser(req).id;
  req.session.freshClientSecret = {
    appId: input.appId,
    secret: encrypt(input.secret, keys, associatedData.freshClientSecret(userId)),
  };
}

export function takeClientSecret(req: Request, keys: KeyRing, appId: string): string | null {
  const kept = req.session.freshClientSecret;
  if (!kept || kept.appId !== appId) return null;
  delete req.session.freshClientSecret;
  return decrypt(kept.secret, keys, associatedData.freshClientSecret(currentUser(req).id));
}
