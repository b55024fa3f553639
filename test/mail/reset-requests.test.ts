import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { csrfTokenIn } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';

/**
 * "Forgot your password?" as an attacker sees it: no answer tells whether an account exists, and
 * the limits per address and per IP hold under concurrent requests (counted in PostgreSQL).
 */
describe('password reset requests', () => {
  let t: TestApp;
  let nextIp = 1;
  before(async () => {
    t = await createTestApp({ REQUIRE_2FA: 'off', TRUST_PROXY: 'loopback' });
  });
  after(() => t.close());

  /** A client at its own address (X-Forwarded-For, trusted from loopback) with a form token. */
  async function client(ip = `198.51.100.${nextIp++}`) {
    const agent = request.agent(t.app);
    const page = await agent.get('/password/forgot').set('X-Forwarded-For', ip);
    assert.equal(page.status, 200);
    const token = csrfTokenIn(page.text);
    return (email: string) =>
      agent
        .post('/password/forgot')
        .set('X-Forwarded-For', ip)
        .type('form')
        .send({ email, _csrf: token });
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

  it('#59 when an address has an account or not, then the same status, page and redirect, in similar time', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => makeUser(t.db)));
    const known: number[] = [];
    const unknown: number[] = [];
    let first: { status: number; location: string | undefined } | null = null;
    for (const [i, user] of users.entries()) {
      for (const [email, times] of [
        [user.email, known],
        [uniqueEmail('nobody'), unknown],
      ] as const) {
        const post = await client();
        const started = performance.now();
        const response = await post(i % 2 ? email.toUpperCase() : email);
        times.push(performance.now() - started);
        const seen = { status: response.status, location: response.headers.location };
        first ??= seen;
        assert.deepEqual(seen, first);
        assert.equal(response.text, 'See Other. Redirecting to /password/forgot?sent=1');
      }
    }
    assert.deepEqual(first, { status: 303, location: '/password/forgot?sent=1' });
    const [a, b] = [median(known), median(unknown)];
    // The same statements either way; a mail sent on the request path, or any bcrypt, would be
    // far outside this.
    assert.ok(
      Math.abs(a - b) < Math.max(10, 0.5 * Math.max(a, b)),
      `known ${a} ms, unknown ${b} ms`,
    );
    const tokens = await t.db('password_reset_tokens').whereIn(
      'user_id',
      users.map((u) => u.id),
    );
    assert.equal(tokens.length, users.length, 'each real account got a link');
    const mails = await t.db('mail_outbox').where({ kind: 'password_reset' });
    assert.equal(mails.length, users.length, 'and only real accounts get a mail');
  });

  it('#47 when 50 requests for one address arrive at once from 50 addresses, then exactly 3 get through', async () => {
    const user = await makeUser(t.db);
    const posts = await Promise.all(Array.from({ length: 50 }, () => client()));
    const answers = await Promise.all(posts.map((post) => post(user.email)));
    const allowed = answers.filter((a) => a.status === 303).length;
    assert.equal(allowed, 3);
    assert.equal(answers.filter((a) => a.status === 429).length, 47);
    assert.match(answers.find((a) => a.status === 429)!.text, /Too many reset requests/);
    const mails = await t.db('mail_outbox').where({ user_id: user.id, kind: 'password_reset' });
    assert.equal(mails.length, 3);
    const tokens = await t.db('password_reset_tokens').where({ user_id: user.id });
    assert.equal(tokens.length, 1, 'only the newest link works');
  });

  it('#51 when the same address is typed in other forms, then they share one counter', async () => {
    const user = await makeUser(t.db, { email: uniqueEmail('kate') });
    const spellings = [
      user.email.toUpperCase(),
      ` ${user.email} `,
      user.email.replace('k', '\u212a'),
    ];
    for (const spelling of spellings) assert.equal((await (await client())(spelling)).status, 303);
    assert.equal((await (await client())(user.email)).status, 429);
  });

  it('#59 when an unknown address is asked for, then it is limited exactly like a real one', async () => {
    const email = uniqueEmail('nobody');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await (await client())(email)).status);
    assert.deepEqual(statuses, [303, 303, 303, 429]);
  });

  it('#47 when 50 requests for 50 addresses arrive at once from one IP, then exactly 20 get through', async () => {
    const post = await client('203.0.113.77');
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(uniqueEmail())));
    assert.equal(answers.filter((a) => a.status === 303).length, 20);
    assert.equal(answers.filter((a) => a.status === 429).length, 30);
  });

  it('when an hour has passed, then the address may ask again', async () => {
    const email = uniqueEmail();
    for (let i = 0; i < 3; i++) await (await client())(email);
    assert.equal((await (await client())(email)).status, 429);
    t.clock.advance(60 * 60_000 + 1000);
    assert.equal((await (await client())(email)).status, 303);
  });

  it('#45 when the forgot page is shown, then it is no-store and sends no referrer', async () => {
    const page = await request(t.app).get('/password/forgot');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
  });
});
