import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { enableTwoFactor } from '../../src/auth/enrolment.ts';
import { codeForStep, generateTotpSecret, stepAt } from '../../src/auth/totp.ts';
import { parseEncryptionKey } from '../../src/config.ts';
import { createDb, type Db } from '../../src/db/knex.ts';
import { csrfTokenIn } from '../helpers/agent.ts';
import { testSecrets } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** A browser whose cookie travels between two Keygate processes behind one "load balancer". */
function client() {
  // Every cookie by name (the session's and the sign-in form's), as a browser keeps them.
  const jar = new Map<string, string>();
  let cookie = '';
  const keep = (response: request.Response) => {
    const set = response.headers['set-cookie'] as unknown as string[] | undefined;
    for (const line of set ?? []) {
      const pair = line.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      if (pair.endsWith('=')) jar.delete(name);
      else jar.set(name, pair);
    }
    cookie = [...jar.values()].join('; ');
    return response;
  };
  return {
    get: async (server: ServerProcess, path: string) =>
      keep(await request(server.url).get(path).set('Cookie', cookie)),
    async submit(
      server: ServerProcess,
      page: string,
      action: string,
      fields: Record<string, string>,
      poster = server,
    ) {
      const form = keep(await request(server.url).get(page).set('Cookie', cookie));
      return keep(
        await request(poster.url)
          .post(action)
          .set('Cookie', cookie)
          .type('form')
          .send({ ...fields, _csrf: csrfTokenIn(form.text) }),
      );
    },
  };
}

describe('two app processes on one database', () => {
  const secrets = testSecrets();
  let database: TestDatabase;
  let db: Db;
  let a: ServerProcess;
  let b: ServerProcess;
  before(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, statementTimeoutMs: 10_000 });
    const env = {
      DATABASE_URL: database.url,
      ...secrets,
      BCRYPT_COST: '10',
      REQUIRE_2FA: 'off',
      LOG_LEVEL: 'warn',
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db.destroy();
    await database.drop();
  });

  async function userWithTwoFactor() {
    const user = await makeUser(db);
    const secret = generateTotpSecret();
    const keys = { current: parseEncryptionKey(secrets.TOTP_ENCRYPTION_KEY)!, old: [] };
    const step = stepAt(Date.now()) - 5;
    await enableTwoFactor(db, {
      userId: user.id,
      secret,
      step,
      keys,
      now: new Date(),
      origin: { ip: '127.0.0.1', userAgent: null },
    });
    return { user, secret };
  }

  it('when the password goes through the first and the code through the second, then sign-in completes', async () => {
    const { user, secret } = await userWithTwoFactor();
    const browser = client();
    const password = await browser.submit(a, '/login', '/login', {
      email: user.email,
      password: user.password,
    });
    assert.equal(password.headers.location, '/login/2fa');
    const code = await browser.submit(b, '/login/2fa', '/login/2fa', {
      code: await codeForStep(secret, stepAt(Date.now())),
    });
    assert.equal(code.status, 303);
    assert.equal((await browser.get(a, '/')).status, 200);
    assert.equal((await browser.get(b, '/')).status, 200);
  });

  it('when wrong codes go through both, then they count against one limit', async () => {
    const { user } = await userWithTwoFactor();
    const browser = client();
    await browser.submit(a, '/login', '/login', { email: user.email, password: user.password });
    for (let i = 0; i < 5; i++) {
      const server = i % 2 === 0 ? a : b;
      await browser
        .submit(server, '/login/2fa', '/login/2fa', { code: '000001' })
        .catch(() => undefined);
    }
    const rows = await db('auth_attempts').where({
      user_id: user.id,
      kind: 'second_factor',
      succeeded: false,
    });
    assert.equal(rows.length, 5);
    const after = await browser.get(b, '/login/2fa');
    assert.equal(after.status, 303, 'the pending sign-in ended after 5, across both processes');
    assert.equal(after.headers.location, '/login');
  });

  it('when a session is ended through one, then it is dead on the other', async () => {
    const user = await makeUser(db);
    const laptop = client();
    const phone = client();
    assert.equal(
      (await laptop.submit(a, '/login', '/login', { email: user.email, password: user.password }))
        .status,
      303,
    );
    assert.equal(
      (await phone.submit(b, '/login', '/login', { email: user.email, password: user.password }))
        .status,
      303,
    );
    assert.equal((await phone.get(a, '/')).status, 200, 'the phone session works on both');
    const ended = await laptop.submit(b, '/settings', '/settings/sessions/end-others', {});
    assert.equal(ended.status, 303);
    assert.equal((await phone.get(a, '/')).status, 303);
    assert.equal((await phone.get(b, '/')).status, 303);
    assert.equal((await laptop.get(a, '/')).status, 200);
  });
});
