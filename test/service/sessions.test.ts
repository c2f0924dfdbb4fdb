import {
  closeAll,
  createTestApp,
  sessionCookie,
  signIn,
  signUp,
  startBackends,
  TEST_PASSWORD,
  testConfig,
  type Backends,
  type TestApp,
} from './helpers';

let backends: Backends;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  backends = await startBackends();
  a = await createTestApp(testConfig(backends, { instanceId: 'i-a' }));
  b = await createTestApp(testConfig(backends, { instanceId: 'i-b' }));
});

afterAll(() =>
  closeAll(
    () => a?.close(),
    () => b?.close(),
    () => backends?.stop(),
  ),
);

function sid(cookie: string): string {
  return cookie.slice('sid='.length);
}

/** The credentials of `user` with the tests' password. */
function credentials(user: string) {
  return { user, password: TEST_PASSWORD };
}

describe('POST /session', () => {
  beforeAll(async () => {
    await signUp(a.app, 'alice@example.com');
    await signUp(a.app, 'alice');
  });

  test('creates a session and answers 201 with the user and a zero counter', async () => {
    const response = await a.app.inject({ method: 'POST', url: '/session', payload: credentials('alice@example.com') });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ user: 'alice@example.com', counter: 0 });
  });

  test('sets the sid cookie: 256-bit base64url, HttpOnly, SameSite=Lax, Path=/, Max-Age, Secure', async () => {
    const response = await a.app.inject({ method: 'POST', url: '/session', payload: credentials('alice') });
    const header = String(response.headers['set-cookie']);
    expect(header).toMatch(/^sid=[A-Za-z0-9_-]{43}; /);
    expect(Buffer.from(header.slice(4, 47), 'base64url')).toHaveLength(32);
    expect(header.split('; ').slice(1).sort()).toEqual([
      'HttpOnly',
      'Max-Age=3600',
      'Path=/',
      'SameSite=Lax',
      'Secure',
    ]);
  });

  test('omits Secure when COOKIE_SECURE=false', async () => {
    const plain = await createTestApp(testConfig(backends, { cookieSecure: false }));
    try {
      const response = await plain.app.inject({ method: 'POST', url: '/session', payload: credentials('alice') });
      expect(String(response.headers['set-cookie'])).not.toMatch(/Secure/);
      expect(response.cookies[0]).toMatchObject({ name: 'sid', httpOnly: true, sameSite: 'Lax', path: '/' });
    } finally {
      await plain.close();
    }
  });

  test('stores the session as hash session:<id> (account id and name) with a TTL of SESSION_TTL_SECONDS', async () => {
    const cookie = await signIn(a.app, 'bob');
    const key = `session:${sid(cookie)}`;
    const [account] = await backends.pg.adminQuery("SELECT id::text AS id FROM users WHERE name = 'bob'");
    expect(await a.redis.hgetall(key)).toMatchObject({ userId: account!.id, user: 'bob', counter: '0' });
    const ttl = await a.redis.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  test('rotates the session ID on sign-in: the previous session is deleted and a new ID issued', async () => {
    const first = await signIn(a.app, 'carol');
    const response = await a.app.inject({
      method: 'POST',
      url: '/session',
      payload: credentials('carol'),
      headers: { cookie: first },
    });
    expect(response.statusCode).toBe(201);
    const second = sessionCookie(response);
    expect(second).not.toBe(first);
    expect(await a.redis.exists(`session:${sid(first)}`)).toBe(0);
    expect((await a.app.inject({ url: '/session', headers: { cookie: first } })).statusCode).toBe(401);
    expect((await a.app.inject({ url: '/session', headers: { cookie: second } })).json()).toEqual({
      user: 'carol',
      counter: 0,
    });
  });

  test.each([
    [{ user: '', password: TEST_PASSWORD }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ user: 'x'.repeat(65), password: TEST_PASSWORD }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ user: 'bad user!', password: TEST_PASSWORD }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ user: { name: 'alice' }, password: TEST_PASSWORD }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{}, 'user is required; user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ user: 'alice' }, 'password is required; password must be a non-empty string'],
    [{ user: 'alice', password: '' }, 'password must be a non-empty string'],
    [{ user: 'alice', password: 123456789012 }, 'password must be a non-empty string'],
    [[], 'request body must be a JSON object'],
  ])('refuses body %j with 400', async (payload, message) => {
    const response = await a.app.inject({ method: 'POST', url: '/session', payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: message });
  });

  test('refuses a body that is not JSON with 400', async () => {
    const response = await a.app.inject({
      method: 'POST',
      url: '/session',
      payload: '{"user":',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(/^request body is not valid JSON/);
  });

  test('refuses another content type with 415', async () => {
    const response = await a.app.inject({
      method: 'POST',
      url: '/session',
      payload: 'user=alice',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({
      error: 'unsupported content type "application/x-www-form-urlencoded": this endpoint takes application/json',
    });
  });
});

describe('strict input (400 naming the field: never dropped, never coerced)', () => {
  /** One session for the cases below: none of them may change it. */
  let cookie: string;

  beforeAll(async () => {
    cookie = await signIn(a.app, 'strict');
  });

  test.each([
    [{ ...credentials('alice'), admin: true }, 'unknown field "admin"'],
    [{ ...credentials('alice'), user: 123 }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ ...credentials('alice'), user: true }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ ...credentials('alice'), user: ['alice'] }, 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -'],
    [{ ...credentials('alice'), password: ['x'.repeat(12)] }, 'password must be a non-empty string'],
    [{ ...credentials('alice'), [`x${'y'.repeat(100)}`]: 1 }, `unknown field "x${'y'.repeat(63)}..."`],
  ])('POST /session refuses %j with 400 and creates no session', async (payload, error) => {
    const keys = await a.redis.keys('session:*');
    const response = await a.app.inject({ method: 'POST', url: '/session', payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error });
    expect(response.headers['set-cookie']).toBeUndefined();
    expect((await a.redis.keys('session:*')).length).toBe(keys.length);
  });

  test.each([
    ['POST', '/session/counter', { admin: true }, 'unknown field "admin"'],
    ['DELETE', '/session', { all: true }, 'unknown field "all"'],
    ['POST', '/session/counter', [], 'request body must be a JSON object'],
  ])('%s %s refuses body %j with 400: it takes none', async (method, url, payload, error) => {
    const response = await a.app.inject({ method: method as 'POST', url, payload, headers: { cookie } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error });
    expect((await a.app.inject({ url: '/session', headers: { cookie } })).json()).toEqual({
      user: 'strict',
      counter: 0,
    });
  });

  test.each([
    ['GET', '/session'],
    ['POST', '/session'],
    ['GET', '/health'],
    ['GET', '/health/ready'],
  ])('%s %s refuses an unknown query parameter with 400', async (method, url) => {
    const response = await a.app.inject({
      method: method as 'GET',
      url: `${url}?debug=1`,
      payload: method === 'POST' ? credentials('alice') : undefined,
      headers: { cookie },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'unknown query parameter "debug"' });
  });

  test('the body of POST /session (open to anyone) is limited to MAX_PUBLIC_BODY_BYTES: 413 above', async () => {
    const response = await a.app.inject({
      method: 'POST',
      url: '/session',
      payload: { user: 'x'.repeat(16 * 1024) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: 'request body is larger than 16384 bytes' });
  });
});

describe('GET /session', () => {
  test('answers the user and counter of the session', async () => {
    const cookie = await signIn(a.app, 'dave');
    const response = await a.app.inject({ url: '/session', headers: { cookie } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ user: 'dave', counter: 0 });
  });

  test.each([
    ['no cookie', undefined],
    ['a malformed cookie', 'sid=not-a-session'],
    ['an unknown session', `sid=${'A'.repeat(43)}`],
  ])('answers 401 with %s', async (_case, cookie) => {
    const response = await a.app.inject({ url: '/session', headers: cookie ? { cookie } : {} });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'not signed in' });
  });

  test('slides the TTL on use', async () => {
    const cookie = await signIn(a.app, 'erin');
    const key = `session:${sid(cookie)}`;
    await a.redis.expire(key, 100);
    await a.app.inject({ url: '/session', headers: { cookie } });
    expect(await a.redis.ttl(key)).toBeGreaterThan(3590);
  });
});

