/**
 * Graceful shutdown: health turns 503 at once, the load balancer gets SHUTDOWN_DRAIN_SECONDS to stop
 * sending traffic, then the listener closes (in-flight requests finish) and the clients close.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DatabasePool } from './db';
import type { Lifecycle } from './health';
import type { PasswordHasher } from './password-hasher';

/** What {@link gracefulShutdown} stops. */
export interface ShutdownTargets {
  /** The application. */
  readonly app: FastifyInstance;
  /** PostgreSQL pool. */
  readonly pool: DatabasePool;
  /** Redis client. */
  readonly redis: Redis;
  /** The password worker pool. */
  readonly passwords: PasswordHasher;
  /** Shutdown state read by the health routes. */
  readonly lifecycle: Lifecycle;
  /** Wait between "health is 503" and closing the listener, in milliseconds. */
  readonly drainMs: number;
}

/** Closes everything in order; resolves when done. The caller enforces the overall time limit. */
export async function gracefulShutdown(targets: ShutdownTargets, reason: string): Promise<void> {
  const { app, pool, redis, passwords, lifecycle, drainMs } = targets;
  lifecycle.beginDrain();
  app.log.info({ reason, drainMs }, 'shutdown: draining');
  if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
  app.log.info('shutdown: closing the listener; in-flight requests finish');
  await app.close();
  await passwords.close();
  await pool.end();
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
  app.log.info('shutdown: done');
}
