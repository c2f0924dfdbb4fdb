/**
 * service/src/maintenance.ts: what start-up could not do on read-only stores (the passive region) is retried
 * every round until the region is promoted, without a restart. The database is made read-only here with the
 * role's `default_transaction_read_only` (a hot standby's promotion is covered by passive-region.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPool, type DatabasePool } from '../../service/src/db';
import { FileStore } from '../../service/src/files';
import { Maintenance, STALE_UPLOAD_AGE_MS } from '../../service/src/maintenance';
import { MIGRATIONS, runMigrations, type Migration } from '../../service/src/migrations';
import { closeAll, silentLog, startBackends, testConfig, type Backends } from './helpers';

let backends: Backends;
const extra: Migration = {
  version: 900,
  name: 'maintenance test table',
  sql: 'CREATE TABLE maintenance_probe (id int)',
};
const migrations = [...MIGRATIONS, extra];

beforeAll(async () => {
  backends = await startBackends();
});

afterAll(() => closeAll(() => backends?.stop()));

function maintenance(pool: DatabasePool, dir = backends.filesDir, migrationsPending = true): Maintenance {
  return new Maintenance({
    pool,
    files: new FileStore(dir),
    filesDir: dir,
    log: silentLog,
    intervalMs: 60_000,
    migrationsPending,
    migrations,
  });
}

test('retries migrations left pending by a read-only database, and applies them once it accepts writes', async () => {
  const role = backends.pg.user;
  await backends.pg.adminQuery(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
  let pool = createPool(testConfig(backends).database, silentLog);
  try {
    expect(await runMigrations(pool, silentLog, migrations)).toEqual({ applied: [], pendingReadOnly: [900] });
    const upkeep = maintenance(pool);
    expect(await upkeep.runOnce()).toEqual({ applied: [], removedUploads: [] });
    await backends.pg.adminQuery(`ALTER ROLE ${role} RESET default_transaction_read_only`);
    // Promotion: connections opened from now on accept writes.
    await pool.end();
    pool = createPool(testConfig(backends).database, silentLog);
    const promoted = maintenance(pool);
    expect(await promoted.runOnce()).toEqual({ applied: [900], removedUploads: [] });
    // Done once: the next round runs no migration.
    expect(await promoted.runOnce()).toEqual({ applied: [], removedUploads: [] });
  } finally {
    await backends.pg.adminQuery(`ALTER ROLE ${role} RESET default_transaction_read_only`);
    await pool.end();
  }
});

test('sweeps temporary files of interrupted uploads older than 24 hours, leaving younger ones', async () => {
  const pool = createPool(testConfig(backends).database, silentLog);
  const old = path.join(backends.filesDir, '.upload-dead-instance');
  const young = path.join(backends.filesDir, '.upload-in-progress');
  fs.writeFileSync(old, 'partial');
  fs.writeFileSync(young, 'partial');
  const past = (Date.now() - STALE_UPLOAD_AGE_MS - 60_000) / 1000;
  fs.utimesSync(old, past, past);
  try {
    expect(await maintenance(pool, backends.filesDir, false).runOnce()).toEqual({
      applied: [],
      removedUploads: ['.upload-dead-instance'],
    });
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  } finally {
    fs.rmSync(young, { force: true });
    await pool.end();
  }
});

test('a files directory that does not exist yet is skipped; start and stop leave no timer running', async () => {
  const pool = createPool(testConfig(backends).database, silentLog);
  const upkeep = maintenance(pool, path.join(backends.root, 'not-mounted'), false);
  try {
    expect(await upkeep.runOnce()).toEqual({ applied: [], removedUploads: [] });
    upkeep.start();
    await upkeep.stop();
  } finally {
    await pool.end();
  }
});

test('readiness finding the database writable runs the pending migrations at once, not at the next interval', async () => {
  const extraNow: Migration = { version: 901, name: 'notified', sql: 'CREATE TABLE maintenance_notified (id int)' };
  const pool = createPool(testConfig(backends).database, silentLog);
  const upkeep = new Maintenance({
    pool,
    files: new FileStore(backends.filesDir),
    filesDir: backends.filesDir,
    log: silentLog,
    intervalMs: 3_600_000,
    migrationsPending: true,
    migrations: [...migrations, extraNow],
  });
  try {
    upkeep.notifyDatabaseWritable(); // not started: nothing runs
    expect(upkeep.pendingMigrations).toBe(true);
    upkeep.start();
    upkeep.notifyDatabaseWritable();
    const deadline = Date.now() + 10_000;
    while (upkeep.pendingMigrations && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(upkeep.pendingMigrations).toBe(false);
    const [row] = await backends.pg.adminQuery("SELECT to_regclass('maintenance_notified') IS NOT NULL AS made");
    expect(row).toEqual({ made: true });
  } finally {
    await upkeep.stop();
    await pool.end();
  }
});
