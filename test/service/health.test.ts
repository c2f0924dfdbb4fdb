import * as net from 'node:net';
import * as path from 'node:path';
import { READ_ONLY_DATABASE_MESSAGE } from '../../service/src/errors';
import { Lifecycle } from '../../service/src/health';
import { runMigrations } from '../../service/src/migrations';
import {
  closeAll,
  createTestApp,
  signIn,
  signUp,
  silentLog,
  startBackends,
  testConfig,
  type Backends,
  type TestApp,
} from './helpers';
import { freePort } from '../../support/local-servers';

let backends: Backends;
let service: TestApp;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends));
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

const identity = { version: '1.2.3-test', instanceId: 'i-test-a' };

describe('GET /health (shallow)', () => {
  test('answers 200 ok with version and instance', async () => {
    const response = await service.app.inject({ url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', ...identity });
  });

  test('does not depend on the database or the cache', async () => {
    const port = await freePort();
    const broken = await createTestApp(
      testConfig(backends, {
        database: { ...testConfig(backends).database, port },
        redis: { ...testConfig(backends).redis, port },
      }),
    );
    try {
      expect((await broken.app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe('GET /health/ready (deep)', () => {
  test('answers 200 ready with each check and its latency', async () => {
    const response = await service.app.inject({ url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ready',
      database: { ok: true, writable: true, latencyMs: expect.any(Number) },
      cache: { ok: true, writable: true, latencyMs: expect.any(Number) },
      files: { ok: true, writable: true, latencyMs: expect.any(Number) },
      ...identity,
    });
  });

  test('tells the entry point each time it finds the database writable (pending migrations then run)', async () => {
    let calls = 0;
    const watched = await createTestApp(testConfig(backends), { onDatabaseWritable: () => calls++ });
    try {
      expect((await watched.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
      expect((await watched.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
      expect(calls).toBe(2);
      expect((await watched.app.inject({ url: '/health' })).statusCode).toBe(200);
      expect(calls).toBe(2);
    } finally {
      await watched.close();
    }
  });

  test('answers 503 with the failing part when the shared directory is missing', async () => {
    const missing = await createTestApp(testConfig(backends, { filesDir: path.join(backends.root, 'not-mounted') }));
    try {
      const response = await missing.app.inject({ url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      const body = response.json();
      expect(body).toMatchObject({ status: 'unavailable', database: { ok: true }, cache: { ok: true }, ...identity });
      expect(body.files).toEqual({ ok: false, latencyMs: expect.any(Number), error: expect.stringMatching(/ENOENT/) });
    } finally {
      await missing.close();
    }
  });

  test('answers 503 when the cache is unreachable', async () => {
    const port = await freePort();
    const noCache = await createTestApp(testConfig(backends, { redis: { ...testConfig(backends).redis, port } }));
    try {
      const response = await noCache.app.inject({ url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        status: 'unavailable',
        database: { ok: true },
        cache: { ok: false, error: expect.any(String) },
        files: { ok: true },
      });
    } finally {
      await noCache.close();
    }
  });

  test('gives up on a database that does not answer after HEALTH_TIMEOUT_MS', async () => {
    // A server that accepts connections and never says anything: the check must not hang.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const slow = await createTestApp(
      testConfig(backends, { healthTimeoutMs: 300, database: { ...testConfig(backends).database, port } }),
    );
    try {
      const started = Date.now();
      const response = await slow.app.inject({ url: '/health/ready' });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(response.statusCode).toBe(503);
      expect(response.json().database).toEqual({
        ok: false,
        latencyMs: expect.any(Number),
        error: 'database check timed out after 300 ms',
      });
      expect(response.json().cache.ok).toBe(true);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
      await slow.close().catch(() => undefined);
    }
  });
});

describe('while draining', () => {
  test('both health endpoints answer 503 draining', async () => {
    const lifecycle = new Lifecycle();
    const draining = await createTestApp(testConfig(backends), { lifecycle });
    try {
      expect((await draining.app.inject({ url: '/health' })).statusCode).toBe(200);
      lifecycle.beginDrain();
      for (const url of ['/health', '/health/ready']) {
        const response = await draining.app.inject({ url });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ status: 'draining', ...identity });
      }
    } finally {
      await draining.close();
    }
  });
});

describe('read-only database (secondary region)', () => {
  let readOnly: TestApp;
  let cookie: string;

  beforeAll(async () => {
    // The account is made in the active region (a sign-up writes); the sign-in below only reads the database.
    await signUp(service.app, 'reader');
    await backends.pg.adminQuery(`ALTER ROLE ${backends.pg.user} SET default_transaction_read_only = on`);
    // A new pool: the setting applies to connections opened from now on.
    readOnly = await createTestApp(testConfig(backends));
    cookie = await signIn(readOnly.app, 'reader');
  });

  afterAll(async () => {
    await readOnly?.close();
    await backends.pg.adminQuery(`ALTER ROLE ${backends.pg.user} RESET default_transaction_read_only`);
  });

  test('is still ready, reporting writable: false', async () => {
    const response = await readOnly.app.inject({ url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ready', database: { ok: true, writable: false } });
  });

  test('refuses writes with 503 and the region-switch message, never 500', async () => {
    const response = await readOnly.app.inject({
      method: 'POST',
      url: '/notes',
      payload: { text: 'written in the secondary' },
      headers: { cookie },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: READ_ONLY_DATABASE_MESSAGE });
    expect(READ_ONLY_DATABASE_MESSAGE).toBe(
      'database is read-only in this region; writes resume after the region switch',
    );
  });

  test('still serves reads', async () => {
    expect((await readOnly.app.inject({ url: '/notes', headers: { cookie } })).statusCode).toBe(200);
  });

  test('does not report the database writable (no migration round is started)', async () => {
    let calls = 0;
    const watched = await createTestApp(testConfig(backends), { onDatabaseWritable: () => calls++ });
    try {
      expect((await watched.app.inject({ url: '/health/ready' })).statusCode).toBe(200);
      expect(calls).toBe(0);
    } finally {
      await watched.close();
    }
  });

  test('start-up migrations skip the writes instead of failing', async () => {
    await expect(runMigrations(readOnly.pool, silentLog)).resolves.toEqual({ applied: [], pendingReadOnly: [] });
  });
});
