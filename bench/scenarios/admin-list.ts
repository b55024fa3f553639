import { measurementSeconds, type BenchContext } from '../context.ts';
import { expectStatuses, load } from '../load.ts';
import { DOMAINS, nameSearch } from '../names.ts';

export interface AdminListResult {
  pages: Record<string, { path: string; rps: number; p99: number }>;
}

function nextLink(html: string): string {
  const match = /href="([^"]+)" rel="next"/.exec(html);
  if (!match) throw new Error('admin list has no next link');
  return match[1]!.replace(/&amp;/g, '&');
}

/**
 * Scenario 7, admin part: the user list as a signed-in admin (with 2FA, as the default policy
 * requires): page 1, a search by name (the start of the address) and one by domain, and page
 * 100 reached by following the keyset "next" links as a person would.
 */
export async function adminList(ctx: BenchContext): Promise<AdminListResult> {
  // Page 100 when the smaller size has that many pages (a quick run has fewer).
  const deep = Math.min(100, Math.floor(ctx.options.users / 50));
  let path = '/admin/users';
  for (let page = 1; page < deep; page++) {
    const reply = await ctx.admin.get(path);
    if (reply.status !== 200) throw new Error(`admin list page ${page}: ${reply.status}`);
    path = nextLink(reply.body);
  }
  const targets = {
    'page 1': '/admin/users',
    // A person's first and last name, as an admin types it: ~1 in 4,096 users share it, so it
    // finds a few people among 10k and a few hundred (a full page) among 1M.
    'search by name': `/admin/users?q=${encodeURIComponent(nameSearch(Math.floor(ctx.userCount / 3)))}`,
    // A whole domain, as an admin lists one organisation: half the users at either size, so a
    // full page at both, which is what a 1M/10k comparison of the search's cost needs.
    'search by domain': `/admin/users?q=${encodeURIComponent(`@${DOMAINS[0]}`)}`,
    [`page ${deep}`]: path,
  };
  const pages: AdminListResult['pages'] = {};
  for (const [name, target] of Object.entries(targets)) {
    const result = await load({
      url: ctx.stack.url,
      connections: ctx.options.connections,
      seconds: measurementSeconds(ctx),
      request: () => ({ path: target, headers: { cookie: ctx.admin.cookie } }),
    });
    expectStatuses(`admin ${name}`, result, [200]);
    pages[name] = { path: target, rps: result.rps, p99: result.p99 };
  }
  return { pages };
}
