import assert from 'node:assert/strict';
import Tokens from 'csrf';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { PENDING_MAX_FAILURES } from '../../src/auth/limits.ts';
import { codeForStep, stepAt } from '../../src/auth/totp.ts';
import { createBrowser, csrfTokenIn, type Browser } from '../helpers/agent.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { codeAt, makeUserWithTwoFactor, startSignIn } from '../helpers/two-factor.ts';

const tokens = new Tokens();

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

const MINUTE = 60_000;

/** Posts a code as a script would: with the page's token, or (the form is hidden while codes
 * are locked) a token of the same session from the sign-in page. */
/**
 * A valid token of the browser's session, for posting a form a locked page does not show (its
 * secret is made as a form would make it, if no page has made it yet).
 */
async function sessionToken(browser: Browser): Promise<string> {
  const sid = decodeURIComponent(browser.sessionCookie()!.split('=')[1]!).slice(2).split('.')[0]!;
  const row = await t.db('sessions').where({ sid }).first<{ sess: { csrfSecret?: string } }>();
  let secret = row.sess.csrfSecret;
  if (!secret) {
    secret = tokens.secretSync();
    await t
      .db('sessions')
      .where({ sid })
      .update({ sess: JSON.stringify({ ...row.sess, csrfSecret: secret }) });
  }
  return tokens.create(secret);
}

async function submitCode(browser: Browser, code: string, path = '/login/2fa') {
  const page = await browser.get(path);
  const token = /name="_csrf"/.test(page.text)
    ? csrfTokenIn(page.text)
    : await sessionToken(browser);
  return browser.post(path, { code, _csrf: token });
}

async function failures(userId: string) {
  const row = await t
    .db('auth_attempts')
    .where({ user_id: userId, kind: 'second_factor', succeeded: false })
    .count('* as n')
    .first();
  return Number(row!.n);
}

