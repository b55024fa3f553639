/**
 * #53 as a property: whatever a caller puts in the forwarded headers (and in Remote-* headers of
 * its own), an authz answer is never a 2xx without all three identity headers, non-empty and
 * naming the signed-in person, and never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/factories.ts';
import { GATE_ENV, addApp, gateCookieOf } from '../helpers/gate.ts';
import { signInWithPassword } from '../helpers/two-factor.ts';

let t: TestApp;
let email: string;
let cookie: string;
before(async () => {
  t = await createTestApp(GATE_ENV);
  await addApp(t, { host: 'wiki.example.com' });
  await addApp(t, {
    name: 'Ops',
    host: 'wiki.example.com',
    pathPrefix: '/ops',
    allowedGroups: ['ops'],
  });
  const user = await makeUser(t.db);
  email = user.email;
  cookie = await gateCookieOf(await signInWithPassword(t, user.email, user.password));
});
after(() => t.close());

const piece = fc.oneof(
  fc.constantFrom(
    'https',
    'http',
    'HTTPS',
    'wiki.example.com',
    'WIKI.example.com.',
    'evil.com',
    '/',
    '/ops',
    '/ops/',
    '?',
    '#',
    '@',
    ':443',
    '%2f',
    '\\',
    '..',
    'GET',
    'POST',
    'mallory',
    ',',
    ' ',
  ),
  fc.string({ maxLength: 12 }),
);
const text = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
const headerValue = fc.oneof(text, fc.constant(undefined));
// Only what a header can carry: Node refuses control characters in values before sending.
const sendable = (value: string | undefined) =>
  value === undefined || /^[\t\x20-\x7e\x80-\xff]*$/.test(value);

describe('#53 forwarded headers, fuzzed', () => {
  it('when any forwarded headers arrive, then a 2xx always carries the three identity headers of the real person, and nothing is a 500', async () => {
    let allowed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/authz/auth-request', '/api/authz/forward-auth'),
        fc.record({
          'X-Original-URL': fc.oneof(
            headerValue,
            text.map((p) => `https://wiki.example.com/${p}`),
          ),
          'X-Original-Method': fc.oneof(headerValue, fc.constantFrom('GET', 'POST')),
          'X-Forwarded-Method': fc.oneof(headerValue, fc.constant('GET')),
          'X-Forwarded-Proto': fc.oneof(headerValue, fc.constantFrom('https', 'http')),
          'X-Forwarded-Host': fc.oneof(headerValue, fc.constant('wiki.example.com')),
          'X-Forwarded-Uri': fc.oneof(
            headerValue,
            text.map((p) => `/${p}`),
          ),
          'Remote-User': headerValue,
          'Remote-Groups': headerValue,
          Accept: headerValue,
        }),
        fc.boolean(),
        async (path, headers, withCookie) => {
          const call = request(t.app).get(path);
          for (const [name, value] of Object.entries(headers))
            if (value !== undefined && sendable(value)) call.set(name, value);
          if (withCookie) call.set('Cookie', cookie);
          const answer = await call;
          assert.notEqual(answer.status, 500);
          assert.ok([200, 302, 303, 400, 401, 403].includes(answer.status), String(answer.status));
          if (answer.status >= 200 && answer.status < 300) {
            allowed += 1;
            assert.equal(answer.headers['remote-user'], email);
            assert.equal(answer.headers['remote-email'], email);
            assert.equal(answer.headers['remote-groups'], 'user');
          } else {
            assert.equal(answer.headers['remote-user'], undefined);
          }
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(allowed > 0, 'some fuzzed requests were allowed (the property was exercised)');
  });
});
