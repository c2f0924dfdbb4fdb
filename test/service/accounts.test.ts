/**
 * Accounts (issue 13): sign-up (POST /users) and sign-in (POST /session) with a password, against real PostgreSQL
 * and Redis. Sign-in failures say one thing, whatever the reason, after the same work; passwords follow the
 * policy (12 to 128 characters after NFC normalisation) and are hashed with argon2id, rehashed at sign-in when
 * their parameters are old. Hashing runs off the event loop (service/src/password-hasher.ts): the instance answers
 * other requests while a hash runs, and a bounded queue refuses what it cannot take with a 503 and Retry-After.
 */
import { argon2id } from 'hash-wasm';
import { PASSWORD_HASHING_BUSY_MESSAGE, PasswordHasher } from '../../service/src/password-hasher';
import {
  ARGON2_PARAMETERS,
  DUMMY_PASSWORD_HASH,
  hashParameters,
  needsRehash,
  normalizePassword,
  passwordProblem,
} from '../../service/src/passwords';
import {
  accountId,
  closeAll,
  createTestApp,
  PASSWORD_WORKER_ENTRY,
  sessionCookie,
  signIn,
  signUp,
  startBackends,
  TEST_PASSWORD,
  testConfig,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';

let backends: Backends;
let service: TestApp;

beforeAll(async () => {
  backends = await startBackends();
  // The service's own parameters: this file is about hashing.
  service = await createTestApp(testConfig(backends), { passwordParameters: ARGON2_PARAMETERS });
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

function post(url: '/users' | '/session', user: string, password: string, headers: Record<string, string> = {}) {
  return service.app.inject({ method: 'POST', url, payload: { user, password }, headers });
}

async function storedHash(user: string): Promise<string> {
  const [row] = await backends.pg.adminQuery('SELECT password_hash FROM users WHERE name = $1', [user]);
  return String(row!.password_hash);
}

describe('POST /users (sign-up)', () => {
  test('creates the account: 201 {user}, no session; the password stored as an argon2id hash only', async () => {
    const response = await post('/users', 'newcomer', TEST_PASSWORD);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ user: 'newcomer' });
    expect(response.headers['set-cookie']).toBeUndefined();
    const [row] = await backends.pg.adminQuery(
      "SELECT id::text, name, password_hash, created_at FROM users WHERE name = 'newcomer'",
    );
    expect(row).toMatchObject({ id: expect.stringMatching(/^[1-9]\d*$/), name: 'newcomer' });
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(String(row!.password_hash)).not.toContain(TEST_PASSWORD);
  });

  test('a taken name is a 409, whatever its case, and the first account is untouched', async () => {
    await signUp(service.app, 'taken');
    const before = await storedHash('taken');
    for (const name of ['taken', 'TAKEN', 'Taken']) {
      const response = await post('/users', name, 'another password entirely');
      expect(response.statusCode).toBe(409);
      expect(response.json()).toEqual({ error: 'user name is already taken' });
    }
    expect(await storedHash('taken')).toBe(before);
    expect(await backends.pg.adminQuery("SELECT name FROM users WHERE lower(name) = 'taken'")).toHaveLength(1);
  });

  test.each([
    ['11 characters', 'x'.repeat(11)],
    ['129 characters', 'x'.repeat(129)],
    ['11 characters that are 22 code points before NFC', 'e\u0301'.repeat(11)],
  ])('refuses a password of %s with 400 and creates nothing', async (_case, password) => {
    const response = await post('/users', 'weak-password', password);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'password must be 12 to 128 characters' });
    expect(await backends.pg.adminQuery("SELECT 1 FROM users WHERE name = 'weak-password'")).toEqual([]);
  });

  test('refuses a missing or empty password and an unknown field with 400', async () => {
    const cases: [unknown, string][] = [
      [{ user: 'nopass' }, 'password is required; password must be a non-empty string'],
      [{ user: 'nopass', password: '' }, 'password must be a non-empty string'],
      [{ user: 'nopass', password: TEST_PASSWORD, admin: true }, 'unknown field "admin"'],
      [{ user: 'no pass', password: TEST_PASSWORD }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    ];
    for (const [payload, error] of cases) {
      const response = await service.app.inject({ method: 'POST', url: '/users', payload: payload as object });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error });
    }
  });
});

