/**
 * PostgreSQL: the connection pool and the notes queries.
 */
import * as fs from 'node:fs';
import { Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg';
import type { DatabaseConfig } from './config';
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

/** The `pg` pool options for a configuration (the writer endpoint; `reader`: the reader endpoint). */
export function poolConfig(config: DatabaseConfig, endpoint: 'writer' | 'reader' = 'writer'): PoolConfig {
  return {
    host: endpoint === 'writer' ? config.host : (config.readerHost ?? config.host),
    port: endpoint === 'writer' ? config.port : (config.readerPort ?? config.port),
    database: config.name,
    user: config.user,
    password: config.password,
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
 * The region's database over two endpoints. A new connection goes to the writer endpoint; when that endpoint
 * cannot be reached (it does not resolve in the passive region, where AWS lists the secondary cluster's writer
 * endpoint as inactive; or it refuses or times out), to the reader endpoint, and the writer is tried again after
 * {@link WRITER_RETRY_MS}. So the passive region serves reads, and once it is promoted new connections reach the
 * writer within a few seconds, without a restart. A connection that reports a read-only transaction (SQLSTATE
 * 25006) or breaks is discarded rather than pooled again, so no read-only connection outlives a promotion. Only
 * the opening of a connection falls back: a statement that failed on the writer is never sent again.
 */
export class RegionalPool implements DatabasePool {
  private writerRetryAt = 0;

  constructor(
    private readonly writer: Pool,
    private readonly reader: Pool,
    private readonly log: WarnLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Which endpoint the next connection tries first. */
  get preferred(): 'writer' | 'reader' {
    return this.now() >= this.writerRetryAt ? 'writer' : 'reader';
  }

  async connect(): Promise<PoolClient> {
    if (this.preferred === 'writer') {
      try {
        const client = await this.writer.connect();
        if (this.writerRetryAt !== 0) {
          this.writerRetryAt = 0;
          this.log.info?.({}, 'database writer endpoint reachable again');
        }
        return client;
      } catch (err) {
        if (!isDatabaseConnectionError(err)) throw err;
        if (this.writerRetryAt === 0) {
          this.log.warn(
            { err: { message: (err as Error).message, code: errorCode(err) }, retryMs: WRITER_RETRY_MS },
            'database writer endpoint unreachable; reading through the reader endpoint',
          );
        }
        this.writerRetryAt = this.now() + WRITER_RETRY_MS;
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
      if (isReadOnlyDatabaseError(err) || isDatabaseConnectionError(err)) discard = err as Error;
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
 * is logged and dropped, so the next query opens a fresh one.
 */
export function createPool(config: DatabaseConfig, log: WarnLogger): DatabasePool {
  const make = (endpoint: 'writer' | 'reader'): Pool => {
    const pool = new Pool(poolConfig(config, endpoint));
    pool.on('error', (err) =>
      log.warn({ err: { message: err.message, code: errorCode(err) }, endpoint }, 'idle database connection lost'),
    );
    return pool;
  };
  return config.readerHost === undefined ? make('writer') : new RegionalPool(make('writer'), make('reader'), log);
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

/** The notes table. Every method maps database errors: read-only → 503, unreachable → 503. */
export class NotesRepository {
  constructor(private readonly pool: DatabasePool) {}

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & QueryResultRow>(sql, params)).rows;
    } catch (err) {
      throw mapDatabaseError(err);
    }
  }

  /** Stores a note written by `author`. */
  async create(author: string, text: string): Promise<Note> {
    const rows = await this.query<NoteRow>(
      'INSERT INTO notes (author, text) VALUES ($1, $2) RETURNING id, text, created_at',
      [author, text],
    );
    return toNote(rows[0]!);
  }

  /** The newest notes first. */
  async list(limit: number): Promise<Note[]> {
    const rows = await this.query<NoteRow>('SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map(toNote);
  }

  /** One note, or undefined. */
  async get(id: number): Promise<Note | undefined> {
    const rows = await this.query<NoteRow>('SELECT id, text, created_at FROM notes WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toNote(rows[0]);
  }
}
