/**
 * PostgreSQL: the connection pool and the notes queries.
 */
import * as fs from 'node:fs';
import { Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg';
import type { DatabaseConfig } from './config';
import { passwordOption, rdsTokenSigner, type TokenSigner } from './db-auth';
import { isDatabaseConnectionError, isReadOnlyDatabaseError, mapDatabaseError } from './errors';

/** The subset of a logger this module uses. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

/** Time limit to open a connection; a request fails with 503 rather than wait longer. */
const CONNECT_TIMEOUT_MS = 3000;

/** Time limit of one statement on the server. */
const STATEMENT_TIMEOUT_MS = 10_000;

/** How long the writer endpoint is left alone after it could not be reached, in milliseconds. */
export const WRITER_RETRY_MS = 5000;

/**
 * What the service uses of a `pg` pool: a plain {@link Pool}, or a {@link RegionalPool} over the region's writer
 * and reader endpoints.
 */
export interface DatabasePool {
  /** Runs one statement on a connection of the pool. */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  /** A dedicated connection; release it. */
  connect(): Promise<PoolClient>;
  /** Closes every connection. */
  end(): Promise<void>;
}

/**
 * The `pg` pool options for a configuration (the writer endpoint; `reader`: the reader endpoint). The password is
 * asked for each new connection (./db-auth.ts); `signer` makes IAM tokens (@default - `@aws-sdk/rds-signer`).
 */
export function poolConfig(
  config: DatabaseConfig,
  endpoint: 'writer' | 'reader' = 'writer',
  signer?: TokenSigner,
): PoolConfig {
  return {
    host: endpoint === 'writer' ? config.host : (config.readerHost ?? config.host),
    port: endpoint === 'writer' ? config.port : (config.readerPort ?? config.port),
    database: config.name,
    user: config.user,
    password: passwordOption(config.credentials, signer) as PoolConfig['password'],
    ssl: config.ssl
      ? {
          rejectUnauthorized: true,
          ca: config.sslCaPath === undefined ? undefined : fs.readFileSync(config.sslCaPath, 'utf8'),
        }
      : false,
    max: 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'ha-web-service',
  };
}

/**
 * Error codes of a connection attempt that found no server behind the endpoint (only ever seen here while a
 * connection opens: a reset or a broken pipe then means something in front of the endpoint, such as a proxy,
 * had nothing to forward to).
 */
const ENDPOINT_UNAVAILABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * Whether opening a connection failed because nothing answers at the endpoint: the name does not resolve (an
 * inactive Aurora endpoint has no address), the address refuses or is unreachable, the connection is reset or
 * cut while opening, or it did not open within the connect timeout. A full pool (pg-pool's "timeout exceeded when trying
 * to connect"), a refused password or too many connections are not: the writer is there, so falling back to the
 * reader would serve stale reads and refuse writes in the active region.
 */
export function isEndpointUnavailable(err: unknown): boolean {
  const code = errorCode(err);
  if (code !== undefined && ENDPOINT_UNAVAILABLE_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /connection terminated unexpectedly|connection terminated due to connection timeout/i.test(message);
}

/**
 * The region's database over two endpoints. A new connection goes to the writer endpoint; when nothing answers
 * there ({@link isEndpointUnavailable}: in the passive region the name does not resolve, as AWS lists a
 * secondary cluster's writer endpoint as inactive), to the reader endpoint. While the writer is unreachable, one
 * request at a time tries it again every {@link WRITER_RETRY_MS} and the others go straight to the reader, so a
 * passive region serves reads at the reader's speed, and once it is promoted new connections reach the writer
 * within a few seconds, without a restart. A writer connection that reports a read-only transaction (SQLSTATE
 * 25006: the endpoint still names a demoted instance) or breaks is discarded rather than pooled again; reader
 * connections are read-only by design and stay. Only the opening of a connection falls back: a statement that
 * failed on the writer is never sent again.
 */
export class RegionalPool implements DatabasePool {
  /** 0 while the writer answers; else when it may be tried again (drill clock of {@link now}). */
  private writerRetryAt = 0;
  private probing = false;
  private readonly fromWriter = new WeakSet<PoolClient>();

  constructor(
    private readonly writer: Pool,
    private readonly reader: Pool,
    private readonly log: WarnLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Which endpoint the next connection tries first. */
  get preferred(): 'writer' | 'reader' {
    if (this.writerRetryAt === 0) return 'writer';
    return this.now() >= this.writerRetryAt && !this.probing ? 'writer' : 'reader';
  }

  async connect(): Promise<PoolClient> {
    return guardCheckedOut(await this.open(), this.log);
  }

  private async open(): Promise<PoolClient> {
    if (this.preferred === 'writer') {
      const probe = this.writerRetryAt !== 0;
      this.probing ||= probe;
      try {
        const client = await this.writer.connect();
        this.fromWriter.add(client);
        if (probe) {
          this.writerRetryAt = 0;
          this.log.info?.({}, 'database writer endpoint reachable again');
        }
        return client;
      } catch (err) {
        if (!isEndpointUnavailable(err)) throw err;
        if (this.writerRetryAt === 0) {
          this.log.warn(
            { err: { message: (err as Error).message, code: errorCode(err) }, retryMs: WRITER_RETRY_MS },
            'database writer endpoint unreachable; reading through the reader endpoint',
          );
        }
        this.writerRetryAt = this.now() + WRITER_RETRY_MS;
      } finally {
        if (probe) this.probing = false;
      }
    }
    return this.reader.connect();
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    const client = await this.connect();
    let discard: Error | undefined;
    try {
      return await client.query<R>(text, values);
    } catch (err) {
      const readOnlyWriter = isReadOnlyDatabaseError(err) && this.fromWriter.has(client);
      if (readOnlyWriter || isDatabaseConnectionError(err)) discard = err as Error;
      throw err;
    } finally {
      client.release(discard);
    }
  }

  /** Closes both pools. */
  async end(): Promise<void> {
    await Promise.all([this.writer.end(), this.reader.end()]);
  }
}

/**
 * Creates the connection pool: over the writer endpoint only, or a {@link RegionalPool} when a reader endpoint
 * is configured. An idle connection that breaks (database restart, failover) emits an error on its pool; it
 * is logged and dropped, so the next query opens a fresh one. `signer` makes the IAM tokens of `DATABASE_AUTH=iam`
 * (@default - `@aws-sdk/rds-signer`, one per endpoint, shared by both pools).
 */
export function createPool(config: DatabaseConfig, log: WarnLogger, signer?: TokenSigner): DatabasePool {
  const tokens = config.credentials.kind === 'iam' ? (signer ?? rdsTokenSigner()) : undefined;
  const make = (endpoint: 'writer' | 'reader'): Pool => {
    const pool = new Pool(poolConfig(config, endpoint, tokens));
    pool.on('error', (err) =>
      log.warn({ err: { message: err.message, code: errorCode(err) }, endpoint }, 'idle database connection lost'),
    );
    return pool;
  };
  if (config.readerHost !== undefined) return new RegionalPool(make('writer'), make('reader'), log);
  const pool = make('writer');
  return {
    query: (text, values) => pool.query(text, values),
    connect: async () => guardCheckedOut(await pool.connect(), log),
    end: () => pool.end(),
  };
}

/**
 * A checked-out connection with a listener for its `error` event until it is released. pg emits `error` on a
 * client whose connection fails while no query runs on it (a database restart or failover terminates it:
 * SQLSTATE 57P01), and pg-pool listens only while the client is idle in the pool or inside `pool.query`: a
 * checked-out client without a listener crashed the process (found by the drill with a separate reader endpoint).
 * The error is logged; the client's next query fails, and the caller releases it with the error, which discards it.
 */
export function guardCheckedOut(client: PoolClient, log: WarnLogger): PoolClient {
  const onError = (err: Error) =>
    log.warn(
      { err: { message: err.message, code: errorCode(err) } },
      'database connection lost while checked out; it is discarded',
    );
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) => {
    client.off('error', onError);
    release(err);
  };
  return client;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A note as the API returns it. */
export interface Note {
  /** Its ID. */
  readonly id: number;
  /** Its text. */
  readonly text: string;
  /** When it was written, ISO 8601. */
  readonly createdAt: string;
}

interface NoteRow {
  id: string;
  text: string;
  created_at: Date;
}

function toNote(row: NoteRow): Note {
  return { id: Number(row.id), text: row.text, createdAt: row.created_at.toISOString() };
}

/**
 * The notes table. Every note belongs to the account that wrote it (`owner_id`, migration 4), and every query
 * reads only the caller's notes: another account's note is not found, as a missing one is. Every method maps
 * database errors: read-only → 503, unreachable → 503.
 */
export class NotesRepository {
  constructor(private readonly pool: DatabasePool) {}

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & QueryResultRow>(sql, params)).rows;
    } catch (err) {
      throw mapDatabaseError(err);
    }
  }

  /** Stores a note of account `ownerId` (user name `author`). */
  async create(ownerId: string, author: string, text: string): Promise<Note> {
    const rows = await this.query<NoteRow>(
      'INSERT INTO notes (owner_id, author, text) VALUES ($1, $2, $3) RETURNING id, text, created_at',
      [ownerId, author, text],
    );
    return toNote(rows[0]!);
  }

  /** The newest notes of account `ownerId` first. */
  async list(ownerId: string, limit: number): Promise<Note[]> {
    const rows = await this.query<NoteRow>(
      'SELECT id, text, created_at FROM notes WHERE owner_id = $1 ORDER BY id DESC LIMIT $2',
      [ownerId, limit],
    );
    return rows.map(toNote);
  }

  /** One note of account `ownerId`, or undefined (missing, or another account's). */
  async get(ownerId: string, id: number): Promise<Note | undefined> {
    const rows = await this.query<NoteRow>('SELECT id, text, created_at FROM notes WHERE id = $1 AND owner_id = $2', [
      id,
      ownerId,
    ]);
    return rows[0] === undefined ? undefined : toNote(rows[0]);
  }
}
