import type { Db } from '../db/knex.ts';
import { associatedData, decrypt, encrypt, keyIdOf, type KeyRing } from './encryption.ts';

export interface RotationReport {
  rotated: number;
  alreadyCurrent: number;
  /** Users whose secret no configured key can decrypt. */
  failedUserIds: string[];
}

/**
 * Re-encrypts every TOTP secret with the current key, in batches walked by id. Each row is
 * updated only if it still holds the ciphertext we read, so a concurrent enable/disable wins.
 */
export async function rotateTotpSecrets(
  db: Db,
  keys: KeyRing,
  batchSize = 500,
): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, alreadyCurrent: 0, failedUserIds: [] };
  let after = '0';
  for (;;) {
    const rows: { id: string; totp_secret_encrypted: string }[] = await db('users')
      .whereNotNull('totp_secret_encrypted')
      .where('id', '>', after)
      .orderBy('id')
      .limit(batchSize)
      .select('id', 'totp_secret_encrypted');
    if (rows.length === 0) return report;
    for (const row of rows) {
      const id = String(row.id);
      if (keyIdOf(row.totp_secret_encrypted) === keys.current.id) {
        report.alreadyCurrent++;
        continue;
      }
      const secret = decrypt(row.totp_secret_encrypted, keys, associatedData.totpSecret(id));
      if (secret === null) {
        report.failedUserIds.push(id);
        continue;
      }
      const updated = await db('users')
        .where({ id, totp_secret_encrypted: row.totp_secret_encrypted })
        .update({ totp_secret_encrypted: encrypt(secret, keys, associatedData.totpSecret(id)) });
      if (updated) report.rotated++;
    }
    after = String(rows[rows.length - 1]!.id);
  }
}
