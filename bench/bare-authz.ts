/**
 * The gate scenario's baseline: a bare Node server that answers every authz call 200 with fixed
 * identity headers (no cookie check, no database). nginx in front of it costs what nginx's
 * auth_request itself costs.   node --import tsx bench/bare-authz.ts
 *
 * With a database URL as its argument it is the floor instead (`npm run bench:gate -- --floor`):
 * the same server waiting for a prepared `SELECT 1` before it answers, with Keygate's batching
 * (auth/gate-lookup.ts): calls that arrive while a statement runs share the next one. That is
 * what the round trip Keygate makes costs on this machine, with nothing else done.
 */
import http from 'node:http';
import pg from 'pg';

const databaseUrl = process.argv[2];
const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl, max: 4 }) : null;

function allow(res: http.ServerResponse) {
  res.writeHead(200, {
    'Remote-User': 'user2@bench.example',
    'Remote-Email': 'user2@bench.example',
    'Remote-Groups': 'user',
    'Content-Length': '0',
  });
  res.end();
}

// One statement at a time; the calls that arrive meanwhile wait for the next, as in Keygate.
let waiting: http.ServerResponse[] = [];
let running = false;

function runStatement(db: pg.Pool) {
  if (running || waiting.length === 0) return;
  running = true;
  setImmediate(() => {
    const batch = waiting;
    waiting = [];
    const settle = (ok: boolean) => {
      for (const res of batch) {
        if (ok) allow(res);
        else {
          res.writeHead(503, { 'Content-Length': '0' });
          res.end();
        }
      }
      running = false;
      runStatement(db);
    };
    db.query({ name: 'floor', text: 'SELECT 1', values: [] }).then(
      () => settle(true),
      () => settle(false),
    );
  });
}

const server = http.createServer((_req, res) => {
  if (!pool) return allow(res);
  waiting.push(res);
  runStatement(pool);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stderr.write(`bare authz listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () =>
  server.close(() => void (pool?.end() ?? Promise.resolve()).then(() => process.exit(0))),
);
