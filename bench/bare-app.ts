/**
 * The baselines for the sign-in page (scenario 3): a bare Express 5 app with nothing but what
 * showing the page needs, as its own process:
 *   node --import tsx bench/bare-app.ts <page.html> <locals.json>
 *
 *   GET /login        renders Keygate's own template (views/auth/login.ejs and its partials) with
 *                     ejs and the same options, from the locals Keygate's page was made from: a
 *                     bare app *rendering* a page of the same size (issue 18's baseline)
 *   GET /login.html   sends the bytes of Keygate's page as a string (reported, no target)
 *
 * No session, database, security headers, CSRF cookie, request log or metrics: that is what the
 * ratio against Keygate measures.
 */
import fs from 'node:fs';
import ejs from 'ejs';
import express from 'express';
import { VIEWS_DIR } from '../src/dirs.ts';

const page = fs.readFileSync(process.argv[2]!, 'utf8');
const { csrfToken, ...locals } = JSON.parse(fs.readFileSync(process.argv[3]!, 'utf8')) as {
  csrfToken: string;
} & Record<string, unknown>;
const app = express();
app.set('etag', false);
// As Keygate in production: the view is looked up once, not on the file system for each page.
app.enable('view cache');
app.engine('ejs', (file, data, callback) => {
  ejs.renderFile(
    file,
    data,
    { rmWhitespace: true, cache: true, root: VIEWS_DIR },
    callback as (error: Error | null, html?: string) => void,
  );
});
app.set('view engine', 'ejs');
app.set('views', VIEWS_DIR);
Object.assign(app.locals, locals);
app.get('/login', (_req, res) => {
  res.render('auth/login', { csrfToken: () => csrfToken });
});
app.get('/login.html', (_req, res) => {
  res.type('html').send(page);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stderr.write(`bare app listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
