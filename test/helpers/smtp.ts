import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createMailWorker, type MailWorker } from '../../src/mail/worker.ts';
import { transportFor } from '../../src/mail/transport.ts';
import { after, before } from 'node:test';
import { createTestApp, type TestApp } from './app.ts';
import { rememberSecret } from './secrets.ts';

/** A mail as the SMTP server received it, parsed, with its envelope recipient. */
export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server on loopback in the test process (smtp-server), whose mails are parsed with
 * mailparser. It can be stopped and started again on the same port (a mail server that is down).
 */
export interface TestMailbox {
  url: string;
  mails: ReceivedMail[];
  /** Mails to `address`, oldest first. */
  to(address: string): ReceivedMail[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startMailbox(): Promise<TestMailbox> {
  const mails: ReceivedMail[] = [];
  let port = 0;
  let server: SMTPServer | null = null;
  const listen = async () => {
    const next = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream).then((parsed) => {
          const to = session.envelope.rcptTo.map((r) => r.address).join(',');
          mails.push({
            to,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            parsed,
          });
          for (const [, token] of (parsed.text ?? '').matchAll(/\/(?:reset|confirm)\/([\w-]{43})/g))
            rememberSecret('mailed link token', token);
          callback();
        }, callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.server.address() as AddressInfo).port;
    server = next;
  };
  const stop = async () => {
    const current = server;
    server = null;
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    to: (address) => mails.filter((mail) => mail.to.toLowerCase() === address.toLowerCase()),
    stop,
    start: listen,
    close: stop,
  };
}

/** The app's own mail worker, on the test app's database, clock and config (SMTP_URL). */
export function mailWorkerFor(t: TestApp): MailWorker {
  const transport = transportFor(t.config);
  if (!transport) throw new Error('this test app sends no mail: give it SMTP_URL');
  return createMailWorker({
    db: t.db,
    config: t.config,
    logger: t.logger,
    clock: t.clock,
    transport,
  });
}

/** The reset or confirmation link in a mail, as a path on the app (token remembered for #46). */
export function linkIn(mail: ReceivedMail, kind: 'reset' | 'confirm'): string {
  const pattern =
    kind === 'reset'
      ? /https?:\/\/[^/\s]+(\/password\/reset\/[\w-]{43})/
      : /https?:\/\/[^/\s]+(\/settings\/email\/confirm\/[\w-]{43})/;
  const match = pattern.exec(mail.text);
  if (!match) throw new Error(`no ${kind} link in the mail "${mail.subject}"`);
  rememberSecret('mailed link token', match[1]!.split('/').pop());
  return match[1]!;
}

export interface MailTestStack {
  t: TestApp;
  mailbox: TestMailbox;
  worker: MailWorker;
  /** The mails `email` got with a subject matching `subject`, after the worker ran once. */
  mailsTo(email: string, subject: RegExp): Promise<ReceivedMail[]>;
}

/**
 * For a test file: a mailbox, a test app sending to it over SMTP and its mail worker (run by
 * hand), made before the file's tests and closed after them; `use` receives them.
 */
export function withMailStack(use: (stack: MailTestStack) => void): void {
  let stack: MailTestStack;
  before(async () => {
    const mailbox = await startMailbox();
    const t = await createTestApp({ REQUIRE_2FA: 'off', SMTP_URL: mailbox.url });
    const worker = mailWorkerFor(t);
    stack = {
      t,
      mailbox,
      worker,
      async mailsTo(email, subject) {
        await worker.runOnce();
        return mailbox.to(email).filter((mail) => subject.test(mail.subject));
      },
    };
    use(stack);
  });
  after(async () => {
    await stack?.worker.stop();
    await stack?.t.close();
    await stack?.mailbox.close();
  });
}