describe('the password policy (12 to 128 characters, any Unicode, counted in code points after NFC)', () => {
  test.each([
    ['12 ASCII characters', 'x'.repeat(12), undefined],
    ['128 characters', 'x'.repeat(128), undefined],
    ['12 emoji (24 UTF-16 units)', '\u{1F600}'.repeat(12), undefined],
    ['128 emoji (256 UTF-16 units)', '\u{1F600}'.repeat(128), undefined],
    ['12 characters typed as 24 code points, once NFC-normalised', normalizePassword('e\u0301'.repeat(12)), undefined],
    ['spaces and control characters', ' \t\n'.repeat(4), undefined],
    ['11 characters', 'x'.repeat(11), 'password must be 12 to 128 characters'],
    ['129 emoji', '\u{1F600}'.repeat(129), 'password must be 12 to 128 characters'],
  ])('%s', (_case, password, problem) => {
    expect(passwordProblem(password)).toBe(problem);
  });

  test('NFC normalisation: a precomposed and a decomposed "é" are one password', async () => {
    const composed = 'caf\u00e9 au lait, s\u00e9rieux';
    const decomposed = 'cafe\u0301 au lait, se\u0301rieux';
    expect(decomposed).not.toBe(composed);
    expect(normalizePassword(decomposed)).toBe(composed);
    expect((await post('/users', 'unicode', decomposed)).statusCode).toBe(201);
    const response = await post('/session', 'unicode', composed);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ user: 'unicode', counter: 0 });
  });
});

describe('POST /session (sign-in)', () => {
  beforeAll(async () => {
    await signUp(service.app, 'member');
  });

  test('the right password: 201 {user, counter}, a session of the account (id and name)', async () => {
    const response = await post('/session', 'member', TEST_PASSWORD);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ user: 'member', counter: 0 });
    const sid = sessionCookie(response).slice('sid='.length);
    expect(await service.redis.hgetall(`session:${sid}`)).toMatchObject({
      userId: await accountId(backends, 'member'),
      user: 'member',
    });
  });

  test('another spelling of the name signs in to the same account, under its stored name', async () => {
    const response = await post('/session', 'MEMBER', TEST_PASSWORD);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ user: 'member', counter: 0 });
  });

  test('a wrong password and an unknown user name: the same 401 and body, no session', async () => {
    const wrong = await post('/session', 'member', 'not the password at all');
    const unknown = await post('/session', 'nobody-here', TEST_PASSWORD);
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'invalid user name or password' });
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(wrong.headers['content-type']).toBe(unknown.headers['content-type']);
    expect(wrong.headers['content-length']).toBe(unknown.headers['content-length']);
  });

  test('the same work for an unknown user name: one verification, against the dummy hash', async () => {
    const verify = jest.spyOn(service.passwords, 'verify');
    try {
      await post('/session', 'member', 'not the password at all');
      await post('/session', 'nobody-here-either', TEST_PASSWORD);
      expect(verify).toHaveBeenCalledTimes(2);
      expect(verify.mock.calls[0]![1]).toBe(await storedHash('member'));
      expect(verify.mock.calls[1]![1]).toBe(DUMMY_PASSWORD_HASH);
    } finally {
      verify.mockRestore();
    }
  });

  test('the dummy hash has the current parameters, so it costs what a real one does', () => {
    expect(hashParameters(DUMMY_PASSWORD_HASH)).toEqual({
      algorithm: 'argon2id',
      version: 19,
      memorySize: ARGON2_PARAMETERS.memorySize,
      iterations: ARGON2_PARAMETERS.iterations,
      parallelism: ARGON2_PARAMETERS.parallelism,
      hashLength: ARGON2_PARAMETERS.hashLength,
    });
    expect(needsRehash(DUMMY_PASSWORD_HASH)).toBe(false);
  });

  test('a session from before accounts (a name without an account id) is no session', async () => {
    const legacy = 'L'.repeat(43);
    await service.redis.hset(`session:${legacy}`, { user: 'member', counter: '0', createdAt: 'x' });
    for (const request of [
      { url: '/session' },
      { url: '/notes' },
      { url: '/files/report.txt' },
      { method: 'POST' as const, url: '/session/counter' },
    ]) {
      const response = await service.app.inject({ ...request, headers: { cookie: `sid=${legacy}` } });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'not signed in' });
    }
    expect(await service.redis.hget(`session:${legacy}`, 'counter')).toBe('0');
  });
});

