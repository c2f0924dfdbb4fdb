/**
 * The catalog example service (services/catalog) against real PostgreSQL servers on loopback: the active
 * region (writer and reader endpoints on the primary), and the passive region (reads from a hot standby made
 * with pg_basebackup, the writer endpoint either unreachable or the standby itself).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { artifactBundle, bundleFolder } from '../../lib/bundling';
import { staging } from '../../lib/config/environments';
import '../support/fastify-inject';
import type { FastifyInstance } from 'fastify';
import { DatabaseError, Pool } from 'pg';
import { buildCatalogApp } from '../../services/catalog/src/app';
import { CatalogStore, classify, READ_ONLY_MESSAGE, UNAVAILABLE_MESSAGE } from '../../services/catalog/src/catalog';
import { CatalogConfig, CatalogConfigError, loadCatalogConfig } from '../../services/catalog/src/config';
import {
  freePort,
  scratchDir,
  startPostgres,
  startPostgresStandby,
  type PostgresServer,
  type PostgresStandby,
} from '../../support/local-servers';

let primary: PostgresServer;
let standby: PostgresStandby;

/** The configuration the boot script would write for `pg` (TLS off on loopback). */
function configFor(pg: PostgresServer): CatalogConfig {
  return loadCatalogConfig({
    PORT: '8081',
    DATABASE_HOST: pg.host,
    DATABASE_READER_HOST: pg.host,
    DATABASE_PORT: String(pg.port),
    DATABASE_NAME: pg.database,
    DATABASE_USER: pg.user,
    DATABASE_PASSWORD: pg.password,
    DATABASE_SSL: 'false',
    SERVICE_VERSION: 'v-test',
    INSTANCE_ID: 'i-test',
    TRUSTED_PROXY_HOPS: '1',
    LOG_LEVEL: 'info',
  });
}

/**
 * An app whose writer and reader endpoints are the given ports of 127.0.0.1 (one host here, so the two
 * endpoints differ by port; in AWS they are two host names on one port), and its log lines.
 */
function appOn(writerPort: number, readerPort: number): { app: FastifyInstance; store: CatalogStore; log: string[] } {
  const config = configFor(primary);
  const store = new CatalogStore(
    poolFor({ ...config.database, port: writerPort }),
    poolFor({ ...config.database, port: readerPort }),
  );
  const log: string[] = [];
  const app = buildCatalogApp({ config, store, logStream: { write: (line) => log.push(line) } });
  return { app, store, log };
}

/** A pool like CatalogStore.connect's, on an explicit port, with a short connect timeout. */
function poolFor(db: CatalogConfig['database']): Pool {
  const pool = new Pool({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.credentials.kind === 'password' ? db.credentials.password : undefined,
    connectionTimeoutMillis: 2_000,
  });
  pool.on('error', () => undefined);
  return pool;
}

const opened: { app: FastifyInstance; store: CatalogStore }[] = [];
function open(writerPort: number, readerPort: number) {
  const made = appOn(writerPort, readerPort);
  opened.push(made);
  return made;
}

beforeAll(async () => {
  const root = scratchDir('catalog-');
  primary = await startPostgres({ dir: path.join(root, 'primary') });
  const { store } = open(primary.port, primary.port);
  expect(await store.migrate()).toBe('applied');
  standby = await startPostgresStandby({ dir: path.join(root, 'standby'), primary });
}, 120_000);

afterAll(async () => {
  for (const { app, store } of opened) {
    await app.close();
    await store.close();
  }
  await standby?.stop();
  await primary?.stop();
});

