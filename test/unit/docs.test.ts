import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_VARIABLES } from '../../src/config.ts';
import { ROOT } from '../../src/dirs.ts';

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('documentation stays true', () => {
  it('when a setting exists, then the README table and .env.example both list it', () => {
    const readme = read('README.md');
    const example = read('.env.example');
    for (const name of CONFIG_VARIABLES) {
      assert.match(readme, new RegExp(`^\\| \`${name}\` +\\|`, 'm'), `README.md lacks ${name}`);
      assert.match(example, new RegExp(`^${name}=`, 'm'), `.env.example lacks ${name}`);
    }
  });

  it('when the server is started, then npm start, the Dockerfile and the README give Node the same flags', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
      .start!;
    const flags = /\bnode((?:\s+--[\w-]+=\S+)*)\s+dist\/src\/server\.js/.exec(start)?.[1]?.trim();
    assert.ok(flags, start);
    const cmd = /^CMD \[(.*)\]$/m.exec(read('Dockerfile'))?.[1] ?? '';
    assert.equal(
      cmd,
      ['node', ...flags.split(/\s+/), 'dist/src/server.js'].map((part) => `"${part}"`).join(', '),
    );
    assert.ok(read('README.md').includes(`node ${flags} --env-file=.env dist/src/server.js`));
  });

  it("when the bench builds the server, then its extra --noCheck lands on the build script's tsc", () => {
    // bench/stack.ts runs `npm run build -- --noCheck`: npm appends it to the script's last command.
    const build = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
      .build!;
    assert.match(build, /(^|&& )tsc -p tsconfig\.build\.json$/);
  });

  it('when an npm script exists, then the README names it', () => {
    const readme = read('README.md');
    const scripts = Object.keys(
      (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts,
    );
    for (const script of scripts.filter((name) => !['format', 'test:only'].includes(name))) {
      assert.ok(
        readme.includes(`npm run ${script}`) || readme.includes(`npm ${script}`),
        `README.md does not mention npm run ${script}`,
      );
    }
  });
});
