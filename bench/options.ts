/** Command-line options of `npm run bench`. */
export interface BenchOptions {
  /** Users seeded for the main run. */
  users: number;
  /** Users the table grows to for the scale scenario (0 skips the second size). */
  scaleUsers: number;
  /** A smoke run: small counts and short durations, for CI. */
  quick: boolean;
  /** Seconds each throughput measurement runs. */
  seconds: number;
  /** Requests for the memory and anonymous-traffic scenarios. */
  bulkRequests: number;
  /** Concurrent connections of the load generator. */
  connections: number;
  /** Live gate sessions for scenario 10. */
  gateSessions: number;
}

const USAGE = `usage: npm run bench -- [--quick] [--users N] [--scale-users N] [--seconds S]
  --users N        users seeded for scenarios 1-6 and 8-9 (default 10000; quick 2000)
  --scale-users N  users for the second size of scenario 7 (default 1000000; quick 3000; 0 skips)
  --seconds S      length of each throughput measurement (default 8; quick 1)
  --quick          a smoke run for CI: every scenario, small counts, under a minute`;

function whole(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!text || !Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number ≥ ${min} (got ${text ?? 'nothing'})\n${USAGE}`);
  }
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const options: BenchOptions = {
    users: quick ? 2000 : 10_000,
    scaleUsers: quick ? 3000 : 1_000_000,
    quick,
    seconds: quick ? 1 : 8,
    bulkRequests: quick ? 1000 : 100_000,
    connections: 16,
    gateSessions: quick ? 2000 : 100_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') continue;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = argv[++i];
    if (arg === '--users') options.users = whole(arg, value, 1000);
    else if (arg === '--scale-users') options.scaleUsers = whole(arg, value, 0);
    else if (arg === '--seconds') options.seconds = whole(arg, value, 1);
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  if (options.scaleUsers !== 0 && options.scaleUsers <= options.users) {
    throw new Error(`--scale-users must be 0 or more than --users\n${USAGE}`);
  }
  return options;
}
