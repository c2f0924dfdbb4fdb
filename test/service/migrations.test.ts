import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import { MIGRATION_LOCK_KEY, MIGRATIONS, runMigrations, type Migration } from '../../service/src/migrations';
import { scratchDir, startPostgres, type PostgresServer } from '../../support/local-servers';

let root: string;
let pg: PostgresServer;
let nextDatabase = 1;
const pools: Pool[] = [];

beforeAll(async () => {
  root = scratchDir('svc-migrations-');
  pg = await startPostgres({ dir: path.join(root, 'pg') });
});

afterAll(async () => {
  // Stop the server and remove its directory even when closing a pool fails.
  try {
    await Promise.all(pools.map((p) => p.end()));
  } finally {
    try {
      await pg?.stop();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});

/** A new empty database owned by the application user. */
async function freshDatabase(): Promise<string> {
  const name = `mig_${nextDatabase++}`;
  await pg.adminQuery(`CREATE DATABASE ${name} OWNER ${pg.user}`);
  return name;
}

function poolFor(database: string): Pool {
  const pool = new Pool({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database, max: 2 });
  // As in the service: an idle connection that the server drops must not crash the process.
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

function recordingLog() {
  const lines: { msg: string; obj: object }[] = [];
  return {
    lines,
    info: (obj: object, msg: string) => lines.push({ msg, obj }),
    warn: (obj: object, msg: string) => lines.push({ msg, obj }),
  };
}

async function appliedRows(pool: Pool): Promise<number[]> {
  return (await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map(
    (r) => r.version,
  );
}

test('three instances starting at once all succeed and the schema is applied exactly once', async () => {
  const database = await freshDatabase();
  const runs = [poolFor(database), poolFor(database), poolFor(database)];
  const results = await Promise.all(runs.map((pool) => runMigrations(pool, recordingLog())));

  const appliedByRun = results.map((r) => r.applied);
  expect(appliedByRun.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
  expect(appliedByRun.filter((a) => a.length > 0)).toHaveLength(1);
  expect(await appliedRows(runs[0]!)).toEqual([1, 2, 3, 4]);
  const columns = async (table: string) =>
    (
      await runs[0]!.query(
        'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
        [table],
      )
    ).rows.map((r) => r.column_name);
  expect(await columns('notes')).toEqual(['id', 'author', 'text', 'created_at', 'owner_id']);
  expect(await columns('users')).toEqual(['id', 'name', 'password_hash', 'created_at']);
});

test('a second run applies nothing', async () => {
  const pool = poolFor(await freshDatabase());
  expect((await runMigrations(pool, recordingLog())).applied).toEqual([1, 2, 3, 4]);
  expect(await runMigrations(pool, recordingLog())).toEqual({ applied: [], pendingReadOnly: [] });
});

test('applies migrations in version order whatever the list order', async () => {
  const pool = poolFor(await freshDatabase());
  const log = recordingLog();
  const list: Migration[] = [
    { version: 2, name: 'second', sql: 'ALTER TABLE t ADD COLUMN b int' },
    { version: 1, name: 'first', sql: 'CREATE TABLE t (a int)' },
  ];
  expect((await runMigrations(pool, log, list)).applied).toEqual([1, 2]);
  expect(log.lines.filter((l) => l.msg === 'migration applied').map((l) => l.obj)).toEqual([
    { migration: 1, name: 'first' },
    { migration: 2, name: 'second' },
  ]);
});

test('a failing migration rolls back, names itself, and releases the lock', async () => {
  const pool = poolFor(await freshDatabase());
  const list: Migration[] = [
    { version: 1, name: 'good', sql: 'CREATE TABLE good (a int)' },
    { version: 2, name: 'bad', sql: 'CREATE TABLE half (a int); SELECT no_such_column FROM good' },
  ];
  await expect(runMigrations(pool, recordingLog(), list)).rejects.toThrow(
    /^migration 2 \(bad\) failed: column "no_such_column" does not exist/,
  );
  expect(await appliedRows(pool)).toEqual([1]);
  expect((await pool.query("SELECT to_regclass('half') AS t")).rows[0].t).toBeNull();
  const other = poolFor((await pool.query('SELECT current_database() AS d')).rows[0].d);
  const lock = await other.query('SELECT pg_try_advisory_lock($1) AS got', [MIGRATION_LOCK_KEY]);
  expect(lock.rows[0].got).toBe(true);
  await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
});

test('on a read-only database, reports the pending versions instead of failing', async () => {
  const database = await freshDatabase();
  await pg.adminQuery(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
  const log = recordingLog();
  expect(await runMigrations(poolFor(database), log)).toEqual({ applied: [], pendingReadOnly: [1, 2, 3, 4] });
  expect(log.lines).toEqual([
    { msg: 'database is read-only: migrations left to the primary region', obj: { pending: [1, 2, 3, 4] } },
  ]);
});
