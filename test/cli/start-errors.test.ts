import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../../src/dirs.ts';
import { testSecrets } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(() => database.drop());

/** `npm start` (under tsx) on the test database; resolves when it exits, or after 20 s. */
function start(env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        ...testSecrets(),
        ...env,
      },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('npm start when it cannot listen', () => {
  it('when the port is taken, then one line says so and the exit code is 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const result = await start({ PORT: String(port), HOST: '127.0.0.1' });
      assert.equal(
        result.stderr,
        `keygate: could not start: port ${port} is in use; set PORT to another port\n`,
      );
      assert.equal(result.code, 1);
    } finally {
      taken.close();
    }
  });

  it('when the address is not one of this machine, then one line says so and the exit code is 1', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    const result = await start({ PORT: '0', HOST: '192.0.2.1' });
    assert.equal(
      result.stderr,
      'keygate: could not start: cannot listen on 192.0.2.1: no network interface of this machine has that address; set HOST to another address\n',
    );
    assert.equal(result.code, 1);
  });
});
