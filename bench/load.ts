import autocannon from 'autocannon';
import { proxyHeaders } from './client.ts';

export interface LoadResult {
  rps: number;
  /** Milliseconds, to the microsecond, over every answer (as autocannon counts by default). */
  p50: number;
  p99: number;
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
}

export interface RequestShape {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Stop after this many seconds… */
  seconds?: number;
  /** …or after this many requests, whichever comes first. */
  amount?: number;
  /** The request to send; called once per request with a running index (0, 1, 2, …). */
  request: (index: number) => RequestShape;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * One autocannon run against the server (a separate process), with per-request shapes.
 *
 * Its latency percentiles are taken from each answer's own time, not from autocannon's
 * histogram, which keeps whole milliseconds: at a p99 of 3 or 4 ms (the gate's bare endpoint),
 * one millisecond cut off is a quarter of the figure a ratio is taken of.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  let index = 0;
  const first = options.request(0);
  const times: number[] = [];
  // Without a callback autocannon answers with its instance, an EventEmitter that is also the
  // promise of the result (its types know only the promise).
  const run = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : {}),
    duration: options.seconds ?? 3600,
    timeout: 30,
    requests: [
      {
        method: first.method ?? 'GET',
        path: first.path,
        setupRequest: (req) => {
          const shape = options.request(index++);
          return {
            ...req,
            method: shape.method ?? 'GET',
            path: shape.path,
            headers: {
              ...proxyHeaders(),
              ...(shape.body !== undefined ? FORM : {}),
              ...shape.headers,
            },
            ...(shape.body !== undefined ? { body: shape.body } : {}),
          };
        },
      },
    ],
  }) as Promise<autocannon.Result> & {
    on(event: 'response', listener: (...args: [unknown, number, number, number]) => void): void;
  };
  run.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    times.push(ms);
  });
  const result = await run;
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = stat.count ?? 0;
  }
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: requests / result.duration,
    p50: times.length ? percentile(times, 50) : 0,
    p99: times.length ? percentile(times, 99) : 0,
    requests,
    seconds: result.duration,
    statuses,
    errors: result.errors + result.timeouts,
  };
}

/**
 * Fails loudly when a run got answers it should not have (the figure would be meaningless). Any
 * wrong status fails; a connection error or timeout is tolerated up to 1 in 10,000 requests (a
 * keep-alive connection closed as a run ends, once in tens of thousands), and said on stderr.
 */
export function expectStatuses(what: string, result: LoadResult, allowed: number[]): void {
  const wrong = Object.entries(result.statuses).filter(([code]) => !allowed.includes(Number(code)));
  if (wrong.length || result.errors > result.requests / 10_000 || result.requests === 0) {
    throw new Error(
      `${what}: unexpected answers ${JSON.stringify(result.statuses)}, ${result.errors} errors`,
    );
  }
  if (result.errors)
    process.stderr.write(
      `${what}: ${result.errors} connection errors in ${result.requests} requests (tolerated)\n`,
    );
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}
