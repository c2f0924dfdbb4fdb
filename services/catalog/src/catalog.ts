/**
 * The catalog's data: items in PostgreSQL (Aurora), read from the reader endpoint and written through the
 * writer endpoint. In the passive region the writer endpoint is inactive (a secondary cluster of the Global
 * Database) or the database is read-only: reads go on, writes fail with {@link CatalogUnavailableError}
 * (`read-only`), which the API answers 503.
 */
import * as fs from 'node:fs';
import { DatabaseError, Pool, type PoolClient, type PoolConfig } from 'pg';
import { passwordOption, rdsTokenSigner, type TokenSigner } from '../../../service/src/db-auth';
import { isDatabaseConnectionError, isReadOnlyDatabaseError } from '../../../service/src/errors';
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
    /** `read-only`: a write in the passive region; `unavailable`: the endpoint cannot serve now. */
    public readonly reason: 'read-only' | 'unavailable',
    message: string,
    /** The database's or the driver's error, for the log. */
    public readonly cause?: unknown,
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

/** Key of the transaction-scoped advisory lock the migration holds (a constant: "cata" in ASCII). */
const MIGRATION_LOCK = 0x63617461;

/** The message of a request the database cannot serve now. */
export const UNAVAILABLE_MESSAGE = 'the catalog database is unavailable; try again shortly';

/**
 * SQLSTATEs of a request that may succeed when tried again, besides the connection failures the reference
 * service already recognizes (`isDatabaseConnectionError`): 53 insufficient resources; 57014 statement timeout
 * (the pool's `statement_timeout`); 40001 and 40P01, which a hot standby raises when replay conflicts with a
 * query; 42P01, the table not there yet (a passive region before its first replication, or before the first
 * migration).
 */
const RETRY_CODES = /^(53|57014|40001|40P01|42P01)$/;

/**
 * How a database error reaches the API: a {@link CatalogUnavailableError} (503) for a read-only database or one
 * that cannot serve now; undefined for anything else, which is thrown as is (a bug: 500). The read-only and
 * connection errors are the reference service's (service/src/errors.ts).
 */
export function classify(err: unknown): CatalogUnavailableError | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  if (isReadOnlyDatabaseError(err)) return new CatalogUnavailableError('read-only', READ_ONLY_MESSAGE, err);
  const code = String((err as { code?: unknown }).code ?? '');
  if ((err instanceof DatabaseError && RETRY_CODES.test(code)) || isDatabaseConnectionError(err)) {
    return new CatalogUnavailableError('unavailable', UNAVAILABLE_MESSAGE, err);
  }
  return undefined;
}

function poolOf(config: CatalogDatabaseConfig, host: string, signer: TokenSigner | undefined): Pool {
  const options: PoolConfig = {
    host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: passwordOption(config.credentials, signer) as PoolConfig['password'],
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
  /**
   * Pools on the writer and reader endpoints of `config`; `signer` makes the IAM tokens of `DATABASE_AUTH=iam`
   * (@default - `@aws-sdk/rds-signer`).
   */
  public static connect(config: CatalogDatabaseConfig, signer?: TokenSigner): CatalogStore {
    const tokens = config.credentials.kind === 'iam' ? (signer ?? rdsTokenSigner()) : undefined;
    return new CatalogStore(poolOf(config, config.host, tokens), poolOf(config, config.readerHost, tokens));
  }

  constructor(
    private readonly writer: Pool,
    private readonly reader: Pool,
  ) {}

  private async run<T>(pool: Pool, sql: string, params: unknown[], map: (rows: Row[]) => T): Promise<T> {
    let rows: Row[];
    try {
      rows = (await pool.query(sql, params)).rows;
    } catch (err) {
      throw classify(err) ?? err;
    }
    // Outside the try: a mistake in mapping is a bug (500), never taken for an unavailable database.
    return map(rows);
  }

  /**
   * Creates the table where the database is writable, under a transaction-scoped advisory lock (instances
   * starting together would otherwise race in CREATE TABLE IF NOT EXISTS); `skipped` where it cannot be written
   * now (the passive region, or the database not reachable yet: {@link migrateUntilApplied} tries again).
   */
  public async migrate(): Promise<'applied' | 'skipped'> {
    let client: PoolClient;
    try {
      client = await this.writer.connect();
    } catch (err) {
      if (classify(err)) return 'skipped';
      throw err;
    }
    // pg emits `error` on a checked-out client whose connection fails between queries (a restart or failover:
    // SQLSTATE 57P01); without a listener that ends the process. The next query fails, and the client is discarded.
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(MIGRATION);
      await client.query('COMMIT');
      return 'applied';
    } catch (err) {
      lost ??= err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      if (classify(err)) return 'skipped';
      throw err;
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }

  /**
   * Runs {@link migrate} every `intervalMs` until it applies or `stopped()` says to stop: in the passive region it
   * applies once the region is promoted (the table is already there by replication, so it changes nothing).
   */
  public async migrateUntilApplied(intervalMs: number, stopped: () => boolean): Promise<void> {
    while (!stopped() && (await this.migrate()) === 'skipped') {
      await new Promise((resolve) => setTimeout(resolve, intervalMs).unref());
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

  /** Whether reads can be served: the reader endpoint answers and the table is there. */
  public async readable(): Promise<boolean> {
    return this.run(
      this.reader,
      "SELECT to_regclass('catalog_items') IS NOT NULL AS ready",
      [],
      (rows) => rows[0]?.ready === true,
    ).catch(() => false);
  }

  /**
   * Whether writes can be served: the writer endpoint answers within `timeoutMs` and is not in recovery (a
   * standby). Bounded, so that readiness answers quickly in the passive region, whose inactive writer endpoint
   * may not answer at all.
   */
  public async writable(timeoutMs = 1_000): Promise<boolean> {
    const query = this.run(
      this.writer,
      'SELECT NOT pg_is_in_recovery() AS writable',
      [],
      (rows) => rows[0]?.writable === true,
    ).catch(() => false);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
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
  readonly ready?: boolean;
}

function toItem(row: Row): CatalogItem {
  return { sku: row.sku, name: row.name, priceCents: row.price_cents, updatedAt: row.updated_at.toISOString() };
}
