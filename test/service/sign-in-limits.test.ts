/**
 * Sign-in attempt limits and the sign-up limit (service/src/sign-in-limits.ts), kept in Redis so that every
 * instance counts the same attempts: per client IP, per (user name, client IP) and per account; 429 with
 * Retry-After and no password check over a limit; 503 when the store cannot be read or written. The limits are
 * small here (the defaults are 100, 10, 100 and 20), to keep the password checks few (about 80 ms each); each test
 * uses client IPs of its own (X-Forwarded-For, one trusted proxy) so their counts do not mix.
 */
import * as path from 'node:path';
import { hashPasswordNow } from '../../service/src/passwords';
import { READ_ONLY_CACHE_MESSAGE } from '../../service/src/errors';
import { ipLimitKey, TOO_MANY_SIGN_INS_MESSAGE, TOO_MANY_SIGN_UPS_MESSAGE } from '../../service/src/sign-in-limits';
import { startRedis, type RedisServer } from '../../support/local-servers';
import {
  closeAll,
  createTestApp,
  startBackends,
  TEST_ARGON2_PARAMETERS,
  TEST_PASSWORD,
  testConfig,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';

const LIMITS = {
  failuresPerIpPerDay: 3,
  consecutiveFailuresPerUserAndIp: 1,
  failuresPerAccountPerDay: 2,
  signUpsPerIpPerHour: 3,
};
const WRONG = 'not the right password';

let backends: Backends;
/** Two instances with the small limits, on the same Redis and PostgreSQL. */
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  backends = await startBackends();
  a = await createTestApp(testConfig(backends, { instanceId: 'i-a', signInLimits: LIMITS }));
  b = await createTestApp(testConfig(backends, { instanceId: 'i-b', signInLimits: LIMITS }));
  // The accounts, made as a sign-up makes them (sign-up is not the subject here: one hash for all of them).
  const hash = await hashPasswordNow(TEST_PASSWORD, TEST_ARGON2_PARAMETERS);
  for (const user of ['pat', 'rhea', 'sam', 'acct', 'shared', 'rory']) {
    await backends.pg.adminQuery('INSERT INTO users (name, password_hash) VALUES ($1, $2)', [user, hash]);
  }
});

afterAll(() =>
  closeAll(
    () => a?.close(),
    () => b?.close(),
    () => backends?.stop(),
  ),
);

function signIn(app: TestApp, user: string, password: string, ip: string) {
  return app.app.inject({
    method: 'POST',
    url: '/session',
    payload: { user, password },
    headers: { 'x-forwarded-for': ip },
  });
}

/** The statuses of sign-ins, one after the other. */
async function statuses(attempts: [TestApp, string, string, string][]): Promise<number[]> {
  const out: number[] = [];
  for (const [app, user, password, ip] of attempts) out.push((await signIn(app, user, password, ip)).statusCode);
  return out;
}

function expectLimited(response: Awaited<ReturnType<typeof signIn>>, retryAfterSeconds: number): void {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toEqual({ error: TOO_MANY_SIGN_INS_MESSAGE });
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(retryAfterSeconds - 5);
  expect(retryAfter).toBeLessThanOrEqual(retryAfterSeconds);
  expect(response.headers['set-cookie']).toBeUndefined();
}

