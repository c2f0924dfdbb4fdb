/**
 * GET /health (shallow, for the load balancer) and GET /health/ready (deep, for Route 53).
 */
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from './db';
import type { ServiceConfig } from './config';
import type { FileStore } from './files';
import { checkReadiness, type Lifecycle } from './health';
import type { SessionStore } from './sessions';
import { schemas } from './validation';

/** What the health routes need. */
export interface HealthRouteDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** Shutdown state. */
  readonly lifecycle: Lifecycle;
  /** PostgreSQL pool. */
  readonly pool: DatabasePool;
  /** Session store. */
  readonly sessions: SessionStore;
  /** Shared directory. */
  readonly files: FileStore;
  /** Called (without waiting) each time the deep check finds the database writable. @default - nothing */
  readonly onDatabaseWritable?: () => void;
}

/** Registers the health routes. */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthRouteDependencies): void {
  const identity = { version: deps.config.version, instanceId: deps.config.instanceId };

  const options = { schema: { querystring: schemas.noQuery } };

  app.get('/health', options, async (_request, reply) => {
    if (deps.lifecycle.draining) return reply.code(503).send({ status: 'draining', ...identity });
    return { status: 'ok', ...identity };
  });

  app.get('/health/ready', options, async (_request, reply) => {
    if (deps.lifecycle.draining) return reply.code(503).send({ status: 'draining', ...identity });
    const report = await checkReadiness({
      pool: deps.pool,
      sessions: deps.sessions,
      files: deps.files,
      timeoutMs: deps.config.healthTimeoutMs,
    });
    if (report.database.writable === true) deps.onDatabaseWritable?.();
    const body = {
      status: report.ready ? 'ready' : 'unavailable',
      database: report.database,
      cache: report.cache,
      files: report.files,
      ...identity,
    };
    return reply.code(report.ready ? 200 : 503).send(body);
  });
}