describe('sign-in with a TOTP code', () => {
  it('#8 #9 when the password is right, then the session id changes, nothing is reachable, and the code changes it again', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = createBrowser(t.app);
    const loginPage = await browser.get('/login?next=%2Fsettings');
    const anonymousCookie = browser.sessionCookie();
    const password = await browser.post('/login', {
      email: user.email,
      password: user.password,
      next: '/settings',
      _csrf: csrfTokenIn(loginPage.text),
    });
    assert.equal(password.headers.location, '/login/2fa');
    const pendingCookie = browser.sessionCookie();
    assert.notEqual(pendingCookie, anonymousCookie);

    for (const path of ['/', '/settings', '/settings/2fa/disable', '/logout']) {
      const response = await browser.get(path);
      assert.equal(response.status, 303, path);
      assert.equal(response.headers.location, '/login/2fa', path);
    }
    const codePage = await browser.get('/login/2fa');
    assert.match(codePage.text, /autocomplete="one-time-code"/);
    assert.match(codePage.text, /inputmode="numeric"/);
    assert.match(codePage.text, /href="\/login\/recovery"/);
    assert.match(codePage.text, /Start over/);

    const done = await browser.post('/login/2fa', {
      code: await codeAt(t, secret),
      _csrf: csrfTokenIn(codePage.text),
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/settings', 'back to the page first asked for');
    assert.notEqual(browser.sessionCookie(), pendingCookie);
    assert.equal((await browser.get('/settings')).status, 200);
    const stale = await request(t.app).get('/').set('Cookie', pendingCookie!);
    assert.equal(stale.status, 303, 'the pending cookie is worthless after success');
    assert.equal(stale.headers.location, '/login');
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id, event: 'sign_in' })
      .orderBy('id', 'desc')
      .first();
    assert.equal(events.details.method, 'totp');
  });

  it('#10 when a code is posted without a pending sign-in, or names another user, then it is refused', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const anonymous = createBrowser(t.app);
    const page = await anonymous.get('/login');
    const response = await anonymous.post('/login/2fa', {
      code: await codeAt(t, secret),
      userId: user.id,
      _csrf: csrfTokenIn(page.text),
    });
    // No pending sign-in means no session, so not even a token it would accept: refused.
    assert.equal(response.status, 403);
    assert.equal((await anonymous.get('/')).status, 303);
  });

  it('#11 when the pending sign-in is older than 5 minutes, then even a valid code is refused', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const page = await browser.get('/login/2fa');
    t.clock.advance(5 * MINUTE + 1000);
    const response = await browser.post('/login/2fa', {
      code: await codeAt(t, secret),
      _csrf: csrfTokenIn(page.text),
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.location, '/login');
    assert.match((await browser.get('/login')).text, /took too long/);
    assert.equal((await browser.get('/')).status, 303);
  });

  for (const [change, apply] of [
    ['deactivated', { is_active: false }],
    ['has its 2FA turned off', { totp_secret_encrypted: null, totp_enabled_at: null }],
  ] as const) {
    it(`#11 when the account ${change} while its sign-in waits for the code, then the right code is refused and the person starts over`, async () => {
      const { user, secret } = await makeUserWithTwoFactor(t);
      const browser = await startSignIn(t, user.email, user.password);
      const page = await browser.get('/login/2fa');
      await t.db('users').where({ id: user.id }).update(apply);
      const response = await browser.post('/login/2fa', {
        code: await codeAt(t, secret),
        _csrf: csrfTokenIn(page.text),
      });
      assert.equal(response.status, 303);
      assert.equal(response.headers.location, '/login');
      assert.match((await browser.get('/login')).text, /Please sign in again/);
      assert.equal((await browser.get('/')).status, 303, 'not signed in');
      assert.equal(await failures(user.id), 0, 'no code was checked');
    });
  }

  it('#12 when the old pending cookie is replayed after success with a new code, then it is refused', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const pendingCookie = browser.sessionCookie()!;
    const page = await browser.get('/login/2fa');
    const token = csrfTokenIn(page.text);
    assert.equal(
      (await browser.post('/login/2fa', { code: await codeAt(t, secret), _csrf: token })).status,
      303,
    );
    t.clock.advance(30_000);
    const replay = await request(t.app)
      .post('/login/2fa')
      .set('Cookie', pendingCookie)
      .type('form')
      .send({ code: await codeAt(t, secret), _csrf: token });
    assert.equal(replay.status, 403, 'the pending session is gone, so is its token');
  });

  it("#13 when user B's valid code is entered on user A's pending sign-in, then it is refused", async () => {
    const a = await makeUserWithTwoFactor(t);
    const b = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, a.user.email, a.user.password);
    const response = await submitCode(browser, await codeAt(t, b.secret));
    assert.equal(response.status, 401);
    assert.match(response.text, /That code is not right/);
  });

  it('#16 when codes one step away are used, then they work; two steps away, they do not', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    t.clock.advance(60_000); // so that "one step ago" is later than the step used at enrolment
    const early = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(early, await codeAt(t, secret, -2))).status, 401);
    assert.equal((await submitCode(early, await codeAt(t, secret, 2))).status, 401);
    assert.equal((await submitCode(early, await codeAt(t, secret, -1))).status, 303);
    t.clock.advance(60_000);
    const late = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(late, await codeAt(t, secret, 1))).status, 303);
  });

  it('#17 when the same code is used twice, or an older one after it, then the second is refused', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const code = await codeAt(t, secret);
    const first = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(first, code)).status, 303);
    const second = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(second, code)).status, 401, 'same code, new sign-in');
    assert.equal(
      (await submitCode(second, await codeAt(t, secret, -1))).status,
      401,
      'the step before the used one',
    );
    t.clock.advance(30_000);
    assert.equal(
      (await submitCode(second, await codeAt(t, secret))).status,
      303,
      'the next step works',
    );
  });

  it('#18 when one valid code is sent from 20 pending sign-ins at once, then exactly one succeeds', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browsers = await Promise.all(
      Array.from({ length: 20 }, () => startSignIn(t, user.email, user.password)),
    );
    const pages = await Promise.all(browsers.map((browser) => browser.get('/login/2fa')));
    const code = await codeAt(t, secret);
    const responses = await Promise.all(
      browsers.map((browser, i) =>
        browser.post('/login/2fa', { code, _csrf: csrfTokenIn(pages[i]!.text) }),
      ),
    );
    assert.equal(responses.filter((r) => r.status === 303).length, 1);
    // The other 19 are refused: wrong (replayed) code, and after 10 failures the account's lock.
    assert.equal(responses.filter((r) => r.status === 401 || r.status === 429).length, 19);
  });

  it('#19 when 50 wrong codes hit one pending sign-in at once, then at most 5 are checked, every check is counted, and it ends', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const page = await browser.get('/login/2fa');
    const token = csrfTokenIn(page.text);
    const correct = await codeAt(t, secret);
    const wrong = correct === '000000' ? '111111' : '000000';
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => browser.post('/login/2fa', { code: wrong, _csrf: token })),
    );
    assert.ok(
      responses.every(
        (r) =>
          r.status !== 200 &&
          r.status < 500 &&
          !(r.status === 303 && r.headers.location !== '/login'),
      ),
    );
    // A request that arrives after the exhausted sign-in replaced its session is refused as an
    // expired form (403) before any code is looked at; every other one is a recorded attempt.
    const expiredForms = responses.filter((r) => r.status === 403).length;
    assert.equal(
      await failures(user.id),
      50 - expiredForms,
      'every request that got in is counted',
    );
    const checked = await t
      .db('auth_attempts')
      .where({ user_id: user.id, kind: 'second_factor', reason: 'wrong_code' })
      .count('* as n')
      .first();
    assert.ok(
      Number(checked!.n) <= PENDING_MAX_FAILURES,
      `at most ${PENDING_MAX_FAILURES} codes were checked, not ${checked!.n}`,
    );
    const after = await browser.post('/login/2fa', { code: correct, _csrf: token });
    assert.notEqual(
      after.headers.location,
      '/',
      'even the right code no longer completes this sign-in',
    );
    assert.equal((await browser.get('/')).status, 303);
  });

  it('#20 when the password step is restarted, then the per-account counter carries on and locks the second step', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    for (let round = 0; round < 2; round++) {
      const browser = await startSignIn(t, user.email, user.password);
      for (let i = 0; i < 5; i++) await submitCode(browser, '000001');
    }
    assert.equal(await failures(user.id), 10);
    const browser = await startSignIn(t, user.email, user.password);
    const page = await browser.get('/login/2fa');
    assert.match(page.text, /Too many wrong codes for this account/);
    assert.doesNotMatch(page.text, /name="code"/, 'no code form while locked');
    assert.match(page.text, /Use a recovery code instead/);
    assert.match(page.text, /Start over/);
    // The form is hidden, but a right code posted anyway is still refused by the lock.
    const token = await sessionToken(browser);
    const locked = await browser.post('/login/2fa', {
      code: await codeAt(t, secret),
      _csrf: token,
    });
    assert.equal(locked.status, 429);
    assert.match(locked.text, /Try again in \d+ minutes \(at \d\d:\d\d UTC\)/);
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id, event: 'second_factor_locked' });
    assert.ok(events.length >= 1);

    t.clock.advance(15 * MINUTE + 1000);
    const later = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await submitCode(later, await codeAt(t, secret))).status,
      303,
      'unlocked after 15 minutes',
    );
  });

  it('#21 when a correct code follows a few failures, then the counter starts again', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    for (let i = 0; i < 4; i++) await submitCode(browser, '000001');
    assert.equal((await submitCode(browser, await codeAt(t, secret))).status, 303);
    t.clock.advance(30_000);
    for (let round = 0; round < 2; round++) {
      const again = await startSignIn(t, user.email, user.password);
      for (let i = 0; i < (round === 0 ? 5 : 4); i++) await submitCode(again, '000001');
    }
    const last = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await submitCode(last, await codeAt(t, secret))).status,
      303,
      '9 failures since the success: not locked',
    );
  });

  it('#22 when the code has a leading zero or spaces, then it works', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    let step = stepAt(t.clock.now()) + 1;
    while (!(await codeForStep(secret, step)).startsWith('0')) step++;
    t.clock.set(step * 30_000 + 5000);
    const code = await codeForStep(secret, step);
    const browser = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(browser, `${code.slice(0, 3)} ${code.slice(3)}`)).status, 303);
    t.clock.advance(30_000);
    const short = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await submitCode(short, (await codeAt(t, secret)).slice(1))).status,
      401,
      '5 digits',
    );
  });

  it('#23 when the client sends its own time, then it is ignored', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const future = stepAt(t.clock.now()) + 100;
    const browser = await startSignIn(t, user.email, user.password);
    const page = await browser.get('/login/2fa');
    const response = await browser.agent
      .post('/login/2fa')
      .set('Date', new Date(future * 30_000).toUTCString())
      .set('X-Client-Time', String(future * 30))
      .type('form')
      .send({
        code: await codeForStep(secret, future),
        time: String(future * 30),
        epoch: String(future * 30),
        _csrf: csrfTokenIn(page.text),
      });
    assert.equal(response.status, 401);
  });

  it('#24 when the password is right and the code wrong, then it is recorded for the user', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    await submitCode(browser, '000001');
    const events = await t
      .db('audit_events')
      .where({ user_id: user.id, event: 'second_factor_failed' });
    assert.equal(events.length, 1);
    assert.equal(events[0].details.during, 'sign_in');
  });

  it('when the device clock is minutes off, then the page says by how much and the attempt still fails', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const response = await submitCode(browser, await codeAt(t, secret, -6));
    assert.equal(response.status, 401);
    // Only "behind": a hint about a code ahead would say it will work later (#49).
    assert.match(response.text, /clock looks behind by about 3 minutes/);
    assert.equal(await failures(user.id), 1);
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'clock_drift_hint' })).length,
      1,
    );
  });

  it('#14 when the code field is odd, then a 4xx page answers, never a 500', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const page = await browser.get('/login/2fa');
    const token = csrfTokenIn(page.text);
    const cases: [Record<string, string | string[]>, number, RegExp][] = [
      [{ code: ['1', '2'] }, 400, /sent more than once/],
      [{ code: '' }, 400, /Enter the code/],
      [{ code: '1234567' }, 401, /not right/],
      [{ code: 'abcdef' }, 401, /not right/],
      [{ code: '12\u000034' }, 400, /cannot be used/],
      [{}, 400, /Enter the code/],
    ];
    for (const [fields, status, message] of cases) {
      const response = await browser.post('/login/2fa', { ...fields, _csrf: token });
      assert.equal(response.status, status, JSON.stringify(fields));
      assert.match(response.text, message);
    }
    const json = await browser.agent.post('/login/2fa').send({ code: '123456', _csrf: token });
    assert.equal(json.status, 403);
    const huge = await browser.post('/login/2fa', { code: '1'.repeat(1024 * 1024), _csrf: token });
    assert.equal(huge.status, 413);
  });
});