describe('rehash at sign-in', () => {
  /** A hash of TEST_PASSWORD with older, weaker parameters than the current ones. */
  async function oldHash(): Promise<string> {
    return argon2id({
      password: TEST_PASSWORD,
      salt: Buffer.alloc(16, 7),
      memorySize: 4096,
      iterations: 3,
      parallelism: 1,
      hashLength: 32,
      outputType: 'encoded',
    });
  }

  test('a hash with older parameters is replaced by one with the current parameters; the password still works', async () => {
    const old = await oldHash();
    expect(needsRehash(old)).toBe(true);
    await backends.pg.adminQuery("INSERT INTO users (name, password_hash) VALUES ('veteran', $1)", [old]);
    expect((await post('/session', 'veteran', TEST_PASSWORD)).statusCode).toBe(201);
    const rehashed = await storedHash('veteran');
    expect(rehashed).not.toBe(old);
    expect(needsRehash(rehashed)).toBe(false);
    expect(hashParameters(rehashed)).toMatchObject({ memorySize: 19_456, iterations: 2, parallelism: 1 });
    expect(service.logs).toContainEqual(
      expect.objectContaining({ msg: 'password rehashed with the current parameters' }),
    );
    expect((await post('/session', 'veteran', TEST_PASSWORD)).statusCode).toBe(201);
  });

  test('a hash with the current parameters is left as it is', async () => {
    const before = await storedHash('member');
    expect((await post('/session', 'member', TEST_PASSWORD)).statusCode).toBe(201);
    expect(await storedHash('member')).toBe(before);
  });

  test('on a read-only database the sign-in succeeds and the rehash is skipped silently', async () => {
    const old = await oldHash();
    await backends.pg.adminQuery("INSERT INTO users (name, password_hash) VALUES ('passive-veteran', $1)", [old]);
    await backends.pg.adminQuery(`ALTER ROLE ${backends.pg.user} SET default_transaction_read_only = on`);
    // A new app: the setting applies to connections opened from now on.
    const readOnly = await createTestApp(testConfig(backends));
    try {
      expect(await signIn(readOnly.app, 'passive-veteran')).toMatch(/^sid=/);
      expect(await storedHash('passive-veteran')).toBe(old);
      expect(readOnly.logs.filter((line) => Number(line.level) >= 40)).toEqual([]);
    } finally {
      await readOnly.close();
      await backends.pg.adminQuery(`ALTER ROLE ${backends.pg.user} RESET default_transaction_read_only`);
    }
  });
});

describe('database errors during sign-in follow the mapping (503, never 500)', () => {
  test('a database that refuses the connection: sign-in and sign-up answer 503', async () => {
    const config = testConfig(backends);
    const refused = await createTestApp({
      ...config,
      database: { ...config.database, credentials: { kind: 'password', password: 'rotated-away' } },
    });
    try {
      for (const url of ['/session', '/users'] as const) {
        const response = await refused.app.inject({
          method: 'POST',
          url,
          payload: { user: 'member', password: TEST_PASSWORD },
        });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ error: 'database unavailable; try again shortly' });
      }
    } finally {
      await refused.close();
    }
  });
});

function signInRequest(service: TestApp, user: string) {
  return service.app.inject({ method: 'POST', url: '/session', payload: { user, password: TEST_PASSWORD } });
}

