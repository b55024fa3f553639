import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/knex.ts';
import type { Logger } from '../logger.ts';
import { MAIL_DELIVERY } from '../auth/limits.ts';
import { NOTIFICATION_OF, renderMail, type OutboxRow } from './render.ts';
import type { MailTransport } from './transport.ts';

export interface MailWorker {
  /** Claims and sends what is due now; resolves with how many mails were sent. */
  runOnce(): Promise<number>;
  /** Polls the outbox every `pollMs` until stop(). */
  start(): void;
  /** Stops polling and waits for the mails in hand (for a clean shutdown and tests). */
  stop(): Promise<void>;
}

/** The wait before the next try after `attempts` failed tries: 30 s, 1 min, 2 min, … ≤ 1 h. */
export function retryDelayMs(attempts: number): number {
  return Math.min(MAIL_DELIVERY.firstRetryMs * 2 ** (attempts - 1), MAIL_DELIVERY.maxRetryMs);
}

/**
 * Claims due mails: one UPDATE over rows picked with FOR UPDATE SKIP LOCKED, so several app
 * instances never take the same mail; a claimed mail is "sending" until `claimed_until`, and one
 * whose worker died is claimed again after that. (A worker that dies after the SMTP server took
 * the mail but before marking it sent means that mail goes out twice: at-least-once, the usual
 * price of not holding a transaction open during SMTP.)
 */
async function claimDue(db: Db, now: Date, batch: number): Promise<OutboxRow[]> {
  const { rows } = await db.raw<{ rows: OutboxRow[] }>(
    `UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1, claimed_until = :claimedUntil
      WHERE id IN (SELECT id FROM mail_outbox
                    WHERE (status = 'pending' AND next_attempt_at <= :now)
                       OR (status = 'sending' AND claimed_until < :now)
                    ORDER BY next_attempt_at, id
                    LIMIT :batch
                    FOR UPDATE SKIP LOCKED)
      RETURNING id, kind, recipient, user_id, data, attempts`,
    { now, claimedUntil: new Date(now.getTime() + MAIL_DELIVERY.claimMs), batch },
  );
  return rows.map((row) => ({ ...row, id: String(row.id) }));
}

/** Marks a claimed mail done; a link's token leaves the database with it. */
async function settle(
  db: Db,
  id: string,
  change: {
    status: 'sent' | 'failed' | 'skipped' | 'pending';
    at: Date;
    error?: string;
    retryAt?: Date;
  },
) {
  const done = change.status !== 'pending';
  await db('mail_outbox')
    .where({ id, status: 'sending' })
    .update({
      status: change.status,
      claimed_until: null,
      ...(change.status === 'sent' ? { sent_at: change.at } : {}),
      ...(change.retryAt ? { next_attempt_at: change.retryAt } : {}),
      ...(done ? { data: db.raw(`data - 'token'`) } : {}),
      ...(change.error !== undefined ? { last_error: change.error.slice(0, 500) } : {}),
    });
}

export function createMailWorker(deps: {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  transport: MailTransport;
}): MailWorker {
  const { db, config, logger, clock, transport } = deps;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  // Runs of one worker follow each other (a tick while a run is going waits for it).
  let chain: Promise<unknown> = Promise.resolve();

  async function deliver(row: OutboxRow): Promise<boolean> {
    const now = () => new Date(clock.now());
    const switchName = NOTIFICATION_OF[row.kind];
    if (switchName && !config.notifications.has(switchName)) {
      await settle(db, row.id, { status: 'skipped', at: now() });
      return false;
    }
    const mail = renderMail(row, config);
    if (!mail) {
      logger.error({ mailId: row.id, kind: row.kind }, 'mail could not be made: dropped');
      await settle(db, row.id, { status: 'failed', at: now(), error: 'could not be rendered' });
      return false;
    }
    try {
      await transport.send(mail);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const last = row.attempts >= MAIL_DELIVERY.maxAttempts;
      logger.warn(
        { mailId: row.id, kind: row.kind, attempts: row.attempts, err: message },
        last ? 'mail could not be sent: giving up' : 'mail could not be sent: will try again',
      );
      if (last) await settle(db, row.id, { status: 'failed', at: now(), error: message });
      else
        await settle(db, row.id, {
          status: 'pending',
          at: now(),
          error: message,
          retryAt: new Date(clock.now() + retryDelayMs(row.attempts)),
        });
      return false;
    }
    await settle(db, row.id, { status: 'sent', at: now() });
    logger.info({ mailId: row.id, kind: row.kind, userId: row.user_id }, 'mail sent');
    return true;
  }

  async function run(): Promise<number> {
    let sent = 0;
    for (;;) {
      if (stopping) return sent;
      const rows = await claimDue(db, new Date(clock.now()), MAIL_DELIVERY.batch);
      for (const [i, row] of rows.entries()) {
        // Stopping: the claimed mails not yet tried go back to the queue at once.
        if (stopping) {
          await db('mail_outbox')
            .whereIn(
              'id',
              rows.slice(i).map((r) => r.id),
            )
            .where({ status: 'sending' })
            .update({ status: 'pending', claimed_until: null, attempts: db.raw('attempts - 1') });
          return sent;
        }
        if (await deliver(row)) sent++;
      }
      if (rows.length < MAIL_DELIVERY.batch) return sent;
    }
  }

  function runOnce(): Promise<number> {
    const next = chain.catch(() => undefined).then(run);
    chain = next;
    return next;
  }

  const tick = () => {
    runOnce().catch((error: unknown) =>
      logger.warn({ err: error }, 'mail outbox could not be read; will try again'),
    );
  };

  return {
    runOnce,
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, MAIL_DELIVERY.pollMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = null;
      await chain.catch(() => undefined);
      transport.close();
    },
  };
}
