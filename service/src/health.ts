/**
 * Health: a shallow liveness answer for the load balancer's target health, and a deep readiness check
 * (database, session store, shared files) for Route 53's health checks.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
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

/** Result of the database check. */
export interface DatabaseCheckResult extends CheckResult {
  /** Whether the database accepts writes (false on a replica or a read-only role). */
  readonly writable?: boolean;
}

/** The whole deep check. */
export interface ReadinessReport {
  /** Whether every check passed. */
  readonly ready: boolean;
  /** PostgreSQL. */
  readonly database: DatabaseCheckResult;
  /** Session store. */
  readonly cache: CheckResult;
  /** Shared directory. */
  readonly files: CheckResult;
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
  readonly pool: Pool;
  /** Session store. */
  readonly sessions: SessionStore;
  /** Shared directory. */
  readonly files: FileStore;
  /** Time limit of each check, in milliseconds. */
  readonly timeoutMs: number;
}

/** Runs the three checks in parallel, each with its own time limit. */
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
    timed(
      async () => {
        await deps.sessions.ping();
        return {};
      },
      deps.timeoutMs,
      'cache check',
    ),
    timed(
      async () => {
        await deps.files.probe();
        return {};
      },
      deps.timeoutMs,
      'files check',
    ),
  ]);
  return { ready: database.ok && cache.ok && files.ok, database, cache, files };
}
