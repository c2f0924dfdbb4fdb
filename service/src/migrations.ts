/**
 * Schema migrations, applied at start-up. Several instances may start at once (an Auto Scaling group
 * launching, an instance refresh): a session-level advisory lock makes them take turns, and each
 * migration runs in its own transaction together with its row in `schema_migrations`.
 */
import type { PoolClient } from 'pg';
import type { DatabasePool } from './db';

/** One numbered schema change. */
export interface Migration {
  /** Order of application; never reuse or renumber a version once released. */
  readonly version: number;
  /** Short description, stored with the version. */
  readonly name: string;
  /** The SQL, run in one transaction. */
  readonly sql: string;
}

/** The service's migrations, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create notes',
    sql: `CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      author text NOT NULL,
      text text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
  {
    version: 2,
    name: 'limit note length',
    sql: 'ALTER TABLE notes ADD CONSTRAINT notes_text_length CHECK (char_length(text) BETWEEN 1 AND 10000)',
  },
  {
    // User names are unique whatever their case (`Alice` cannot sign up beside `alice`); the stored spelling is
    // the one given at sign-up. password_hash is a PHC-encoded argon2id string (passwords.ts).
    version: 3,
    name: 'create users',
    sql: `CREATE TABLE users (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL CONSTRAINT users_name_format CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_name_key ON users (lower(name))`,
  },
  {
    // Notes written before accounts existed have no owner: no account reads them.
    version: 4,
    name: 'notes owned by accounts',
    sql: `ALTER TABLE notes ADD COLUMN owner_id bigint REFERENCES users (id);
    CREATE INDEX notes_owner_id_id ON notes (owner_id, id)`,
  },
];

/** Key of the advisory lock that serialises migrations (any constant unique to this service). */
export const MIGRATION_LOCK_KEY = 7_312_004_211;

/** What a run did. */
export interface MigrationResult {
  /** Versions this run applied. */
  readonly applied: number[];
  /** Versions not applied because the database is read-only (secondary region); empty otherwise. */
  readonly pendingReadOnly: number[];
}

/** The subset of a logger this module uses. */
export interface MigrationLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Applies the migrations not yet applied, under the advisory lock, on one dedicated connection.
 *
 * On a read-only database (the secondary region's replica) nothing can be written: the schema arrives by
 * replication from the primary, so the pending versions are reported and the service starts anyway.
 */
export async function runMigrations(
  pool: DatabasePool,
  log: MigrationLogger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await applyPending(client, ordered, log);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A connection that failed may still hold the lock: destroy it rather than return it to the pool.
    client.release(broken);
  }
}

async function applyPending(
  client: PoolClient,
  ordered: readonly Migration[],
  log: MigrationLogger,
): Promise<MigrationResult> {
  const state = await client.query<{ read_only: boolean; has_table: boolean }>(
    `SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only,
            to_regclass('schema_migrations') IS NOT NULL AS has_table`,
  );
  const { read_only: readOnly, has_table: hasTable } = state.rows[0]!;
  if (readOnly) {
    const done = hasTable ? await appliedVersions(client) : new Set<number>();
    const pending = ordered.filter((m) => !done.has(m.version)).map((m) => m.version);
    if (pending.length > 0) {
      log.warn({ pending }, 'database is read-only: migrations left to the primary region');
    }
    return { applied: [], pendingReadOnly: pending };
  }

  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const done = await appliedVersions(client);
  const applied: number[] = [];
  for (const migration of ordered) {
    if (done.has(migration.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    applied.push(migration.version);
    log.info({ migration: migration.version, name: migration.name }, 'migration applied');
  }
  return { applied, pendingReadOnly: [] };
}

async function appliedVersions(client: PoolClient): Promise<Set<number>> {
  const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.rows.map((r) => r.version));
}
