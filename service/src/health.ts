/**
 * Health: a shallow liveness answer for the load balancer's target health, and a deep readiness check
 * (database, session store, shared files) for Route 53's health checks.
 */
import { performance } from 'node:perf_hooks';
import type { DatabasePool } from './db';
import type { FileStore } from './files';
import type { SessionStore } from './sessions';

/** Whether the process has begun shutting down; health answers 503 from then on. */
export class Lifecycle {
  private drainingSince: number | undefined;

  /** True once {@link beginDrain} has been called. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Marks the start of shutdown. */
  beginDrain(): void {
    this.drainingSince ??= Date.now();
  }
}

/** Result of one deep check. */
export interface CheckResult {
  /** Whether the check passed within the time limit. */
  readonly ok: boolean;
  /** Time taken, in milliseconds. */
  readonly latencyMs: number;
  /** Why it failed. */
  readonly error?: string;
}

/**
 * Result of the check of a store that is a read-only replica in the passive region: the database (a hot standby,
 * an Aurora secondary cluster), the session cache (a Global Datastore secondary) or the shared files (an EFS
 * replication destination). A read-only store passes the check: the passive region serves reads and is a valid
 * failover target. `writable` is present when the check passed.
 */
export interface StoreCheckResult extends CheckResult {
  /** Whether the store accepts writes (false on a replica, a read-only role or a read-only file system). */
  readonly writable?: boolean;
  /** Files only: why they are not writable (EROFS: a replication destination; EACCES or EPERM: permissions). */
  readonly reason?: string;
}

/** Result of the database check. */
export type DatabaseCheckResult = StoreCheckResult;

/** The whole deep check. */
export interface ReadinessReport {
  /** Whether every check passed. */
  readonly ready: boolean;
  /** PostgreSQL. */
  readonly database: DatabaseCheckResult;
  /** Session store. */
  readonly cache: StoreCheckResult;
  /** Shared directory. */
  readonly files: StoreCheckResult;
}

/** Rejects when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function timed<T extends object>(
  check: () => Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<(T & { ok: true; latencyMs: number }) | CheckResult> {
  const start = performance.now();
  try {
    const extra = await withTimeout(check(), timeoutMs, what);
    return { ok: true, ...extra, latencyMs: round(performance.now() - start) };
  } catch (err) {
    return { ok: false, latencyMs: round(performance.now() - start), error: (err as Error).message || String(err) };
  }
}

/** Dependencies of the deep check. */
export interface ReadinessDependencies {
  /** PostgreSQL pool. */
  readonly pool: DatabasePool;
  /** Session store. */
  readonly sessions: SessionStore;
  /** Shared directory. */
  readonly files: FileStore;
  /** Time limit of each check, in milliseconds. */
  readonly timeoutMs: number;
}

/**
 * Runs the three checks in parallel, each with its own time limit. Ready when all three pass, writable or not:
 * the passive region, whose stores are all read-only replicas, is ready to serve reads and to take over.
 */
export async function checkReadiness(deps: ReadinessDependencies): Promise<ReadinessReport> {
  const [database, cache, files] = await Promise.all([
    timed(
      async () => {
        const result = await deps.pool.query<{ writable: boolean }>(
          `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`,
        );
        return { writable: result.rows[0]!.writable };
      },
      deps.timeoutMs,
      'database check',
    ),
    timed(async () => ({ writable: (await deps.sessions.role()) === 'primary' }), deps.timeoutMs, 'cache check'),
    timed(async () => ({ ...(await deps.files.probe()) }), deps.timeoutMs, 'files check'),
  ]);
  return { ready: database.ok && cache.ok && files.ok, database, cache, files };
}
