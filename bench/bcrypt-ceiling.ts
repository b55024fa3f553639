/**
 * The physical ceiling of the password step: how many bcrypt comparisons per second this machine
 * does at the server's cost, on a libuv pool of the same size (inherited UV_THREADPOOL_SIZE), with
 * the same HMAC pre-hash the app uses. Runs as its own process so that it competes for the CPU
 * exactly as the server would:  node --import tsx bench/bcrypt-ceiling.ts <cost> <seconds>
 * Prints one JSON line: { "perSecond": …, "compares": …, "seconds": … }.
 */
import { hashPassword, verifyPassword } from '../src/auth/passwords.ts';

const cost = Number(process.argv[2]);
const seconds = Number(process.argv[3]);
const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;

const hash = await hashPassword('bench-password-1234', cost);
let compares = 0;
const start = performance.now();
const deadline = start + seconds * 1000;
// Twice the pool size in flight, as a loaded server would have: the pool never idles.
await Promise.all(
  Array.from({ length: pool * 2 }, async () => {
    while (performance.now() < deadline) {
      await verifyPassword('bench-password-1234', hash);
      compares++;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({ perSecond: compares / elapsed, compares, seconds: elapsed })}\n`,
);
