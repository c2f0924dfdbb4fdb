import * as path from 'node:path';
import { READ_ONLY_CACHE_MESSAGE } from '../../service/src/errors';
import { startRedis, type RedisServer } from '../../support/local-servers';
import {
  closeAll,
  createTestApp,
  signIn,
  startBackends,
  TEST_PASSWORD,
  testConfig,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';

let backends: Backends;
let service: TestApp;
let cookie: string;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends));
  cookie = await signIn(service.app, 'survivor');
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

function postNote(text: string) {
  return service.app.inject({ method: 'POST', url: '/notes', payload: { text }, headers: { cookie } });
}

describe('PostgreSQL restart', () => {
  test('requests fail fast with 503 during the outage and succeed afterwards without restarting the app', async () => {
    expect((await postNote('before')).statusCode).toBe(201);
    await backends.pg.stop();
    try {
      const started = Date.now();
      const write = await postNote('during');
      expect(write.statusCode).toBe(503);
      expect(write.json()).toEqual({ error: 'database unavailable; try again shortly' });
      const read = await service.app.inject({ url: '/notes', headers: { cookie } });
      expect(read.statusCode).toBe(503);
      expect(Date.now() - started).toBeLessThan(5000);

      const ready = await service.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'unavailable', database: { ok: false }, cache: { ok: true } });
      expect((await service.app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await backends.pg.start();
    }
    let after = await postNote('after');
    await waitFor(
      async () => {
        after = await postNote('after');
        return after.statusCode === 201;
      },
      10_000,
      'writes to succeed after the restart',
    );
    expect(after.json().text).toBe('after');
    expect((await service.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
  });
});

describe('database credentials refused (for example during a secret rotation)', () => {
  test('answers 503, not 500', async () => {
    const config = testConfig(backends);
    const wrong = await createTestApp({
      ...config,
      database: { ...config.database, credentials: { kind: 'password', password: 'rotated-away' } },
    });
    try {
      const response = await wrong.app.inject({
        method: 'POST',
        url: '/notes',
        payload: { text: 'x' },
        headers: { cookie },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ error: 'database unavailable; try again shortly' });
    } finally {
      await wrong.close();
    }
  });
});

describe('Redis restart', () => {
  test('session requests fail fast with 503 during the outage; the session survives the restart', async () => {
    await backends.redis.stop();
    try {
      const started = Date.now();
      const response = await service.app.inject({ url: '/session', headers: { cookie } });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ error: 'session store unavailable; try again shortly' });
      const signInAttempt = await service.app.inject({
        method: 'POST',
        url: '/session',
        payload: { user: 'survivor', password: TEST_PASSWORD },
      });
      expect(signInAttempt.statusCode).toBe(503);
      expect(Date.now() - started).toBeLessThan(3000);
      const ready = await service.app.inject({ url: '/health/ready' });
      expect(ready.json()).toMatchObject({ status: 'unavailable', cache: { ok: false }, database: { ok: true } });
    } finally {
      await backends.redis.start();
    }
    let status = 0;
    await waitFor(
      async () => {
        status = (await service.app.inject({ url: '/session', headers: { cookie } })).statusCode;
        return status === 200;
      },
      10_000,
      'sessions to be served after the restart',
    );
    const response = await service.app.inject({ url: '/session', headers: { cookie } });
    expect(response.json()).toEqual({ user: 'survivor', counter: 0 });
  });
});

describe('session store out of memory (maxmemory reached)', () => {
  test('a sign-in is a 503 "full", not a 500; reads still work', async () => {
    await service.redis.config('SET', 'maxmemory', '1');
    try {
      const signInAttempt = await service.app.inject({
        method: 'POST',
        url: '/session',
        payload: { user: 'survivor', password: TEST_PASSWORD },
      });
      expect(signInAttempt.statusCode).toBe(503);
      expect(signInAttempt.json()).toEqual({ error: 'session store is full; sign-in resumes once it has room' });
      expect((await service.app.inject({ url: '/session', headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await service.redis.config('SET', 'maxmemory', '0');
    }
  });
});

describe('read-only session store (secondary region replica)', () => {
  let replica: RedisServer;
  let secondary: TestApp;

  beforeAll(async () => {
    replica = await startRedis({ dir: path.join(backends.root, 'replica'), replicaOf: backends.redis });
    secondary = await createTestApp(
      testConfig(backends, { redis: { ...testConfig(backends).redis, port: replica.port } }),
    );
  });

  afterAll(() =>
    closeAll(
      () => secondary?.close(),
      () => replica?.stop(),
    ),
  );

  test('serves replicated sessions and refuses sign-in with 503 and a clear message', async () => {
    await waitFor(
      async () => (await secondary.app.inject({ url: '/session', headers: { cookie } })).statusCode === 200,
      10_000,
      'the replica to have the session',
    );
    const signInAttempt = await secondary.app.inject({
      method: 'POST',
      url: '/session',
      payload: { user: 'survivor', password: TEST_PASSWORD },
    });
    expect(signInAttempt.statusCode).toBe(503);
    expect(signInAttempt.json()).toEqual({ error: READ_ONLY_CACHE_MESSAGE });
    const counter = await secondary.app.inject({ method: 'POST', url: '/session/counter', headers: { cookie } });
    expect(counter.statusCode).toBe(503);
  });
});
