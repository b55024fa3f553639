/**
 * The shape of src/, checked: the import graph (type imports included) has no circle and no arrow
 * from a lower layer to a higher one; route files open with their route table; only the one
 * session module patches the response; the domain holds no sentences. `npx madge --circular
 * --extensions ts src` gives an independent view of the first.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../src/dirs.ts';

const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const files = sourceFiles(SRC);
const rel = (file: string) => path.relative(SRC, file).split(path.sep).join('/');
const text = new Map(files.map((file) => [rel(file), fs.readFileSync(file, 'utf8')]));

/** Project-internal imports of each file (`import`, `import type`, `export … from`). */
const graph = new Map<string, string[]>();
for (const [file, source] of text) {
  const targets = [...source.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)]
    .map((match) => rel(path.resolve(SRC, path.dirname(file), match[1]!)))
    .filter((target) => text.has(target));
  graph.set(file, targets);
}

/**
 * Lower layers first. A file may import its own layer or lower ones only. (auth/encryption.ts is
 * a leaf that config.ts builds its key ring from.)
 */
const LAYERS: [number, (file: string) => boolean][] = [
  [0, (f) => ['dirs.ts', 'clock.ts', 'logger.ts', 'format.ts', 'paths.ts'].includes(f)],
  [0, (f) => f === 'auth/encryption.ts'],
  [1, (f) => f === 'config.ts' || f === 'config-schema.ts'],
  [2, (f) => f.startsWith('db/') || f === 'metrics.ts'],
  [3, (f) => f.startsWith('auth/')],
  [4, (f) => f.startsWith('messages/') || f.startsWith('validation/')],
  [5, (f) => f === 'http.ts' || f === 'deps.ts' || f.startsWith('middleware/')],
  // Mail: rendering and sending (config, db, messages); the outbox rows are written in auth/.
  [5, (f) => f.startsWith('mail/')],
  // The OpenID provider's configuration and wiring sit beside the routes (it is mounted like one).
  [6, (f) => f.startsWith('routes/') || f.startsWith('oidc/')],
  [7, (f) => f === 'app.ts'],
  [8, (f) => f === 'server.ts' || f.startsWith('cli/')],
];
function layerOf(file: string): number {
  const found = LAYERS.find(([, matches]) => matches(file));
  assert.ok(found, `src/${file} has no layer in test/unit/architecture.test.ts`);
  return found[0];
}

describe('architecture', () => {
  it('when the import graph is walked, then it has no circle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting')
        assert.fail(`import circle: ${[...trail.slice(trail.indexOf(file)), file].join(' → ')}`);
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
  });

  it('when a file imports another, then the other is in the same layer or a lower one', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => layerOf(t) > layerOf(file)).map((t) => `${file} → ${t}`),
    );
    assert.deepEqual(upward, []);
  });

  it('when a route file is opened, then its route table comes first', () => {
    for (const [file, source] of text) {
      if (!file.startsWith('routes/')) continue;
      const router = source.indexOf('Router()');
      if (router === -1) continue; // a helper module of the routes, not a router
      const table = /\/\*\*[\s\S]*?\n \* {3}(GET|POST|\*) /.exec(source);
      assert.ok(table, `${file} has no route table comment`);
      const firstFunction = source.search(/^(export )?(async )?function /m);
      assert.ok(table.index < firstFunction, `${file}: the route table is not first`);
    }
  });

  it('when a route handler is read, then it is at most about 60 lines', () => {
    const long: string[] = [];
    for (const [file, source] of text) {
      if (!file.startsWith('routes/')) continue;
      const lines = source.split('\n');
      const starts = lines
        .map((line, index) =>
          /^(export )?(async )?function |^const \w+: RequestHandler/.test(line) ? index : -1,
        )
        .filter((index) => index >= 0);
      starts.forEach((start, i) => {
        const length = (starts[i + 1] ?? lines.length) - start;
        if (length > 70)
          long.push(`${file}:${start + 1} ${lines[start]!.trim()} (${length} lines)`);
      });
    }
    assert.deepEqual(long, []);
  });

  it('when the response is patched, then it is only in middleware/session/response.ts', () => {
    const patching = [...text]
      .filter(([, source]) =>
        /res\.(render|redirect)\s*=[^=]|session\.save\s*=[^=]|defineProperty\(session, 'save'/.test(
          source,
        ),
      )
      .map(([file]) => file);
    assert.deepEqual(patching, ['middleware/session/response.ts']);
  });

  it('when the domain is read, then it holds no sentence for a person', () => {
    const sentence = /(['`"])[A-Z][a-z']+(?: [\w',’-]+){3,}/;
    const found = [...text]
      .filter(([file]) => file.startsWith('auth/'))
      .flatMap(([file, source]) =>
        source
          .split('\n')
          .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line) && sentence.test(line))
          .map((line) => `${file}: ${line.trim()}`),
      );
    assert.deepEqual(found, []);
  });

  it('when a source file is opened, then it is at most about 250 lines', () => {
    const long = [...text]
      .filter(([, source]) => source.split('\n').length > 260)
      .map(([file, source]) => `${file}: ${source.split('\n').length}`);
    assert.deepEqual(long, []);
  });
});
