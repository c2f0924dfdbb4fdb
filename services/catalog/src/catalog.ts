/**
 * The catalog's data: items in PostgreSQL (Aurora), read from the reader endpoint and written through the
 * writer endpoint. In the passive region the writer endpoint is inactive (a secondary cluster of the Global
 * Database) or the database is read-only: reads go on, writes fail with {@link CatalogUnavailableError}
 * (`read-only`), which the API answers 503.
 */
import * as fs from 'node:fs';
import { DatabaseError, Pool, type PoolConfig } from 'pg';
import type { CatalogDatabaseConfig } from './config';

/** One item of the catalog. */
export interface CatalogItem {
  /** Stock-keeping unit: 1 to 64 lower-case letters, digits and dashes. */
  readonly sku: string;
  /** Display name, 1 to 200 characters. */
  readonly name: string;
  /** Price in cents, 0 to 100,000,000. */
  readonly priceCents: number;
  /** Last change, ISO 8601. */
  readonly updatedAt: string;
}

/** The database cannot serve the request now: the API answers 503 with the message. */
export class CatalogUnavailableError extends Error {
  constructor(
    /** `read-only`: a write in the passive region; `unavailable`: the endpoint cannot be reached. */
    public readonly reason: 'read-only' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'CatalogUnavailableError';
  }
}

/** The message of a write refused in the passive region. */
export const READ_ONLY_MESSAGE = 'the catalog is read-only in this region; writes resume after the region switch';

/** The schema: one table, created by the first writable start (the passive region gets it by replication). */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS catalog_items (
  sku text PRIMARY KEY CHECK (sku ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  price_cents integer NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

/** Error codes of a database that refuses writes: read-only transaction, hot standby. */
const READ_ONLY_CODES = new Set(['25006']);
/** Node.js error codes of an endpoint that cannot be reached or dropped the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/** How a database error reaches the API: unavailable (503), or thrown as is (a bug: 500). */
export function classify(err: unknown): CatalogUnavailableError | undefined {
  const code = (err as { code?: unknown }).code;
  if (err instanceof DatabaseError) {
    if (READ_ONLY_CODES.has(String(code))) return new CatalogUnavailableError('read-only', READ_ONLY_MESSAGE);
    // 08: connection exceptions; 57P0x: the server is shutting down or starting; 42P01: no table yet (a passive
    // region whose first replication has not arrived).
    if (/^(08|57P0)/.test(String(code)) || code === '42P01') {
      return new CatalogUnavailableError('unavailable', 'the catalog database is unavailable; try again shortly');
    }
    return undefined;
  }
  if (
    NETWORK_CODES.has(String(code)) ||
    /timeout|terminated|Connection terminated/i.test(String((err as Error)?.message))
  ) {
    return new CatalogUnavailableError('unavailable', 'the catalog database is unavailable; try again shortly');
  }
  return undefined;
}

function poolOf(config: CatalogDatabaseConfig, host: string): Pool {
  const options: PoolConfig = {
    host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.sslCaFile ? { ca: fs.readFileSync(config.sslCaFile, 'utf8'), rejectUnauthorized: true } : undefined,
    max: 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 5_000,
  };
  const pool = new Pool(options);
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** The catalog's queries. */
export class CatalogStore {
  /** Pools on the writer and reader endpoints of `config`. */
  public static connect(config: CatalogDatabaseConfig): CatalogStore {
    return new CatalogStore(poolOf(config, config.host), poolOf(config, config.readerHost));
  }

  constructor(
    private readonly writer: Pool,
    private readonly reader: Pool,
  ) {}

  private async run<T>(pool: Pool, sql: string, params: unknown[], map: (rows: Row[]) => T): Promise<T> {
    try {
      return map((await pool.query(sql, params)).rows);
    } catch (err) {
      throw classify(err) ?? err;
    }
  }

  /** Creates the table where the database is writable; `skipped` where it is not (the passive region). */
  public async migrate(): Promise<'applied' | 'skipped'> {
    try {
      await this.run(this.writer, MIGRATION, [], () => undefined);
      return 'applied';
    } catch (err) {
      if (err instanceof CatalogUnavailableError) return 'skipped';
      throw err;
    }
  }

  /** Up to `limit` items after `after` (by SKU), and whether more follow. */
  public list(limit: number, after?: string): Promise<{ items: CatalogItem[]; more: boolean }> {
    return this.run(
      this.reader,
      `SELECT sku, name, price_cents, updated_at FROM catalog_items WHERE ($2::text IS NULL OR sku > $2)
       ORDER BY sku LIMIT $1`,
      [limit + 1, after ?? null],
      (rows) => ({ items: rows.slice(0, limit).map(toItem), more: rows.length > limit }),
    );
  }

  /** The item, or undefined. */
  public get(sku: string): Promise<CatalogItem | undefined> {
    return this.run(
      this.reader,
      'SELECT sku, name, price_cents, updated_at FROM catalog_items WHERE sku = $1',
      [sku],
      (rows) => (rows[0] ? toItem(rows[0]) : undefined),
    );
  }

  /** Creates or replaces the item; says which. */
  public put(sku: string, name: string, priceCents: number): Promise<{ item: CatalogItem; created: boolean }> {
    return this.run(
      this.writer,
      `INSERT INTO catalog_items (sku, name, price_cents) VALUES ($1, $2, $3)
       ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, updated_at = now()
       RETURNING sku, name, price_cents, updated_at, (xmax = 0) AS created`,
      [sku, name, priceCents],
      (rows) => ({ item: toItem(rows[0]), created: rows[0].created === true }),
    );
  }

  /** Whether reads can be served (the reader endpoint answers). */
  public async readable(): Promise<boolean> {
    return this.run(this.reader, 'SELECT 1', [], () => true).catch(() => false);
  }

  /** Whether writes can be served: the writer endpoint answers and is not in recovery (a standby). */
  public async writable(): Promise<boolean> {
    return this.run(
      this.writer,
      'SELECT NOT pg_is_in_recovery() AS writable',
      [],
      (rows) => rows[0].writable === true,
    ).catch(() => false);
  }

  /** Closes both pools. */
  public async close(): Promise<void> {
    await Promise.all([this.writer.end(), this.reader.end()]);
  }
}

/** A row of `catalog_items` as pg returns it (with `created` on the upsert's RETURNING). */
interface Row {
  readonly sku: string;
  readonly name: string;
  readonly price_cents: number;
  readonly updated_at: Date;
  readonly created?: boolean;
  readonly writable?: boolean;
}

function toItem(row: Row): CatalogItem {
  return { sku: row.sku, name: row.name, priceCents: row.price_cents, updatedAt: row.updated_at.toISOString() };
}