describe('sign-in with a recovery code', () => {
  it('#26 #31 when a recovery code is used, then sign-in completes, the count shows, and the code is spent', async () => {
    const { user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const response = await submitCode(browser, recoveryCodes[0]!, '/login/recovery');
    assert.equal(response.status, 303);
    assert.match(response.headers.location!, /^\/settings\/2fa\/recovery-used/);
    const page = await browser.get(response.headers.location!);
    assert.match(page.text, /You have <strong>9<\/strong> recovery codes left/);
    assert.match(page.text, /Make new recovery codes/);
    assert.equal(
      (await t.db('audit_events').where({ user_id: user.id, event: 'recovery_code_used' })).length,
      1,
    );
    const signIn = await t
      .db('audit_events')
      .where({ user_id: user.id, event: 'sign_in' })
      .orderBy('id', 'desc')
      .first();
    assert.equal(signIn.details.method, 'recovery_code');

    const again = await startSignIn(t, user.email, user.password);
    assert.equal((await submitCode(again, recoveryCodes[0]!, '/login/recovery')).status, 401);
  });

  it('#27 when one recovery code is sent from 20 pending sign-ins at once, then exactly one succeeds', async () => {
    const { user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const browsers = await Promise.all(
      Array.from({ length: 20 }, () => startSignIn(t, user.email, user.password)),
    );
    const pages = await Promise.all(browsers.map((browser) => browser.get('/login/recovery')));
    const responses = await Promise.all(
      browsers.map((browser, i) =>
        browser.post('/login/recovery', {
          code: recoveryCodes[1]!,
          _csrf: csrfTokenIn(pages[i]!.text),
        }),
      ),
    );
    assert.equal(responses.filter((r) => r.status === 303).length, 1);
    const used = await t.db('recovery_codes').where({ user_id: user.id }).whereNotNull('used_at');
    assert.equal(used.length, 1);
  });

  it("#28 when user A's code is used on user B's sign-in, then it is refused; loose typing works", async () => {
    const a = await makeUserWithTwoFactor(t);
    const b = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, b.user.email, b.user.password);
    assert.equal((await submitCode(browser, a.recoveryCodes[0]!, '/login/recovery')).status, 401);
    const loose = a.recoveryCodes[2]!.toLowerCase()
      .replace(/-/g, ' ')
      .replace(/0/g, 'o')
      .replace(/1/g, 'l');
    const mine = await startSignIn(t, a.user.email, a.user.password);
    assert.equal((await submitCode(mine, loose, '/login/recovery')).status, 303);
  });

  it('#29 when wrong recovery codes keep coming, then the limits stop them long before 100', async () => {
    const { user, recoveryCodes } = await makeUserWithTwoFactor(t);
    let refusedAt = 0;
    for (let attempt = 1; attempt <= 101 && !refusedAt; attempt++) {
      const browser = await startSignIn(t, user.email, user.password);
      const response = await submitCode(browser, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', '/login/recovery');
      if (response.status === 429) refusedAt = attempt;
    }
    assert.ok(refusedAt > 0 && refusedAt <= 11, `locked at attempt ${refusedAt}`);
    const browser = await startSignIn(t, user.email, user.password);
    assert.equal(
      (await submitCode(browser, recoveryCodes[0]!, '/login/recovery')).status,
      429,
      'even a real code while locked',
    );
  });

  it('#32 when 2FA is on, then the database holds only ciphertext and bcrypt hashes', async () => {
    const { user, secret, recoveryCodes } = await makeUserWithTwoFactor(t);
    const row = await t.db('users').where({ id: user.id }).first();
    assert.match(row.totp_secret_encrypted, /^v1\./);
    assert.doesNotMatch(row.totp_secret_encrypted, new RegExp(secret));
    const codes = await t.db('recovery_codes').where({ user_id: user.id });
    assert.equal(codes.length, 10);
    for (const code of codes) assert.match(code.code_hash, /^\$2[aby]\$10\$/);
    const dump = JSON.stringify(codes);
    for (const code of recoveryCodes) assert.ok(!dump.includes(code.replace(/-/g, '')));
  });
});

describe('when the TOTP key cannot decrypt a secret', () => {
  it('then the code step shows a 503 "contact your administrator" page, not a 500', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    const row = await t.db('users').where({ id: user.id }).first();
    // Re-encrypted under a key this app does not have: what a lost TOTP_ENCRYPTION_KEY looks like.
    await t
      .db('users')
      .where({ id: user.id })
      .update({
        totp_secret_encrypted: row.totp_secret_encrypted.replace(/^v1\.[0-9a-f]{8}/, 'v1.deadbeef'),
      });
    const browser = await startSignIn(t, user.email, user.password);
    const response = await submitCode(browser, await codeAt(t, secret));
    assert.equal(response.status, 503);
    assert.match(response.text, /Two-factor authentication is temporarily unavailable/);
    assert.match(response.text, /contact your administrator/);
    assert.ok(t.logs().includes('TOTP secret could not be decrypted'));
  });
});

describe('the code page speaks once, calmly, and before limits bite', () => {
  it('when a code is wrong, then the error is said once (no summary), and a clock behind is a separate note', async () => {
    const { user, secret } = await makeUserWithTwoFactor(t);
    t.clock.advance(10 * 60_000);
    const browser = await startSignIn(t, user.email, user.password);
    const response = await submitCode(browser, await codeAt(t, secret, -8));
    assert.equal(response.status, 401);
    assert.doesNotMatch(
      response.text,
      /There is a problem/,
      'no error summary on a one-field form',
    );
    assert.equal(response.text.match(/That code is not right/g)?.length, 1, 'said once');
    assert.match(
      response.text,
      /<p class="note" role="status">Your device(&#39;|')s clock looks behind by about 4 minutes/,
    );
    assert.doesNotMatch(response.text, /field-error[^<]*clock looks/, 'the hint is not an error');
  });

  it('when wrong codes pile up, then the page says how many tries are left before the sign-in ends', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) texts.push((await submitCode(browser, '000001')).text);
    assert.doesNotMatch(texts[0]!, /tries left|try left/);
    assert.match(texts[2]!, /2 tries left\./);
    assert.match(texts[3]!, /1 try left\./);
  });

  it('when a recovery code is used a second time, then it says the code was already used', async () => {
    const { user, recoveryCodes } = await makeUserWithTwoFactor(t);
    const first = await startSignIn(t, user.email, user.password);
    const used = await submitCode(first, recoveryCodes[0]!, '/login/recovery');
    assert.equal(used.status, 303);
    const second = await startSignIn(t, user.email, user.password);
    const again = await submitCode(second, recoveryCodes[0]!, '/login/recovery');
    assert.equal(again.status, 401);
    assert.match(again.text, /That recovery code was already used/);
    const wrong = await submitCode(second, 'AAAA-BBBB-CCCC-DDDD', '/login/recovery');
    assert.match(wrong.text, /That recovery code is not right/);
  });
});

describe('starting over from the code step', () => {
  it('when the person follows "Start over", then the sign-in form has their email filled in, and only theirs', async () => {
    const { user } = await makeUserWithTwoFactor(t);
    const browser = await startSignIn(t, user.email, user.password);
    const form = await browser.get('/login');
    assert.equal(form.status, 200);
    assert.match(
      form.text,
      new RegExp(`name="email"[^>]*value="${user.email.replace(/[.]/g, '\\.')}"`),
    );
    const stranger = await createBrowser(t.app).get('/login');
    assert.doesNotMatch(stranger.text, new RegExp(user.email.replace(/[.]/g, '\\.')));
  });
});
