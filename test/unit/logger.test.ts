import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { chooseLogFormat, createLogger, prettyDestination } from '../../src/logger.ts';

/** A pretty logger writing into memory; resolves with the lines once `count` have arrived. */
function prettyLines(count: number, log: (logger: ReturnType<typeof createLogger>) => void) {
  return new Promise<string[]>((resolve) => {
    let text = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        const lines = text.split('\n').filter(Boolean);
        if (lines.length >= count) resolve(lines);
        done();
      },
    });
    log(createLogger('info', prettyDestination({ destination: sink, colorize: false })));
  });
}

describe('terminal output', () => {
  it('when nothing is chosen, then a terminal in development gets readable lines and everything else JSON', () => {
    const development = { logFormat: null, isProduction: false };
    const production = { logFormat: null, isProduction: true };
    assert.equal(chooseLogFormat(development, true), 'pretty');
    assert.equal(chooseLogFormat(development, false), 'json');
    assert.equal(chooseLogFormat(production, true), 'json');
    assert.equal(chooseLogFormat({ logFormat: 'json', isProduction: false }, true), 'json');
    assert.equal(chooseLogFormat({ logFormat: 'pretty', isProduction: true }, false), 'pretty');
  });

  it('when events are logged in pretty format, then each is one line a person reads', async () => {
    const lines = await prettyLines(3, (logger) => {
      logger.info(
        { reqId: 'abc', method: 'GET', path: '/settings', status: 200, ms: 9.2 },
        'request',
      );
      logger.warn('database unreachable, retrying');
      logger.info({ password: 'hunter2-hunter2', migrations: ['one.ts'] }, 'database migrated');
    });
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d GET \/settings 200 9 ms$/);
    assert.match(lines[1]!, /^\d\d:\d\d:\d\d WARN database unreachable, retrying$/);
    // Other fields follow on the same line, and redaction still applies.
    assert.match(lines[2]!, /^\d\d:\d\d:\d\d database migrated \{.*"migrations":\["one\.ts"\]/);
    assert.doesNotMatch(lines[2]!, /hunter2/);
  });
});
