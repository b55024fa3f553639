import fs from 'node:fs';
import path from 'node:path';

/**
 * Every secret value a test uses (passwords, codes, TOTP secrets, session ids, CSRF tokens, setup
 * tokens) is written down here, so that after the whole suite test/run.ts can search every log
 * line for every one of them (checklist #46).
 */
const dir = process.env.KEYGATE_TEST_SECRETS_DIR;
const file = dir ? path.join(dir, `${process.pid}.jsonl`) : null;
const seen = new Set<string>();

export function rememberSecret(kind: string, value: string | undefined | null): void {
  if (!file || !value || seen.has(value)) return;
  seen.add(value);
  fs.appendFileSync(file, JSON.stringify({ kind, value }) + '\n');
}
