import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * JSON logs. Request bodies, cookies and headers are never logged, so passwords, codes, secrets,
 * session ids and CSRF tokens cannot reach the log; the redaction below is a second line of
 * defence for anything that slips into an error object.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Standard output, written asynchronously: lines that come while a write is under way go out
  // together in the next one, not one system call per line. pino flushes what is left on exit.
  destination ??= pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level,
      base: { app: 'keygate' },
      redact: {
        paths: [
          'password',
          '*.password',
          'code',
          '*.code',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'headers.cookie',
          '*.headers.cookie',
          'sid',
          '*.sid',
          'sessionID',
          '*.sessionID',
        ],
        censor: '[redacted]',
      },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

/** What each log line is printed as (LOG_FORMAT; see chooseLogFormat). */
export type LogFormat = 'pretty' | 'json';

/**
 * LOG_FORMAT when set; otherwise readable lines for a person at a terminal in development, and
 * JSON for everything else (production, or output going to a file or a log collector).
 */
export function chooseLogFormat(
  config: { logFormat: LogFormat | null; isProduction: boolean },
  stdoutIsTerminal: boolean,
): LogFormat {
  if (config.logFormat) return config.logFormat;
  return stdoutIsTerminal && !config.isProduction ? 'pretty' : 'json';
}

/** Fields a pretty line says in its own words, or that only matter to a machine. */
const PRETTY_IGNORED = 'pid,hostname,app,reqId,method,path,status,ms';

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * One line per event on standard output: "08:16:52 GET /settings 200 9 ms" for a request,
 * "08:16:53 WARN database unreachable, retrying" otherwise (the level is left out for info).
 * Other fields follow on the same line; an error's stack follows on the lines below.
 */
export function prettyDestination(
  options: { destination?: number | NodeJS.WritableStream; colorize?: boolean } = {},
): DestinationStream {
  return pretty({
    destination: options.destination ?? 1,
    colorize: options.colorize ?? Boolean(process.stdout.isTTY),
    singleLine: true,
    ignore: PRETTY_IGNORED,
    // The time and level go into the message below, so pino-pretty's own "[time] LEVEL:" is empty.
    customPrettifiers: { time: () => '', level: () => '' },
    messageFormat: (log, messageKey) => {
      const at = new Date(Number(log.time));
      const time = `${twoDigits(at.getHours())}:${twoDigits(at.getMinutes())}:${twoDigits(at.getSeconds())}`;
      const label = pino.levels.labels[Number(log.level)] ?? 'info';
      const level = label === 'info' ? '' : `${label.toUpperCase()} `;
      const text =
        log[messageKey] === 'request'
          ? `${String(log.method)} ${String(log.path)} ${String(log.status)} ${Math.round(Number(log.ms))} ms`
          : String(log[messageKey] ?? '');
      return `${time} ${level}${text}`;
    },
  });
}
