/**
 * service/src/db.ts: the region's database over its writer and reader endpoints (RegionalPool), against a real
 * PostgreSQL primary and a hot standby of it. The writer endpoint is a TCP forwarder that first leads nowhere
 * (the inactive writer endpoint of a passive region) and is then pointed at the promoted standby.
 */
import * as path from 'node:path';
import { Pool } from 'pg';
import { TcpProxy } from '../../drill/tcp-proxy';
import type { DatabaseConfig } from '../../service/src/config';
import { createPool, poolConfig, RegionalPool, WRITER_RETRY_MS } from '../../service/src/db';
import { freePort, startPostgresStandby, type PostgresStandby } from '../../support/local-servers';
import { closeAll, startBackends, type Backends } from './helpers';

let backends: Backends;
let standby: PostgresStandby;
let writerEndpoint: TcpProxy;
let config: DatabaseConfig;
const warnings: string[] = [];
const log = { warn: (_obj: object, msg: string) => warnings.push(msg), info: () => undefined };

beforeAll(async () => {
  backends = await startBackends();
  standby = await startPostgresStandby({ dir: path.join(backends.root, 'standby'), primary: backends.pg });
  writerEndpoint = await TcpProxy.start({ host: '127.0.0.1', port: await freePort() });
  config = {
    host: '127.0.0.1',
    port: writerEndpoint.port,
    readerHost: standby.host,
    readerPort: standby.port,
    name: backends.pg.database,
    user: backends.pg.user,
    password: backends.pg.password,
    ssl: false,
  };
}, 60_000);

afterAll(() =>
  closeAll(
    () => writerEndpoint?.close(),
    () => standby?.stop(),
    () => backends?.stop(),
  ),
);

/** The configuration without a reader endpoint. */
const writerOnly = (): DatabaseConfig => ({ ...config, readerHost: undefined, readerPort: undefined });

const inRecovery = async (pool: { query: RegionalPool['query'] }) =>
  (await pool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;

describe('poolConfig and createPool', () => {
  test('the writer and reader endpoints, each with its own port', () => {
    expect(poolConfig(config)).toMatchObject({ host: '127.0.0.1', port: writerEndpoint.port });
    expect(poolConfig(config, 'reader')).toMatchObject({ host: standby.host, port: standby.port });
    expect(poolConfig(writerOnly(), 'reader')).toMatchObject({ host: '127.0.0.1', port: writerEndpoint.port });
  });

  test('a plain pool without a reader endpoint, a RegionalPool with one', async () => {
    const plain = createPool(writerOnly(), log);
    const regional = createPool(config, log);
    expect(plain).toBeInstanceOf(Pool);
    expect(regional).toBeInstanceOf(RegionalPool);
    await Promise.all([plain.end(), regional.end()]);
  });
});

describe('RegionalPool', () => {
  test('reads through the reader endpoint while the writer endpoint leads nowhere, and says so once', async () => {
    let now = 1_000_000;
    const pool = new RegionalPool(new Pool(poolConfig(config)), new Pool(poolConfig(config, 'reader')), log, () => now);
    try {
      warnings.length = 0;
      expect(await inRecovery(pool)).toBe(true);
      expect(pool.preferred).toBe('reader');
      now += 1000;
      expect(await inRecovery(pool)).toBe(true);
      now += WRITER_RETRY_MS;
      expect(pool.preferred).toBe('writer');
      expect(await inRecovery(pool)).toBe(true);
      expect(warnings).toEqual(['database writer endpoint unreachable; reading through the reader endpoint']);
    } finally {
      await pool.end();
    }
  });

  test('a write through the reader is refused read-only and that connection is not pooled again', async () => {
    const reader = new Pool(poolConfig(config, 'reader'));
    const pool = new RegionalPool(new Pool(poolConfig(config)), reader, log);
    try {
      await expect(pool.query('CREATE TABLE refused (id int)')).rejects.toMatchObject({ code: '25006' });
      expect(reader.totalCount).toBe(0);
    } finally {
      await pool.end();
    }
  });

  test('a statement that fails on the writer is not sent again to the reader', async () => {
    const primaryConfig = { ...config, host: backends.pg.host, port: backends.pg.port };
    const reader = new Pool(poolConfig(config, 'reader'));
    const pool = new RegionalPool(new Pool(poolConfig(primaryConfig)), reader, log);
    try {
      await expect(pool.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      expect(reader.totalCount).toBe(0);
      expect(await inRecovery(pool)).toBe(false);
    } finally {
      await pool.end();
    }
  });

  test('after promotion, new connections reach the writer within the retry time and writes succeed', async () => {
    let now = 2_000_000;
    const pool = new RegionalPool(new Pool(poolConfig(config)), new Pool(poolConfig(config, 'reader')), log, () => now);
    try {
      expect(await inRecovery(pool)).toBe(true);
      await standby.promote();
      writerEndpoint.repoint({ host: standby.host, port: standby.port });
      now += WRITER_RETRY_MS;
      await pool.query('CREATE TABLE written_after_promotion (id int)');
      expect(await inRecovery(pool)).toBe(false);
      expect(pool.preferred).toBe('writer');
    } finally {
      await pool.end();
    }
  });
});
