import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueMail } from '../../src/auth/outbox.ts';
import { pruneOldRecords } from '../../src/auth/retention.ts';
import { loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/knex.ts';
import { consoleTransport, transportFor } from '../../src/mail/transport.ts';
import { createMailWorker, retryDelayMs, type MailWorker } from '../../src/mail/worker.ts';
import { createBrowser } from '../helpers/agent.ts';
import { createTestApp, testSecrets, type TestApp } from '../helpers/app.ts';
import { makeUser, uniqueEmail } from '../helpers/factories.ts';
import { mailWorkerFor, withMailStack, type TestMailbox } from '../helpers/smtp.ts';

const DAY = 86_400_000;

describe('the mail outbox and its worker', () => {
  let t: TestApp;
  let mailbox: TestMailbox;
  let worker: MailWorker;
  withMailStack((stack) => ({ t, mailbox, worker } = stack));

  /** Signs in from a browser with its own user agent (a "device"). */
  async function signInWith(email: string, password: string, userAgent: string) {
    const browser = createBrowser(t.app);
    const page = await browser.agent.get('/login').set('User-Agent', userAgent);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const started = performance.now();
    const response = await browser.agent
      .post('/login')
      .set('User-Agent', userAgent)
      .type('form')
      .send({ email, password, _csrf: token });
    return { response, ms: performance.now() - started };
  }

  it('#62 when the mail server is down during a sign-in, then the sign-in works and the mail goes out once it is back', async () => {
    const user = await makeUser(t.db);
    await signInWith(user.email, user.password, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0');
    await mailbox.stop();
    const { response, ms } = await signInWith(
      user.email,
      user.password,
      'Mozilla/5.0 (Linux; Android 14) Firefox/128.0',
    );
    assert.equal(response.status, 303, 'signed in');
    assert.ok(ms < 2000, `not held up by the mail server (${ms} ms)`);
    assert.equal(await worker.runOnce(), 0, 'nothing could be sent');
    const [row] = await t.db('mail_outbox').where({ user_id: user.id, kind: 'new_device' });
    assert.equal(row.status, 'pending');
    assert.equal(row.attempts, 1);
    assert.match(row.last_error, /ECONNREFUSED|connect/i);

    await mailbox.start();
    assert.equal(await worker.runOnce(), 0, 'not before its retry time');
    t.clock.advance(retryDelayMs(1));
    assert.equal(await worker.runOnce(), 1);
    assert.equal(await worker.runOnce(), 0, 'and only once');
    const mails = mailbox.to(user.email).filter((m) => /New sign-in/.test(m.subject));
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.text, /Firefox on Android/);
    assert.match(mails[0]!.text, /127\.0\.0\.1/);
  });

  it('#62 when two app instances send from one outbox at once, then every mail goes out exactly once', async () => {
    const other = createDb({ url: t.database.url, statementTimeoutMs: 10_000 });
    const second = createMailWorker({
      db: other,
      config: t.config,
      logger: t.logger,
      clock: t.clock,
      transport: transportFor(t.config)!,
    });
    try {
      const recipients = Array.from({ length: 60 }, () => uniqueEmail('many'));
      const at = new Date(t.clock.now());
      for (const to of recipients)
        await queueMail(t.db, { kind: 'password_changed', to, userId: null, at });
      const sent = await Promise.all([
        worker.runOnce(),
        second.runOnce(),
        worker.runOnce(),
        second.runOnce(),
      ]);
      assert.equal(
        sent.reduce((a, b) => a + b, 0),
        60,
      );
      for (const to of recipients) assert.equal(mailbox.to(to).length, 1, to);
    } finally {
      await second.stop();
      await other.destroy();
    }
  });

  it('#62 when another instance holds rows it is claiming, then the worker skips them without waiting, and sends them once they are free', async () => {
    const recipients = Array.from({ length: 12 }, () => uniqueEmail('held'));
    const at = new Date(t.clock.now());
    for (const to of recipients)
      await queueMail(t.db, { kind: 'password_changed', to, userId: null, at });
    const held = recipients.slice(0, 4);
    const other = createDb({ url: t.database.url, statementTimeoutMs: 10_000 });
    const trx = await other.transaction();
    try {
      await trx('mail_outbox').whereIn('recipient', held).forUpdate().select('id');
      const timeout = new Promise<'blocked'>((resolve) =>
        setTimeout(() => resolve('blocked'), 5000).unref(),
      );
      const sent = await Promise.race([worker.runOnce(), timeout]);
      assert.equal(sent, 8, 'the free rows, without waiting for the held ones');
      for (const to of held) assert.equal(mailbox.to(to).length, 0);
    } finally {
      await trx.commit();
    }
    await other.destroy();
    assert.equal(await worker.runOnce(), 4);
    for (const to of recipients) assert.equal(mailbox.to(to).length, 1, to);
  });

  it('when a mail cannot be sent, then it is tried again with growing waits and finally marked failed', async () => {
    await mailbox.stop();
    try {
      const to = uniqueEmail('unlucky');
      await queueMail(t.db, {
        kind: 'password_changed',
        to,
        userId: null,
        at: new Date(t.clock.now()),
      });
      const waits = [];
      for (let attempt = 1; attempt <= 10; attempt++) {
        await worker.runOnce();
        const row = await t.db('mail_outbox').where({ recipient: to }).first();
        assert.equal(row.attempts, attempt);
        if (attempt < 10) {
          assert.equal(row.status, 'pending');
          waits.push(row.next_attempt_at.getTime() - t.clock.now());
          t.clock.set(row.next_attempt_at.getTime());
        } else assert.equal(row.status, 'failed');
      }
      assert.deepEqual(waits.slice(0, 4), [30_000, 60_000, 120_000, 240_000]);
      assert.equal(Math.max(...waits), 60 * 60_000, 'at most an hour apart');
    } finally {
      await mailbox.start();
    }
  });

  it('#59 when a reset mail has been sent, then its token is no longer in the database', async () => {
    const user = await makeUser(t.db);
    const browser = createBrowser(t.app);
    await browser.submit('/password/forgot', '/password/forgot', { email: user.email });
    const [queued] = await t.db('mail_outbox').where({ user_id: user.id, kind: 'password_reset' });
    assert.match(queued.data.token, /^v1\./, 'encrypted while it waits');
    await worker.runOnce();
    const [sent] = await t.db('mail_outbox').where({ id: queued.id });
    assert.equal(sent.status, 'sent');
    assert.equal(sent.data.token, undefined);
    const [stored] = await t.db('password_reset_tokens').where({ user_id: user.id });
    assert.match(stored.token_hash, /^[0-9a-f]{64}$/, 'only a hash of the token is kept');
  });

  it('when a notification is turned off, then it is not sent, but reset links still are', async () => {
    const quiet = createMailWorker({
      db: t.db,
      config: { ...t.config, notifications: new Set() },
      logger: t.logger,
      clock: t.clock,
      transport: transportFor(t.config)!,
    });
    const to = uniqueEmail('quiet');
    const at = new Date(t.clock.now());
    await queueMail(t.db, { kind: 'new_device', to, userId: null, at });
    await quiet.runOnce();
    const [row] = await t.db('mail_outbox').where({ recipient: to });
    assert.equal(row.status, 'skipped');
    assert.equal(mailbox.to(to).length, 0);
    await quiet.stop();
  });

  it('when sent and failed mails are older than the retention, then pruning removes them', async () => {
    const to = uniqueEmail('old');
    await queueMail(t.db, {
      kind: 'password_changed',
      to,
      userId: null,
      at: new Date(t.clock.now()),
    });
    await worker.runOnce();
    const prune = (now: number) =>
      pruneOldRecords(t.db, new Date(now), { attemptsMs: 90 * DAY, auditMs: 365 * DAY });
    await prune(t.clock.now() + 6 * DAY);
    assert.equal((await t.db('mail_outbox').where({ recipient: to })).length, 1);
    const report = await prune(t.clock.now() + 8 * DAY);
    assert.ok(report.mail >= 1);
    assert.equal((await t.db('mail_outbox').where({ recipient: to })).length, 0);
  });

  it('when the worker is stopped while it sends, then stop waits for it and nothing runs after', async () => {
    const local = mailWorkerFor(t);
    const to = uniqueEmail('stop');
    await queueMail(t.db, {
      kind: 'password_changed',
      to,
      userId: null,
      at: new Date(t.clock.now()),
    });
    local.start();
    await local.stop();
    const row = await t.db('mail_outbox').where({ recipient: to }).first();
    assert.notEqual(row.status, 'sending', 'no mail is left half-sent');
  });
});

describe('mail without SMTP_URL', () => {
  it('when in development, then mails are printed in full to the terminal', async () => {
    const lines: string[] = [];
    const transport = consoleTransport('Keygate <k@example.com>', (text) => lines.push(text));
    await transport.send({
      to: 'a@example.com',
      subject: 'Reset your password',
      text: 'Open http://localhost:3000/password/reset/abc',
      html: '',
    });
    assert.match(lines.join(''), /To: a@example.com[\s\S]*password\/reset\/abc/);
    const config = loadConfig({ NODE_ENV: 'development', ...testSecrets() });
    assert.equal(config.mail.transport, 'console');
  });

  it('when in production, then reset by email is off, the sign-in page says to ask an administrator, and one note says why', async () => {
    const config = loadConfig({ NODE_ENV: 'production', ...testSecrets() });
    assert.equal(config.mail.transport, 'off');
    assert.equal(transportFor(config), null);
    assert.equal(config.notes.filter((note) => /SMTP_URL/.test(note)).length, 1);
    const t = await createTestApp({ NODE_ENV: 'production', TRUST_PROXY: 'loopback' });
    try {
      const https = (path: string) =>
        createBrowser(t.app).agent.get(path).set('X-Forwarded-Proto', 'https');
      const login = await https('/login');
      assert.match(login.text, /Forgot your password\? Ask your administrator\./);
      assert.doesNotMatch(login.text, /href="\/password\/forgot"/);
      const forgot = await https('/password/forgot');
      assert.equal(forgot.status, 404);
      assert.match(forgot.text, /Ask your administrator/);
    } finally {
      await t.close();
    }
  });

  it('when NOTIFICATIONS is not all, none or a list of known names, then the configuration is refused', () => {
    const base = { NODE_ENV: 'test', ...testSecrets() };
    assert.deepEqual([...loadConfig({ ...base, NOTIFICATIONS: 'none' }).notifications], []);
    assert.deepEqual(
      [...loadConfig({ ...base, NOTIFICATIONS: 'lockout, new_device' }).notifications],
      ['lockout', 'new_device'],
    );
    assert.throws(
      () => loadConfig({ ...base, NOTIFICATIONS: 'everything' }),
      /NOTIFICATIONS must be/,
    );
    assert.throws(() => loadConfig({ ...base, SMTP_URL: 'http://x' }), /SMTP_URL must be/);
    assert.throws(
      () => loadConfig({ ...base, SMTP_URL: 'smtp://user:hunter2@x', PASSWORD_RESET_TTL: '1m' }),
      (error: Error) => /PASSWORD_RESET_TTL/.test(error.message) && !/hunter2/.test(error.message),
    );
  });
});