describe('catalog API in the active region', () => {
  const active = () => open(primary.port, primary.port).app;

  test('PUT creates (201) then replaces (200); GET reads it back', async () => {
    const app = active();
    const first = await app.inject({
      method: 'PUT',
      url: '/api/catalog/items/tea-1',
      payload: { name: 'Green tea', priceCents: 450 },
    });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ sku: 'tea-1', name: 'Green tea', priceCents: 450 });
    const again = await app.inject({
      method: 'PUT',
      url: '/api/catalog/items/tea-1',
      payload: { name: 'Green tea', priceCents: 500 },
    });
    expect(again.statusCode).toBe(200);
    const read = await app.inject({ method: 'GET', url: '/api/catalog/items/tea-1' });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ sku: 'tea-1', priceCents: 500 });
    expect(read.headers['x-service-version']).toBe('v-test');
    expect(read.headers['x-instance-id']).toBe('i-test');
  });

  test('lists in SKU order, a page at a time', async () => {
    const app = active();
    for (const sku of ['a-1', 'a-2', 'a-3']) {
      await app.inject({ method: 'PUT', url: `/api/catalog/items/${sku}`, payload: { name: sku, priceCents: 1 } });
    }
    const page = await app.inject({ method: 'GET', url: '/api/catalog/items?limit=2' });
    expect(page.json()).toMatchObject({ items: [{ sku: 'a-1' }, { sku: 'a-2' }], next: 'a-2' });
    const rest = await app.inject({ method: 'GET', url: '/api/catalog/items?limit=2&after=a-2' });
    expect(rest.json().items[0].sku).toBe('a-3');
  });

  test('an unknown item is a 404', async () => {
    const answer = await active().inject({ method: 'GET', url: '/api/catalog/items/none-such' });
    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toEqual({ error: 'no item none-such' });
  });

  test.each([
    ['an unknown field', { name: 'x', priceCents: 1, admin: true }],
    ['a price as a string', { name: 'x', priceCents: '1' }],
    ['a negative price', { name: 'x', priceCents: -1 }],
    ['a fractional price', { name: 'x', priceCents: 1.5 }],
    ['an empty name', { name: '', priceCents: 1 }],
    ['a control character in the name', { name: 'a\u0000b', priceCents: 1 }],
    ['no price', { name: 'x' }],
  ])('a body with %s is a 400, and nothing is written', async (_what, payload) => {
    const app = active();
    const answer = await app.inject({ method: 'PUT', url: '/api/catalog/items/bad-1', payload });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toEqual(expect.any(String));
    expect((await app.inject({ method: 'GET', url: '/api/catalog/items/bad-1' })).statusCode).toBe(404);
  });

  test.each([
    '/api/catalog/items/UPPER',
    '/api/catalog/items/-dash',
    '/api/catalog/items?limit=0',
    '/api/catalog/items?limit=101',
    '/api/catalog/items?limit=ten',
    '/api/catalog/items?after=%20',
    '/api/catalog/items?other=1',
  ])('GET %s is a 400', async (url) => {
    expect((await active().inject({ method: 'GET', url })).statusCode).toBe(400);
  });

  test('readiness: ready, and writable', async () => {
    const answer = await active().inject({ method: 'GET', url: '/health/ready' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ ready: true, draining: false, database: { readable: true, writable: true } });
  });

  test('readiness under the routed prefix (/api/catalog/health/ready, the path the region switch requests) answers the same', async () => {
    const app = active();
    const plain = await app.inject({ method: 'GET', url: '/health/ready' });
    const routed = await app.inject({ method: 'GET', url: '/api/catalog/health/ready' });
    expect(routed.statusCode).toBe(200);
    expect(routed.json()).toEqual(plain.json());
    expect(routed.json()).toEqual({ ready: true, draining: false, database: { readable: true, writable: true } });
    // The config's readiness path of the catalog is this one, reached through its listener rule.
    expect(staging.services.find((s) => s.name === 'catalog')!.readiness?.path).toBe('/api/catalog/health/ready');
  });

  test("the access log has the client's IP from X-Forwarded-For (one trusted hop), and only an IP address", async () => {
    const { app, log } = open(primary.port, primary.port);
    // The client appended first, then the one trusted proxy hop (the ALB) is the peer: the spoofed left-most
    // entry is not the client (trusting every hop would log it).
    await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' },
      remoteAddress: '10.0.0.5',
    });
    await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-forwarded-for': '<script>x</script>' },
      remoteAddress: '10.0.0.6',
    });
    const access = log.map((l) => JSON.parse(l)).filter((l) => l.msg === 'access');
    expect(access.map((l) => l.clientIp)).toEqual(['203.0.113.7', '10.0.0.6']);
  });

  test('a client that closes before the answer is still logged with its address (read when the request arrived)', async () => {
    // A load balancer's health check closes its connection as soon as it has its answer: when the access line is
    // written the socket may no longer know its peer (the drill's client-ip scenario found "unknown" lines). Here
    // the socket forgets its address while the request is handled, as a closed one does.
    const { app, log } = open(primary.port, primary.port);
    app.addHook('preHandler', async (request) => {
      Object.defineProperty(request.raw.socket, 'remoteAddress', { value: undefined, configurable: true });
    });
    // The health check's own request: no X-Forwarded-For, the peer is the client.
    await app.inject({ method: 'GET', url: '/health', remoteAddress: '10.0.0.5' });
    const access = log.map((l) => JSON.parse(l)).filter((l) => l.msg === 'access');
    expect(access.map((l) => l.clientIp)).toEqual(['10.0.0.5']);
  });
});

