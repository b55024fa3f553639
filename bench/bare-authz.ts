/**
 * The gate scenario's baseline: a bare Node server that answers every authz call 200 with fixed
 * identity headers (no cookie check, no database). nginx in front of it costs what nginx's
 * auth_request itself costs.   node --import tsx bench/bare-authz.ts
 *
 * With a database URL as its argument it is the floor instead (`npm run bench:gate -- --floor`):
 * the same server running one prepared `SELECT 1` per call before it answers, which is what one
 * statement a call costs on this machine with nothing else done.
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

const server = http.createServer((_req, res) => {
  if (!pool) return allow(res);
  pool.query({ name: 'floor', text: 'SELECT 1', values: [] }).then(
    () => allow(res),
    () => {
      res.writeHead(503, { 'Content-Length': '0' });
      res.end();
    },
  );
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
