/**
 * The gate scenario's baseline: a bare Node server that answers every authz call 200 with fixed
 * identity headers (no cookie check, no database). nginx in front of it costs what nginx's
 * auth_request itself costs.   node --import tsx bench/bare-authz.ts
 */
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    'Remote-User': 'user2@bench.example',
    'Remote-Email': 'user2@bench.example',
    'Remote-Groups': 'user',
    'Content-Length': '0',
  });
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stderr.write(`bare authz listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
