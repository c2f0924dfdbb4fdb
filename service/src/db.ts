/**
 * PostgreSQL: the connection pool and the notes queries.
 */
import * as fs from 'node:fs';
import { Pool, type PoolConfig } from 'pg';
import type { DatabaseConfig } from './config';
import { mapDatabaseError } from './errors';

/** The subset of a logger this module uses. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

/** Time limit to open a connection; a request fails with 503 rather than wait longer. */
const CONNECT_TIMEOUT_MS = 3000;

/** Time limit of one statement on the server. */
const STATEMENT_TIMEOUT_MS = 10_000;

/** The `pg` pool options for a configuration. */
export function poolConfig(config: DatabaseConfig): PoolConfig {
  return {
    host: config.host,
    port: config.port,
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
 * Creates the connection pool. An idle connection that breaks (database restart, failover) emits an
 * error on the pool; it is logged and the pool drops that connection, so the next query opens a fresh one.
 */
export function createPool(config: DatabaseConfig, log: WarnLogger): Pool {
  const pool = new Pool(poolConfig(config));
  pool.on('error', (err) =>
    log.warn({ err: { message: err.message, code: errorCode(err) } }, 'idle database connection lost'),
  );
  return pool;
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
  constructor(private readonly pool: Pool) {}

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & Record<string, unknown>>(sql, params)).rows;
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