describe('a database without the table yet (before the first migration)', () => {
  test('readiness says not ready until the migration ran, then ready; two migrations at once both succeed', async () => {
    const fresh = await startPostgres({ dir: path.join(scratchDir('catalog-fresh-'), 'pg') });
    try {
      const config = configFor(fresh);
      const store = new CatalogStore(poolFor(config.database), poolFor(config.database));
      const app = buildCatalogApp({ config, store, logStream: { write: () => undefined } });
      opened.push({ app, store });
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: '/api/catalog/items' })).statusCode).toBe(503);
      // Instances starting together: the advisory lock serializes CREATE TABLE IF NOT EXISTS.
      const other = new CatalogStore(poolFor(config.database), poolFor(config.database));
      opened.push({
        app: buildCatalogApp({ config, store: other, logStream: { write: () => undefined } }),
        store: other,
      });
      expect(await Promise.all([store.migrate(), other.migrate(), store.migrate()])).toEqual([
        'applied',
        'applied',
        'applied',
      ]);
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    } finally {
      for (const o of opened.splice(-2)) {
        await o.app.close();
        await o.store.close();
      }
      await fresh.stop();
    }
  });
});

describe('draining before the process stops', () => {
  test('both health checks answer 503 while draining, so the load balancer stops sending first', async () => {
    const config = configFor(primary);
    const store = new CatalogStore(poolFor(config.database), poolFor(config.database));
    let draining = false;
    const app = buildCatalogApp({ config, store, draining: () => draining, logStream: { write: () => undefined } });
    opened.push({ app, store });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    draining = true;
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({
      ready: false,
      draining: true,
    });
    expect((await app.inject({ method: 'GET', url: '/api/catalog/health' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/api/catalog/health/ready' })).statusCode).toBe(503);
  });
});

describe('classify: which database errors are a 503', () => {
  const dbError = (code: string) => Object.assign(new DatabaseError('x', 1, 'error'), { code });

  test.each(['25006'])('%s (read-only) is a 503 naming the read-only region', (code) => {
    expect(classify(dbError(code))).toMatchObject({ reason: 'read-only', message: READ_ONLY_MESSAGE });
  });

  test.each(['08006', '53300', '57014', '57P01', '57P03', '40001', '40P01', '42P01'])(
    '%s (may succeed when tried again) is a 503',
    (code) => {
      expect(classify(dbError(code))).toMatchObject({ reason: 'unavailable', message: UNAVAILABLE_MESSAGE });
    },
  );

  test.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('getaddrinfo EAI_AGAIN db'), { code: 'EAI_AGAIN' }),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
  ])('the driver error "%s" is a 503', (err) => {
    expect(classify(err)?.reason).toBe('unavailable');
  });

  test.each([
    ['a constraint violation (a bug: validation lets it through)', dbError('23514')],
    ['a syntax error', dbError('42601')],
    ['a programming error that mentions a timeout', new TypeError('cannot read timeout of undefined')],
    ['null', null],
  ])('%s is not: it stays a 500', (_what, err) => {
    expect(classify(err)).toBeUndefined();
  });
});

describe('catalog API in the passive region (a hot standby, read-only)', () => {
  test('reads are served from the standby; a write through the inactive writer endpoint is a 503', async () => {
    await standby.waitForCatchUp();
    const closed = await freePort(); // the inactive writer endpoint: nothing listens
    const { app } = open(closed, standby.port);
    const read = await app.inject({ method: 'GET', url: '/api/catalog/items/tea-1' });
    expect(read.statusCode).toBe(200);
    const write = await app.inject({
      method: 'PUT',
      url: '/api/catalog/items/tea-2',
      payload: { name: 'x', priceCents: 1 },
    });
    expect(write.statusCode).toBe(503);
    expect(write.json().error).toMatch(/unavailable/);
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().database).toEqual({ readable: true, writable: false });
  });

  test('a writer endpoint that reaches the standby itself: the write is refused as read-only (503)', async () => {
    const { app, store } = open(standby.port, standby.port);
    const write = await app.inject({
      method: 'PUT',
      url: '/api/catalog/items/tea-3',
      payload: { name: 'x', priceCents: 1 },
    });
    expect(write.statusCode).toBe(503);
    expect(write.json()).toEqual({ error: READ_ONLY_MESSAGE });
    // Start-up in the passive region: the table arrives by replication, no migration runs.
    expect(await store.migrate()).toBe('skipped');
  });

  test('no database at all: readiness 503, reads 503, never a 500', async () => {
    const closed = await freePort();
    const { app } = open(closed, closed);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/api/catalog/items' })).statusCode).toBe(503);
  });
});

