import type { BenchContext } from './context.ts';
import { adminList, type AdminListResult } from './scenarios/admin-list.ts';
import { codeStep, type ThroughputResult } from './scenarios/code-step.ts';
import { loginPage, type LoginPageResult } from './scenarios/login-page.ts';
import { passwordStep, type PasswordStepResult } from './scenarios/password-step.ts';

/** Scenarios 1-3 and the admin list at one user count: scenario 7 compares two of these. */
export interface PhaseResult {
  users: number;
  login: LoginPageResult;
  password: PasswordStepResult;
  code: ThroughputResult;
  admin: AdminListResult;
}

export async function runPhase(
  ctx: BenchContext,
  say: (line: string) => void,
): Promise<PhaseResult> {
  say(`  3 sign-in page vs bare Express (${ctx.userCount} users)`);
  const login = await loginPage(ctx);
  say(`  1 password step vs bcrypt ceiling (${ctx.userCount} users)`);
  const password = await passwordStep(ctx);
  say(`  2 code step (${ctx.userCount} users)`);
  const code = await codeStep(ctx);
  say(`  7 admin list (${ctx.userCount} users)`);
  const admin = await adminList(ctx);
  return { users: ctx.userCount, login, password, code, admin };
}
