import { rotateTotpSecrets } from '../auth/key-rotation.ts';
import { fail, withDatabase } from './shared.ts';

// Re-encrypts every TOTP secret with TOTP_ENCRYPTION_KEY. Retired keys go in TOTP_ENCRYPTION_OLD_KEYS.
const { report, keyId } = await withDatabase(async (db, config) => ({
  report: await rotateTotpSecrets(db, config.totpKeys),
  keyId: config.totpKeys.current.id,
}));
console.log(
  `Re-encrypted ${report.rotated} TOTP secret(s) with key ${keyId}; ${report.alreadyCurrent} already used it; ${report.failedUserIds.length} could not be decrypted.`,
);
if (report.failedUserIds.length) {
  fail(
    `error: no configured key decrypts the secrets of user id(s) ${report.failedUserIds.join(', ')}: add the key they were encrypted with to TOTP_ENCRYPTION_OLD_KEYS and run again, or reset their 2FA`,
  );
}