describe('catalog bundle', () => {
  test("builds the config's catalog artifact with the same esbuild recipe as the reference service (lib/bundling.ts) into one server.js", () => {
    const catalog = staging.services.find((s) => s.name === 'catalog')!;
    const { directory, build } = catalog.artifact;
    expect(directory).toBe('services/catalog');
    const out = bundleFolder(artifactBundle(directory!, build!));
    const check = spawnSync(process.execPath, ['--check', path.join(out, 'server.js')], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('catalog configuration', () => {
  test('lists every problem, naming the variable and the fix', () => {
    expect(() => loadCatalogConfig({ PORT: 'x', DATABASE_SSL: 'maybe', LOG_LEVEL: 'loud' })).toThrow(
      CatalogConfigError,
    );
    try {
      loadCatalogConfig({ PORT: 'x', DATABASE_SSL: 'maybe', LOG_LEVEL: 'loud' });
    } catch (err) {
      expect((err as CatalogConfigError).problems).toEqual([
        'DATABASE_SSL "maybe" must be true or false.',
        'LOG_LEVEL "loud" must be one of fatal, error, warn, info, debug, trace, silent.',
        'PORT "x" must be a whole number from 1 to 65535.',
        'DATABASE_HOST is not set.',
        'DATABASE_READER_HOST is not set.',
        'DATABASE_NAME is not set.',
        'DATABASE_USER is not set.',
        'DATABASE_PASSWORD is not set (or DATABASE_PASSWORD_FILE, or DATABASE_AUTH iam).',
      ]);
    }
  });

  test('with TLS (the default) the CA bundle is required', () => {
    expect(() =>
      loadCatalogConfig({
        PORT: '1',
        DATABASE_HOST: 'h',
        DATABASE_NAME: 'd',
        DATABASE_USER: 'u',
        DATABASE_PASSWORD: 'p',
      }),
    ).toThrow('DATABASE_SSL_CA is not set.');
  });
});
