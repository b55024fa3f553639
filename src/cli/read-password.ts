import readline from 'node:readline';
import { Writable } from 'node:stream';
import { fail } from './shared.ts';

/** One line from a pipe, or a prompt without echo at a terminal (asked twice). */
export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      rl.close();
      return line.replace(/\r$/, '');
    }
    return '';
  }
  const ask = async (question: string) => {
    process.stderr.write(question);
    const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = readline.createInterface({ input: process.stdin, output: muted, terminal: true });
    const answer = await new Promise<string>((resolve) => rl.question('', resolve));
    rl.close();
    process.stderr.write('\n');
    return answer;
  };
  const first = await ask('Password (at least 12 characters): ');
  const second = await ask('Password again: ');
  if (first !== second) fail('error: the two passwords do not match');
  return first;
}
