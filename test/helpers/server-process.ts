import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/dirs.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** `npm start` as its own process (under tsx), on a free port, with `env` on top of ours. */
export async function startServerProcess(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ...env },
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let stderr = '';
  // Its JSON log joins the others, for the scan for leaked secrets after the suite.
  const logDir = process.env.KEYGATE_TEST_LOG_DIR;
  if (logDir)
    child.stdout!.pipe(fs.createWriteStream(path.join(logDir, `process-${child.pid}.log`)));
  else child.stdout!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = /Keygate is running: (http:\/\/\S+)\/login/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  // The setup link (if any) is printed right after the URL.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    child,
    url,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => resolve(code ?? 1));
        child.kill('SIGTERM');
      }),
  };
}