describe('hashing off the event loop, on the app (one worker, a queue of one)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await createTestApp(testConfig(backends, { passwordHashWorkers: 1, passwordHashQueue: 1 }), {
      passwordParameters: ARGON2_PARAMETERS,
    });
    await signUp(service.app, 'busy');
  });

  afterAll(() => closeAll(() => service?.close()));

  test('other requests are answered while a hash runs: the event loop never waits for one', async () => {
    let settled = false;
    const signingIn = signInRequest(service, 'busy').finally(() => (settled = true));
    await waitFor(() => service.passwords.pending > 0, 2000, 'the verification to be in the worker');
    const started = performance.now();
    for (let i = 0; i < 3; i++) {
      expect((await service.app.inject({ url: '/health' })).statusCode).toBe(200);
    }
    const healthMs = performance.now() - started;
    // On the event loop the 80 ms verification would have run to its end before any of these was answered.
    expect(settled).toBe(false);
    expect(service.passwords.pending).toBe(1);
    expect((await signingIn).statusCode).toBe(201);
    expect(healthMs).toBeLessThan(1000);
  });

  test('a full queue refuses at once with 503 and Retry-After: one runs, one waits, the rest are refused', async () => {
    const responses = await Promise.all(Array.from({ length: 5 }, () => signInRequest(service, 'busy')));
    const byStatus = responses.map((r) => r.statusCode).sort();
    expect(byStatus).toEqual([201, 201, 503, 503, 503]);
    for (const refused of responses.filter((r) => r.statusCode === 503)) {
      expect(refused.json()).toEqual({ error: PASSWORD_HASHING_BUSY_MESSAGE });
      expect(refused.headers['retry-after']).toBe('1');
    }
    // Logged as load shed (warn), not as a failure (error).
    expect(service.logs.filter((line) => line.level === 50)).toEqual([]);
    expect(service.logs).toContainEqual(
      expect.objectContaining({ level: 40, msg: PASSWORD_HASHING_BUSY_MESSAGE, retryAfterSeconds: 1 }),
    );
    // Nothing is left waiting, and the next sign-in goes through.
    expect(service.passwords.pending).toBe(0);
    expect((await signInRequest(service, 'busy')).statusCode).toBe(201);
  });
});

describe('the password worker pool', () => {
  test('hashes with a new salt each time, and verifies', async () => {
    const hasher = new PasswordHasher({ entry: PASSWORD_WORKER_ENTRY, workers: 2, maxQueue: 4 });
    try {
      const [first, second] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
      expect(first).not.toBe(second);
      expect(await Promise.all([hasher.verify('same password', first), hasher.verify('other', second)])).toEqual([
        true,
        false,
      ]);
    } finally {
      await hasher.close();
    }
  });

  test('a worker that cannot start fails its task with a 503, not a 500, and the next task tries a new one', async () => {
    const warnings: string[] = [];
    const hasher = new PasswordHasher({
      entry: '/nonexistent/password-worker.js',
      workers: 1,
      maxQueue: 1,
      log: { warn: (_obj, msg) => warnings.push(msg) },
    });
    try {
      for (let i = 0; i < 2; i++) {
        await expect(hasher.hash('x')).rejects.toMatchObject({
          statusCode: 503,
          message: 'password check unavailable; try again shortly',
        });
      }
      expect(warnings).toEqual(['password worker failed', 'password worker failed']);
    } finally {
      await hasher.close();
    }
  });

  test('close() fails waiting tasks with a 503 and stops the workers', async () => {
    const hasher = new PasswordHasher({ entry: PASSWORD_WORKER_ENTRY, workers: 1, maxQueue: 2 });
    const outcomes = [hasher.hash('one'), hasher.hash('two'), hasher.hash('three')].map((task) =>
      task.then(
        () => 'resolved',
        (err: unknown) => err,
      ),
    );
    await hasher.close();
    for (const outcome of await Promise.all(outcomes)) expect(outcome).toMatchObject({ statusCode: 503 });
    await expect(hasher.hash('after')).rejects.toMatchObject({ statusCode: 503 });
  });

  test('refuses settings that would make no pool', () => {
    expect(() => new PasswordHasher({ entry: PASSWORD_WORKER_ENTRY, workers: 0, maxQueue: 1 })).toThrow(
      'PasswordHasher workers must be a positive integer (got 0)',
    );
    expect(() => new PasswordHasher({ entry: PASSWORD_WORKER_ENTRY, workers: 1, maxQueue: -1 })).toThrow(
      'PasswordHasher maxQueue must be a non-negative integer (got -1)',
    );
  });
});
