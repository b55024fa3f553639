import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { ROOT } from '../../src/dirs.ts';

/** `npm run bench -- --quick`, as CI runs it: the whole pipeline, small counts, short runs. */
function runQuickBench(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick'], {
      cwd: ROOT,
      env: {
        ...process.env,
        // The test database server (a throwaway database is made on it), and a cheaper bcrypt.
        DATABASE_URL: process.env.KEYGATE_TEST_ADMIN_URL ?? '',
        BCRYPT_COST: '10',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('npm run bench -- --quick', () => {
  it(
    'when the quick benchmark runs, then it completes and prints every scenario with its target',
    {
      timeout: 180_000,
    },
    async () => {
      const { code, stdout, stderr } = await runQuickBench();
      assert.equal(code, 0, `bench exited with ${code}:\n${stderr}\n${stdout}`);
      for (const scenario of [
        '1 password step',
        '2 code step',
        '3 sign-in page',
        '4 database work',
        '5 recovery code',
        '6 attack isolation',
        '7 admin list',
        '7 scale',
        '8 memory',
        '9 bot sessions',
        '10 gate',
        '12 OIDC',
        '13 outbox',
      ]) {
        assert.match(stdout, new RegExp(`\\| ${scenario}`), `${scenario} is in the table`);
      }
      // Each row carries a verdict, but performance is not asserted: the suite shares two cores.
      const rows = stdout.split('\n').filter((line) => /^\| \d+ /.test(line));
      for (const row of rows) assert.match(row, /\| (PASS|FAIL|info) +\|$/);
      // Where a protected request's CPU went, by process, read from /proc around each gate run.
      if (process.platform === 'linux') {
        const cpu = rows.find((line) => line.startsWith('| 10 gate CPU'));
        assert.ok(cpu, 'the gate CPU row is in the table');
        assert.match(
          cpu,
          /\| client \d+, nginx \d+, auth server \d+, postgres \d+[^|]*total \d+ µs/,
        );
      }
      // Latencies to a tenth of a millisecond below 10 ms (the gate's are a few): never whole ms.
      const gate = rows.find((line) => line.startsWith('| 10 gate @'));
      assert.ok(gate, 'the gate row is in the table');
      assert.match(gate, /rps, p99 (\d\.\d|\d{2,}[\d,]*) ms/);
      // Every answer's time counts, redirects too (the sign-in steps answer 302/303).
      assert.doesNotMatch(stdout, /p99 0\.0 ms/);
      assert.match(stdout, /AMD|Intel|cores, .*Node v\d+.*PostgreSQL \d+/);
      // And how much of the machine's CPU time the hypervisor gave to other guests meanwhile.
      if (process.platform === 'linux')
        assert.match(
          stdout,
          /PostgreSQL \d+[^\n]*; steal \d+\.\d % of the CPU time during the run/,
        );
      assert.match(stdout, /results: bench\/results\/.*-quick\.json/);
    },
  );
});
