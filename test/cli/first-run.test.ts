import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { testSecrets } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startServerProcess } from '../helpers/server-process.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(() => database.drop());

const secrets = testSecrets();

async function startOnce(env: NodeJS.ProcessEnv) {
  const server = await startServerProcess({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'info',
    ...secrets,
    ...env,
  });
  let stdout = '';
  server.child.stdout!.on('data', (chunk) => (stdout += chunk));
  // A request, so that there is a request line to read.
  assert.equal((await request(server.url).get('/healthz')).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const link = /(http:\/\/\S+\/setup\?token=[A-Za-z0-9_-]+)/.exec(server.stderr())?.[1];
  assert.equal(await server.stop(), 0);
  return { url: server.url, stderr: server.stderr(), stdout, link };
}

describe('the first run, as a person at a terminal sees it', () => {
  it('when no user exists, then each start prints a new setup link and says so, and only the newest works', async () => {
    const first = await startOnce({ LOG_FORMAT: 'json' });
    assert.ok(first.link, first.stderr);
    assert.match(
      first.stderr,
      /Lost the link\? Start Keygate again: while no user exists, each start prints a new one\./,
    );
    const second = await startOnce({ LOG_FORMAT: 'json' });
    assert.ok(second.link, second.stderr);
    assert.notEqual(second.link, first.link);

    const server = await startServerProcess({ DATABASE_URL: database.url, ...secrets });
    try {
      // Each start replaces the token: the links printed by earlier starts are dead.
      const pathOf = (link: string) => link.replace(/^http:\/\/[^/]+/, '');
      assert.equal((await request(server.url).get(pathOf(first.link))).status, 403);
      assert.equal((await request(server.url).get(pathOf(second.link))).status, 403);
      const newest = /(http:\/\/\S+\/setup\?token=[A-Za-z0-9_-]+)/.exec(server.stderr())?.[1];
      assert.ok(newest);
      assert.equal((await request(server.url).get(pathOf(newest))).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('when LOG_FORMAT is pretty, then standard output has one readable line per event, and json gives JSON', async () => {
    const pretty = await startOnce({ LOG_FORMAT: 'pretty' });
    const lines = pretty.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length > 0, pretty.stderr);
    for (const line of lines) assert.match(line, /^\d\d:\d\d:\d\d \S/, line);
    assert.ok(
      lines.some((line) => /^\d\d:\d\d:\d\d GET \/healthz 200 \d+ ms$/.test(line)),
      pretty.stdout,
    );

    const json = await startOnce({ LOG_FORMAT: 'json' });
    const objects = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string });
    assert.ok(objects.some((entry) => entry.msg === 'request'));
  });
});
