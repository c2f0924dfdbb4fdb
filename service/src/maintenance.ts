/**
 * Periodic upkeep that makes an instance of the passive region take up its writes by itself once the region is
 * promoted, without a restart: start-up cannot apply migrations to a read-only database or remove the temporary
 * files of interrupted uploads from a read-only file system, so both are retried every interval until they can
 * be done.
 */
import * as fs from 'node:fs';
import type { DatabasePool } from './db';
import type { FileStore } from './files';
import { MIGRATIONS, type Migration, type MigrationLogger, runMigrations } from './migrations';

/** Age after which a temporary upload file is considered abandoned (its instance died mid-upload): 24 hours. */
export const STALE_UPLOAD_AGE_MS = 24 * 3600 * 1000;

/** What {@link Maintenance} works on. */
export interface MaintenanceDependencies {
  /** PostgreSQL pool. */
  readonly pool: DatabasePool;
  /** The shared files. */
  readonly files: FileStore;
  /** The shared files' directory (swept only once it exists). */
  readonly filesDir: string;
  /** Log of what each round did. */
  readonly log: MigrationLogger;
  /** Time between rounds, in milliseconds. */
  readonly intervalMs: number;
  /** Whether migrations are still pending because the database was read-only at start-up. */
  readonly migrationsPending: boolean;
  /** The migrations. @default - the service's ({@link MIGRATIONS}) */
  readonly migrations?: readonly Migration[];
}

/** What one round did. */
export interface MaintenanceRound {
  /** Migration versions applied (the database became writable). */
  readonly applied: number[];
  /** Temporary upload files removed. */
  readonly removedUploads: string[];
}

/** Runs a round every interval (the timer never keeps the process alive) until {@link stop}. */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private migrationsPending: boolean;
  private running: Promise<MaintenanceRound> | undefined;

  constructor(private readonly deps: MaintenanceDependencies) {
    this.migrationsPending = deps.migrationsPending;
  }

  /** Starts the rounds. */
  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.deps.intervalMs).unref();
  }

  /** Stops the rounds; resolves when a round in progress has finished. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * Called when the readiness check finds the database writable: if migrations are still pending (the region
   * was just promoted), runs a round now rather than at the next interval. Does nothing otherwise.
   */
  notifyDatabaseWritable(): void {
    if (this.migrationsPending && this.timer !== undefined) void this.runOnce();
  }

  /** Whether migrations are still pending because the database was read-only. */
  get pendingMigrations(): boolean {
    return this.migrationsPending;
  }

  /** One round (never two at once): pending migrations if the database now accepts them, then the sweep. */
  runOnce(): Promise<MaintenanceRound> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<MaintenanceRound> {
    const { log } = this.deps;
    let applied: number[] = [];
    if (this.migrationsPending) {
      try {
        const result = await runMigrations(this.deps.pool, log, this.deps.migrations ?? MIGRATIONS);
        applied = result.applied;
        if (result.pendingReadOnly.length === 0) {
          this.migrationsPending = false;
          log.info({ applied }, 'database writable: pending migrations done');
        }
      } catch (err) {
        log.warn({ err: { message: (err as Error).message } }, 'maintenance: migrations failed; retrying');
      }
    }
    let removedUploads: string[] = [];
    if (fs.existsSync(this.deps.filesDir)) {
      removedUploads = await this.deps.files.removeStaleUploads(STALE_UPLOAD_AGE_MS).catch(() => []);
      if (removedUploads.length > 0) {
        log.info({ removed: removedUploads }, 'removed temporary files of interrupted uploads');
      }
    }
    return { applied, removedUploads };
  }
}
