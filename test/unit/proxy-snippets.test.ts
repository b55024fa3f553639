import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../src/dirs.ts';
import { readmeSnippets } from '../helpers/readme-snippets.ts';

describe('the README’s proxy snippets', () => {
  it('when the README is read, then its nginx and Caddy configurations are the tested templates, rendered', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const { nginx, caddy } = readmeSnippets();
    const hint =
      'print them with: node --import tsx -e "import(\'./test/helpers/readme-snippets.ts\').then((m) => console.log(m.readmeSnippets()))"';
    assert.ok(
      readme.includes('```nginx\n' + nginx + '```'),
      `README.md's nginx snippet differs from proxy/nginx.conf.template; ${hint}`,
    );
    assert.ok(
      readme.includes('```caddyfile\n' + caddy + '```'),
      `README.md's Caddy snippet differs from proxy/Caddyfile.template; ${hint}`,
    );
  });
});
