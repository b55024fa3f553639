import pino, { type DestinationStream, type Logger } from 'pino';

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
