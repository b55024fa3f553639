import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import type { RenderedMail } from './render.ts';

/** Where mail goes: an SMTP server, or (development without SMTP_URL) the terminal. */
export interface MailTransport {
  send(mail: RenderedMail): Promise<void>;
  close(): void;
}

/** Long enough for a slow server, short enough that one hung connection does not stall the queue. */
const SMTP_TIMEOUT_MS = 15_000;

export function smtpTransport(url: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(url, {
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  } as object);
  return {
    async send(mail) {
      await transporter.sendMail({ from, ...mail });
    },
    close: () => transporter.close(),
  };
}

/**
 * Development without SMTP_URL: each mail in full on standard output (like Django's console
 * backend), so a newcomer can follow a reset link. Never through the logger: the log holds no
 * links with tokens.
 */
export function consoleTransport(
  from: string,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): MailTransport {
  return {
    async send(mail) {
      const rule = '-'.repeat(72);
      write(
        `\n${rule}\nFrom: ${from}\nTo: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n${rule}\n\n`,
      );
    },
    close: () => undefined,
  };
}

/** The transport the configuration asks for, or null when mail is off (production, no SMTP_URL). */
export function transportFor(config: Config): MailTransport | null {
  if (config.mail.transport === 'smtp')
    return smtpTransport(config.mail.smtpUrl!, config.mail.from);
  if (config.mail.transport === 'console') return consoleTransport(config.mail.from);
  return null;
}
