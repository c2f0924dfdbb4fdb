/**
 * Entry point: reads the configuration, connects, applies migrations, listens, and shuts down
 * gracefully on SIGTERM or SIGINT. The same file (the one bundle the deploy ships) is the entry of the password
 * worker threads: in a thread started with the password worker's `workerData` it runs the hashing loop instead.
 */
import * as fs from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { buildApp } from './app';
import { ConfigError, loadConfig, redactedConfig, type ServiceConfig } from './config';
import { createPool } from './db';
import { isDatabaseConnectionError } from './errors';
import { FileStore } from './files';
import { Lifecycle } from './health';
import { Maintenance, STALE_UPLOAD_AGE_MS } from './maintenance';
import { runMigrations, type MigrationResult } from './migrations';
import { PasswordHasher } from './password-hasher';
import { isPasswordWorker, runPasswordWorker } from './passwords';
import { createRedis } from './sessions';
import { gracefulShutdown } from './shutdown';

/** How long start-up keeps retrying migrations while the database is unreachable. */
const STARTUP_DATABASE_WAIT_MS = 60_000;

function readConfig(): ServiceConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

let stopping = false;

async function main(): Promise<void> {
  const config = readConfig();
  const lifecycle = new Lifecycle();
  // The app's logger is the process's logger; the clients log through it too.
  let log: { warn(obj: object, msg: string): void } = { warn: () => undefined };
  const logProxy = { warn: (obj: object, msg: string) => log.warn(obj, msg) };
  const pool = createPool(config.database, logProxy);
  const redis = createRedis(config.redis, logProxy);
  // The workers run this file (the bundle in production, server.ts under tsx in development), each started at the
  // first sign-up or sign-in that needs it.
  const passwords = new PasswordHasher({
    entry: __filename,
    workers: config.passwordHashWorkers,
    maxQueue: config.passwordHashQueue,
    log: logProxy,
  });
  let maintenance: Maintenance | undefined = undefined;
  // Migrations left pending by a read-only database run as soon as readiness finds it writable (promotion).
  const app = buildApp({
    config,
    pool,
    redis,
    passwords,
    lifecycle,
    onDatabaseWritable: () => maintenance?.notifyDatabaseWritable(),
  });
  log = app.log;
  app.log.info({ config: redactedConfig(config) }, 'starting');

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      app.log.error({ timeoutSeconds: config.shutdownTimeoutSeconds }, 'shutdown: time limit reached, exiting');
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    const stopped = maintenance?.stop() ?? Promise.resolve();
    stopped
      .then(() =>
        gracefulShutdown(
          { app, pool, redis, passwords, lifecycle, drainMs: config.shutdownDrainSeconds * 1000 },
          signal,
        ),
      )
      .then(
        () => {
          clearTimeout(timer);
          process.exit(0);
        },
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  if (!fs.existsSync(config.filesDir)) {
    app.log.warn({ filesDir: config.filesDir }, 'FILES_DIR does not exist yet; readiness reports it until it does');
  } else {
    const removed = await new FileStore(config.filesDir).removeStaleUploads(STALE_UPLOAD_AGE_MS).catch(() => []);
    if (removed.length > 0) app.log.info({ removed }, 'removed temporary files of interrupted uploads');
  }
  const migrations = await migrateWithRetry(config, pool, app.log, () => stopping);
  if (stopping) return;
  await app.listen({ port: config.port, host: config.host });
  // Read-only stores at start-up (the passive region): pending migrations and the upload sweep are retried
  // until the region is promoted and they succeed, without a restart.
  maintenance = new Maintenance({
    pool,
    files: new FileStore(config.filesDir),
    filesDir: config.filesDir,
    log: app.log,
    intervalMs: config.maintenanceIntervalSeconds * 1000,
    migrationsPending: migrations.pendingReadOnly.length > 0,
  });
  maintenance.start();
}

async function migrateWithRetry(
  config: ServiceConfig,
  pool: ReturnType<typeof createPool>,
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
  stopping: () => boolean,
): Promise<MigrationResult> {
  const deadline = Date.now() + STARTUP_DATABASE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await runMigrations(pool, log);
      log.info({ applied: result.applied, pendingReadOnly: result.pendingReadOnly }, 'migrations done');
      return result;
    } catch (err) {
      if (stopping() || !isDatabaseConnectionError(err) || Date.now() > deadline) throw err;
      log.warn(
        {
          attempt,
          database: `${config.database.host}:${config.database.port}`,
          err: { message: (err as Error).message },
        },
        'migrations: database not reachable yet, retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 500, 5000)));
    }
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    // During a shutdown, start-up steps fail because their clients were closed: the shutdown exits.
    if (stopping) return;
    process.stderr.write(`start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else if (isPasswordWorker(workerData)) {
  runPasswordWorker();
} else {
  throw new Error('server.ts started in a worker thread that is not a password worker');
}