describe('DELETE /session', () => {
  test('answers 204, deletes the session and clears the cookie', async () => {
    const cookie = await signIn(a.app, 'frank');
    const response = await a.app.inject({ method: 'DELETE', url: '/session', headers: { cookie } });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    const cleared = response.cookies.find((c) => c.name === 'sid');
    expect(cleared).toMatchObject({ value: '', path: '/' });
    expect(cleared!.expires!.getTime()).toBeLessThan(Date.now());
    expect(await a.redis.exists(`session:${sid(cookie)}`)).toBe(0);
    expect((await a.app.inject({ url: '/session', headers: { cookie } })).statusCode).toBe(401);
  });

  test('answers 204 without a session too', async () => {
    expect((await a.app.inject({ method: 'DELETE', url: '/session' })).statusCode).toBe(204);
  });
});

describe('POST /session/counter', () => {
  test('counts up', async () => {
    const cookie = await signIn(a.app, 'gina');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      counts.push(
        (await a.app.inject({ method: 'POST', url: '/session/counter', headers: { cookie } })).json().counter,
      );
    }
    expect(counts).toEqual([1, 2, 3]);
    expect((await a.app.inject({ url: '/session', headers: { cookie } })).json()).toEqual({ user: 'gina', counter: 3 });
  });

  test('is stateless: two instances sharing Redis continue the same session', async () => {
    const cookie = await signIn(a.app, 'hank');
    const seen: [string, number][] = [];
    for (const instance of [a, b, a, b]) {
      const response = await instance.app.inject({ method: 'POST', url: '/session/counter', headers: { cookie } });
      seen.push([String(response.headers['x-instance-id']), response.json().counter]);
    }
    expect(seen).toEqual([
      ['i-a', 1],
      ['i-b', 2],
      ['i-a', 3],
      ['i-b', 4],
    ]);
    expect((await b.app.inject({ url: '/session', headers: { cookie } })).json()).toEqual({ user: 'hank', counter: 4 });
  });

  test('is atomic under concurrent increments on two instances', async () => {
    const cookie = await signIn(a.app, 'ivy');
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).app.inject({ method: 'POST', url: '/session/counter', headers: { cookie } }),
      ),
    );
    const counters = responses.map((r) => r.json().counter as number).sort((x, y) => x - y);
    expect(counters).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test('answers 401 without a session and does not create one', async () => {
    const unknown = 'B'.repeat(43);
    const response = await a.app.inject({
      method: 'POST',
      url: '/session/counter',
      headers: { cookie: `sid=${unknown}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'not signed in' });
    expect(await a.redis.exists(`session:${unknown}`)).toBe(0);
  });
});

describe('every response', () => {
  test.each([
    ['GET', '/health'],
    ['GET', '/session'],
    ['POST', '/session'],
    ['GET', '/no/such/route'],
  ])('%s %s carries x-service-version and x-instance-id', async (method, url) => {
    const response = await a.app.inject({ method: method as 'GET' | 'POST', url });
    expect(response.headers['x-service-version']).toBe('1.2.3-test');
    expect(response.headers['x-instance-id']).toBe('i-a');
  });

  test('a malformed URL is a 400 with a JSON error and the identity headers', async () => {
    const response = await a.app.inject({ url: '/notes/%E0%A4%A' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: "'/notes/%E0%A4%A' is not a valid url component" });
    expect(response.headers['x-instance-id']).toBe('i-a');
  });

  test('an unknown route is a 404 with a JSON error', async () => {
    const response = await a.app.inject({ url: '/no/such/route?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'route GET /no/such/route not found' });
  });
});
