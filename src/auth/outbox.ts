import type { Db } from '../db/knex.ts';
import type { RequestOrigin } from './origin.ts';

/**
 * The mail outbox: a mail is a row written in the same transaction as the event that causes it,
 * and sent later by the worker (src/mail/worker.ts), so a mail server that is down or slow never
 * fails or slows the event, and a mail is never lost on restart. A row holds facts (what, when,
 * from where); the words are chosen when it is sent (src/messages/en/mail.ts).
 */
export type MailKind =
  /** A link to reset the password (data.token: the token, encrypted; removed once sent). */
  | 'password_reset'
  | 'password_reset_done'
  | 'password_changed'
  /** An administrator set a temporary password. */
  | 'password_set_by_admin'
  | 'new_device'
  | 'wrong_second_factor'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'two_factor_reset_by_admin'
  | 'recovery_codes_regenerated'
  /** data.left: recovery codes still unused. */
  | 'recovery_code_used'
  /** To the new address: the confirmation link (data.token encrypted, data.newEmail). */
  | 'email_change_confirm'
  /** To the old address (data.newEmail, data.byAdmin). */
  | 'email_changed'
  /** data.what: 'password' (sign-in paused for every address but known ones) or 'second_factor'. */
  | 'account_locked';

export interface OutboxMail {
  kind: MailKind;
  to: string;
  userId: string | null;
  at: Date;
  origin?: RequestOrigin;
  data?: Record<string, unknown>;
}

/** The mail_outbox row for a mail (for callers that fold the insert into another statement). */
export function outboxRow(mail: OutboxMail) {
  return {
    kind: mail.kind,
    recipient: mail.to,
    user_id: mail.userId,
    data: JSON.stringify({
      ...mail.data,
      at: mail.at.toISOString(),
      ip: mail.origin?.ip || null,
      // Attacker-controlled: a bounded amount.
      userAgent: mail.origin?.userAgent ? mail.origin.userAgent.slice(0, 300) : null,
    }),
    next_attempt_at: mail.at,
    created_at: mail.at,
  };
}

/** Queues a mail (inside the caller's transaction, so it goes out only if the event happened). */
export async function queueMail(db: Db, mail: OutboxMail): Promise<void> {
  await db('mail_outbox').insert(outboxRow(mail));
}

/**
 * Queues a mail unless one of the same kind went to this user within `withinMs` (a notice that
 * would otherwise repeat for every attempt). Atomic only under a lock the caller holds on the
 * user (verifySecondFactor locks the user's row).
 */
export async function queueMailUnlessRecent(
  db: Db,
  mail: OutboxMail & { userId: string },
  withinMs: number,
): Promise<void> {
  const row = outboxRow(mail);
  await db.raw(
    `INSERT INTO mail_outbox (kind, recipient, user_id, data, next_attempt_at, created_at)
     SELECT :kind, :recipient, :user_id, :data, :next_attempt_at, :created_at
     WHERE NOT EXISTS (SELECT 1 FROM mail_outbox
                        WHERE user_id = :user_id AND kind = :kind AND created_at > :since)`,
    { ...row, since: new Date(mail.at.getTime() - withinMs) },
  );
}

/**
 * Queues a mail to a user's current address, read in the same statement (for callers that hold
 * only the user's id).
 */
export async function queueMailFor(
  db: Db,
  mail: Omit<OutboxMail, 'to' | 'userId'> & { userId: string },
): Promise<void> {
  const row = outboxRow({ ...mail, to: '' });
  await db.raw(
    `INSERT INTO mail_outbox (kind, recipient, user_id, data, next_attempt_at, created_at)
     SELECT :kind, email, id, :data, :next_attempt_at, :created_at FROM users WHERE id = :user_id`,
    row,
  );
}