describe('consecutive failures per user name and client IP', () => {
  test('1 failure is a 401; the 2nd is a 429 and blocks the pair for an hour: the right password is not checked', async () => {
    const ip = '203.0.113.10';
    expect((await signIn(a, 'pat', WRONG, ip)).statusCode).toBe(401);
    expectLimited(await signIn(a, 'pat', WRONG, ip), 3600);
    const verify = jest.spyOn(a.passwords, 'verify');
    try {
      expectLimited(await signIn(a, 'pat', TEST_PASSWORD, ip), 3600);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
    // The same name from another address is another pair.
    expect((await signIn(a, 'pat', TEST_PASSWORD, '203.0.113.11')).statusCode).toBe(201);
  });

  test('a user name without an account gets the same answers, so the limits tell nothing about accounts', async () => {
    const attempts = (user: string, ip: string): [TestApp, string, string, string][] => [
      [a, user, WRONG, ip],
      [a, user, WRONG, ip],
      [a, user, TEST_PASSWORD, ip],
    ];
    // rhea exists; ghost does not.
    const existing = await statuses(attempts('rhea', '203.0.113.20'));
    const unknown = await statuses(attempts('ghost', '203.0.113.21'));
    expect(existing).toEqual([401, 429, 429]);
    expect(unknown).toEqual(existing);
  });

  test('a successful sign-in resets the count of its pair', async () => {
    const ip = '203.0.113.30';
    const sequence: [TestApp, string, string, string][] = [
      [a, 'sam', WRONG, ip],
      [a, 'sam', TEST_PASSWORD, ip],
      [a, 'sam', WRONG, ip],
    ];
    expect(await statuses(sequence)).toEqual([401, 201, 401]);
    // Without the reset the last failure above would have been the 2nd: a 429. Now the 2nd since the success is.
    expectLimited(await signIn(a, 'sam', WRONG, ip), 3600);
  });
});

describe('failures per client IP', () => {
  test('3 failures a day from one address, whatever the names (unknown ones too); the 4th blocks it for a day', async () => {
    const ip = '203.0.113.40';
    const attempts = ['u1', 'u2', 'u3'].map((user): [TestApp, string, string, string] => [a, user, WRONG, ip]);
    expect(await statuses(attempts)).toEqual([401, 401, 401]);
    expectLimited(await signIn(a, 'u4', WRONG, ip), 86_400);
    // Every name from that address, with its right password too.
    expectLimited(await signIn(a, 'pat', TEST_PASSWORD, ip), 86_400);
  });
});

describe('failures per account, across client IPs', () => {
  test('2 failures a day from any addresses; the 3rd blocks the account for an hour, from every address', async () => {
    const attempts = ['203.0.113.51', '203.0.113.52'].map((ip): [TestApp, string, string, string] => [
      a,
      'acct',
      WRONG,
      ip,
    ]);
    expect(await statuses(attempts)).toEqual([401, 401]);
    expectLimited(await signIn(a, 'acct', WRONG, '203.0.113.55'), 3600);
    expectLimited(await signIn(a, 'acct', TEST_PASSWORD, '203.0.113.56'), 3600);
    // Not another account.
    expect((await signIn(a, 'pat', TEST_PASSWORD, '203.0.113.57')).statusCode).toBe(201);
  });
});

describe('one limit for every instance', () => {
  test('two instances on one Redis count the same failures: the 2nd, on the other instance, is a 429', async () => {
    const ip = '203.0.113.60';
    expect((await signIn(a, 'shared', WRONG, ip)).statusCode).toBe(401);
    expectLimited(await signIn(b, 'shared', WRONG, ip), 3600);
    const blocked = await signIn(a, 'shared', TEST_PASSWORD, ip);
    expectLimited(blocked, 3600);
    expect(blocked.headers['x-instance-id']).toBe('i-a');
  });
});

describe('sign-ups per client IP', () => {
  test('3 an hour from one address, counted before any hash (taken names too); the 4th is a 429', async () => {
    const ip = '203.0.113.70';
    const signUpFrom = (user: string) =>
      a.app.inject({
        method: 'POST',
        url: '/users',
        payload: { user, password: TEST_PASSWORD },
        headers: { 'x-forwarded-for': ip },
      });
    const hash = jest.spyOn(a.passwords, 'hash');
    try {
      expect((await signUpFrom('newbie')).statusCode).toBe(201);
      expect((await signUpFrom('pat')).statusCode).toBe(409);
      expect((await signUpFrom('rhea')).statusCode).toBe(409);
      const refused = await signUpFrom('one-too-many');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toEqual({ error: TOO_MANY_SIGN_UPS_MESSAGE });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
      expect(hash).toHaveBeenCalledTimes(1);
    } finally {
      hash.mockRestore();
    }
    expect(await backends.pg.adminQuery("SELECT 1 FROM users WHERE name = 'one-too-many'")).toEqual([]);
  });
});

describe('the client IP key', () => {
  test.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:fffe', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::198.51.100.1', '64:ff9b:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s counts as %s (an IPv6 client by its /64)', (ip, key) => {
    expect(ipLimitKey(ip)).toBe(key);
  });
});

describe('a session store that cannot count: 503, never a 500, no password checked', () => {
  describe('a read-only replica (the passive region)', () => {
    let replica: RedisServer;
    let passive: TestApp;

    beforeAll(async () => {
      replica = await startRedis({ dir: path.join(backends.root, 'replica'), replicaOf: backends.redis });
      const config = testConfig(backends, { instanceId: 'i-passive', signInLimits: LIMITS });
      passive = await createTestApp({ ...config, redis: { ...config.redis, port: replica.port } });
    });

    afterAll(() =>
      closeAll(
        () => passive?.close(),
        () => replica?.stop(),
      ),
    );

    test('the blocks replicate and hold; a sign-in or sign-up that must write its count or session is a 503', async () => {
      // A pair blocked in the primary region.
      expect((await signIn(a, 'rory', WRONG, '203.0.113.80')).statusCode).toBe(401);
      expectLimited(await signIn(a, 'rory', WRONG, '203.0.113.80'), 3600);
      await waitFor(
        async () => (await signIn(passive, 'rory', TEST_PASSWORD, '203.0.113.80')).statusCode === 429,
        10_000,
        'the pair blocked in the primary to be blocked on the replica',
      );
      for (const [user, password] of [
        ['pat', WRONG],
        ['pat', TEST_PASSWORD],
      ]) {
        const response = await signIn(passive, user!, password!, '203.0.113.82');
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ error: READ_ONLY_CACHE_MESSAGE });
      }
      const signUpAttempt = await passive.app.inject({
        method: 'POST',
        url: '/users',
        payload: { user: 'passive-newbie', password: TEST_PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.81' },
      });
      expect(signUpAttempt.statusCode).toBe(503);
      expect(signUpAttempt.json()).toEqual({ error: READ_ONLY_CACHE_MESSAGE });
    });
  });

  test('Redis down: sign-in and sign-up answer 503 at once, without a password check', async () => {
    const verify = jest.spyOn(a.passwords, 'verify');
    const hash = jest.spyOn(a.passwords, 'hash');
    await backends.redis.stop();
    try {
      for (const url of ['/session', '/users']) {
        const response = await a.app.inject({
          method: 'POST',
          url,
          payload: { user: 'redis-down', password: TEST_PASSWORD },
          headers: { 'x-forwarded-for': '203.0.113.90' },
        });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ error: 'session store unavailable; try again shortly' });
      }
      expect(verify).not.toHaveBeenCalled();
      expect(hash).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
      hash.mockRestore();
      await backends.redis.start();
    }
    // Served again once the clients have reconnected.
    await waitFor(
      async () => (await signIn(a, 'pat', TEST_PASSWORD, '203.0.113.91')).statusCode === 201,
      10_000,
      'sign-in to work again',
    );
  });
});
