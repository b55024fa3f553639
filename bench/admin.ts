import { Browser } from './client.ts';
import { currentCode } from './context.ts';
import { ADMIN_EMAIL, PASSWORD, type SeedMaterial } from './seed.ts';
import type { Stack } from './stack.ts';

/** The seeded admin, signed in through the real forms (password, then code). */
export async function signInAdmin(ctx: { stack: Stack; material: SeedMaterial }): Promise<Browser> {
  const admin = new Browser(ctx.stack.url, '203.0.113.2');
  const first = await admin.submit('/login', { email: ADMIN_EMAIL, password: PASSWORD });
  if (first.location !== '/login/2fa') throw new Error(`admin password step: ${first.status}`);
  const code = await currentCode(ctx.material.totpSecret);
  const done = await admin.submit('/login/2fa', { code });
  if (done.location !== '/') throw new Error(`admin code step: ${done.status}`);
  return admin;
}
