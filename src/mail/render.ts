import { associatedData, decrypt } from '../auth/encryption.ts';
import type { MailKind } from '../auth/outbox.ts';
import { canonicalEmail } from '../auth/users.ts';
import type { Config, NotificationKind } from '../config.ts';
import { en, type MailFacts, type MailText } from '../messages/index.ts';
import { paths } from '../paths.ts';

/** A mail_outbox row as the worker reads it. */
export interface OutboxRow {
  id: string;
  kind: MailKind;
  recipient: string;
  user_id: string | null;
  data: Record<string, unknown>;
  attempts: number;
}

export interface RenderedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Which NOTIFICATIONS switch turns a kind off; null: not a notification (always sent). */
export const NOTIFICATION_OF: Record<MailKind, NotificationKind | null> = {
  password_reset: null,
  email_change_confirm: null,
  password_reset_done: 'password_changes',
  password_changed: 'password_changes',
  password_set_by_admin: 'password_changes',
  new_device: 'new_device',
  wrong_second_factor: 'wrong_second_factor',
  two_factor_enabled: 'two_factor_changes',
  two_factor_disabled: 'two_factor_changes',
  two_factor_reset_by_admin: 'two_factor_changes',
  recovery_codes_regenerated: 'recovery_codes',
  recovery_code_used: 'recovery_codes',
  email_changed: 'email_changes',
  account_locked: 'lockout',
};

/** A link's token from the outbox (encrypted there), or null if it cannot be read. */
function token(row: OutboxRow, config: Config): string | null {
  const sealed = row.data.token;
  if (typeof sealed !== 'string') return null;
  // Bound to the kind and the address it goes to: a token copied into another mail is worthless.
  const to = canonicalEmail(row.recipient);
  return decrypt(sealed, config.totpKeys, associatedData.mailToken(row.kind, to));
}

function wordsFor(row: OutboxRow, config: Config): MailText | null {
  const d = row.data;
  const facts: MailFacts = {
    at: new Date(String(d.at)),
    ip: typeof d.ip === 'string' ? d.ip : null,
    userAgent: typeof d.userAgent === 'string' ? d.userAgent : null,
  };
  const m = en.mail;
  switch (row.kind) {
    case 'password_reset': {
      const t = token(row, config);
      if (!t) return null;
      return m.passwordReset(
        `${config.baseUrl}${paths.passwordResetLink}/${t}`,
        new Date(String(d.expiresAt)),
        facts,
      );
    }
    case 'email_change_confirm': {
      const t = token(row, config);
      if (!t) return null;
      return m.emailChangeConfirm(
        `${config.baseUrl}${paths.emailConfirmLink}/${t}`,
        new Date(String(d.expiresAt)),
        facts,
      );
    }
    case 'password_reset_done':
      return m.passwordResetDone(facts);
    case 'password_changed':
      return m.passwordChanged(facts);
    case 'password_set_by_admin':
      return m.passwordSetByAdmin(facts);
    case 'new_device':
      return m.newDevice(facts);
    case 'wrong_second_factor':
      return m.wrongSecondFactor(facts);
    case 'two_factor_enabled':
      return m.twoFactorEnabled(facts);
    case 'two_factor_disabled':
      return m.twoFactorDisabled(facts);
    case 'two_factor_reset_by_admin':
      return m.twoFactorResetByAdmin(facts);
    case 'recovery_codes_regenerated':
      return m.recoveryCodesRegenerated(facts);
    case 'recovery_code_used':
      return m.recoveryCodeUsed(Number(d.left ?? 0), facts);
    case 'email_changed':
      return m.emailChanged(String(d.newEmail ?? ''), d.byAdmin === true, facts);
    case 'account_locked':
      return m.accountLocked(d.what === 'second_factor' ? 'second_factor' : 'password', facts);
  }
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * The mail for an outbox row: plain text and simple HTML, no remote images, no tracking, the
 * site's name and address in each. Null when it cannot be made (a token that no key decrypts).
 */
export function renderMail(row: OutboxRow, config: Config): RenderedMail | null {
  const words = wordsFor(row, config);
  if (!words) return null;
  const href = words.action
    ? words.action.href.startsWith('/')
      ? `${config.baseUrl}${words.action.href}`
      : words.action.href
    : null;
  const footer = `${config.appName} · ${config.baseUrl}`;
  const text = [
    ...words.paragraphs,
    ...(words.action ? [`${words.action.text}: ${href}`] : []),
    '--',
    `This mail was sent by ${footer}, about your account there.`,
  ].join('\n\n');
  const html = [
    '<!DOCTYPE html><html><head><meta charset="utf-8">',
    `<title>${escapeHtml(words.subject)}</title></head><body>`,
    `<h1>${escapeHtml(words.subject)}</h1>`,
    ...words.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(words.action
      ? [`<p><a href="${escapeHtml(href!)}">${escapeHtml(words.action.text)}</a></p>`]
      : []),
    `<hr><p>This mail was sent by <a href="${escapeHtml(config.baseUrl)}">${escapeHtml(config.appName)}</a> (${escapeHtml(config.baseUrl)}), about your account there.</p>`,
    '</body></html>',
  ].join('\n');
  return {
    to: row.recipient,
    subject: `${words.subject} · ${config.appName}`,
    text,
    html,
  };
}
