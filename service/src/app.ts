/**
 * Builds the Fastify application from a configuration and already-created clients, so that tests and
 * the entry point (server.ts) build it the same way.
 */
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { DatabasePool } from './db';
import { registerAccessLog } from './access-log';
import type { ServiceConfig } from './config';
import { NotesRepository } from './db';
import { DependencyUnavailableError, HttpError } from './errors';
import { registerFileRoutes } from './file-routes';
import { FileStore } from './files';
import { Lifecycle } from './health';
import { registerHealthRoutes } from './health-routes';
import { registerNoteRoutes } from './note-routes';
import { registerSessionRoutes } from './session-routes';
import { SessionStore } from './sessions';
import { validationMessage } from './validation';

/** Where log lines go: anything with a `write(line)` method. */
export interface LogDestination {
  /** Receives one JSON line. */
  write(line: string): void;
}

/** What {@link buildApp} needs. */
export interface AppDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** PostgreSQL pool (the caller creates and ends it). */
  readonly pool: DatabasePool;
  /** Redis client (the caller creates and closes it). */
  readonly redis: Redis;
  /** Shutdown state shared with the entry point. @default - a new Lifecycle, never draining */
  readonly lifecycle?: Lifecycle;
  /** Log destination. @default - standard output */
  readonly logDestination?: LogDestination;
  /**
   * Called each time the readiness check finds the database writable (the entry point runs pending migrations
   * then, as soon as a promoted region's database accepts writes). @default - nothing
   */
  readonly onDatabaseWritable?: () => void;
}

/** The trust function for X-Forwarded-For: trust exactly `hops` proxies (the ALB is one). */
export function trustProxyHops(hops: number): false | ((address: string, hop: number) => boolean) {
  return hops === 0 ? false : (_address: string, hop: number) => hop < hops;
}

/** Builds the application; call `ready()` or `listen()` on it. */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const { config } = deps;
  const lifecycle = deps.lifecycle ?? new Lifecycle();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { instanceId: config.instanceId, version: config.version },
      stream: deps.logDestination,
    },
    // The access-log hook writes one line per request; Fastify's own request lines would duplicate it.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: trustProxyHops(config.trustedProxyHops),
    bodyLimit: 1024 * 1024,
    // File names may be 128 characters; the router's default limit for a path parameter is 100.
    routerOptions: { maxParamLength: 256 },
    // Between close() and the end of in-flight requests, new requests on kept-alive connections get 503.
    return503OnClosing: true,
    // Errors found before routing (a malformed URL) skip hooks and the error handler: answer them alike.
    frameworkErrors: (error, _request, reply) => {
      reply.header('x-service-version', config.version);
      reply.header('x-instance-id', config.instanceId);
      const statusCode = error.statusCode ?? 400;
      return (reply as FastifyReply)
        .code(statusCode)
        .send({ error: statusCode < 500 ? error.message : 'internal error' });
    },
  });

  const sessions = new SessionStore(deps.redis, config.sessionTtlSeconds);
  const files = new FileStore(config.filesDir);
  const notes = new NotesRepository(deps.pool);

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-service-version', config.version);
    reply.header('x-instance-id', config.instanceId);
  });
  registerAccessLog(app);
  // JSON only (the file routes take application/octet-stream in their own scope); anything else is a 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const { statusCode, message } = clientError(error, request);
    if (error instanceof DependencyUnavailableError) {
      request.log.warn({ dependency: error.dependency, err: describeCause(error.cause) }, message);
    } else if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    // The rest of an oversized upload is not read: close the connection after answering.
    if (statusCode === 413) reply.header('connection', 'close');
    return reply.code(statusCode).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: `route ${request.method} ${request.url.split('?')[0]} not found` });
  });

  registerHealthRoutes(app, {
    config,
    lifecycle,
    pool: deps.pool,
    sessions,
    files,
    onDatabaseWritable: deps.onDatabaseWritable,
  });
  registerSessionRoutes(app, { config, sessions });
  registerNoteRoutes(app, { sessions, notes });
  registerFileRoutes(app, { config, sessions, files });
  return app;
}

function describeCause(cause: unknown): object | undefined {
  if (cause === undefined) return undefined;
  const err = cause as { message?: unknown; code?: unknown };
  return { message: String(err.message ?? cause), code: err.code };
}

/** The status and message the client sees for an error. */
function clientError(
  error: FastifyError | HttpError,
  request: FastifyRequest,
): { statusCode: number; message: string } {
  if (error instanceof HttpError) return { statusCode: error.statusCode, message: error.message };
  if (error.validation) {
    const context = error.validationContext ?? 'request';
    const input = (request as unknown as Record<string, unknown>)[context];
    return { statusCode: 400, message: validationMessage(context, error.validation, input) };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const accepted = request.routeOptions.url?.startsWith('/files/')
        ? 'application/octet-stream'
        : 'application/json';
      const received = request.headers['content-type'] ?? 'none';
      return { statusCode: 415, message: `unsupported content type "${received}": this endpoint takes ${accepted}` };
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, message: 'request body does not match its Content-Length' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, message: 'request body is empty but Content-Type is application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, message: 'request body is too large' };
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { statusCode: 400, message: `request body is not valid JSON: ${error.message}` };
  }
  const statusCode = error.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) return { statusCode, message: error.message };
  return { statusCode: 500, message: 'internal error' };
}
