/**
 * The baseline for the sign-in page: a bare Express 5 app that answers GET /login with a page of
 * the same bytes, and nothing else (no session, no database, no template, no security headers).
 * Runs as its own process:  node --import tsx bench/bare-app.ts <page.html>
 */
import fs from 'node:fs';
import express from 'express';

const page = fs.readFileSync(process.argv[2]!, 'utf8');
const app = express();
app.get('/login', (_req, res) => {
  res.type('html').send(page);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stderr.write(`bare app listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
