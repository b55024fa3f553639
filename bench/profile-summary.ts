import fs from 'node:fs';

/** The parts of a V8 .cpuprofile (as `node --cpu-prof` writes it) this summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules package, Node's own code, Keygate, or V8's pseudo-frames ("(garbage collector)"). */
function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName || '(native)';
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node (core)';
  if (url.includes('/views/')) return 'views (ejs templates)';
  if (url.includes('/dist/')) return 'keygate';
  return url;
}

function top(totals: Map<string, number>, all: number, count: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, time]) => `${((100 * time) / all).toFixed(1).padStart(5)} %  ${name}`);
}

/**
 * Self time of a CPU profile by owner (package) and by function, as percentages of the samples
 * ("(idle)" is the server waiting, on the database or for requests).
 */
export function summariseProfile(file: string, count: number): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, index) => {
    const time = profile.timeDeltas[index] ?? 0;
    all += time;
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    const owner = ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + time);
    const name = `${functionName || '(anonymous)'}${url ? ` ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  });
  return [
    `\nserver CPU profile: ${(all / 1e6).toFixed(1)} s sampled`,
    'self time by package:',
    ...top(byOwner, all, count),
    'self time by function:',
    ...top(byFunction, all, count),
  ].join('\n');
}
