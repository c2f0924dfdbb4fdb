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
import { RequestTracker } from './access-log';
import { Accounts } from './accounts';
import type { ServiceConfig } from './config';
import { ConnectionGuard } from './connections';
import { NotesRepository } from './db';
import { DatabaseInputError, DependencyUnavailableError, HttpError, RetryLaterError } from './errors';
import { registerFileRoutes } from './file-routes';
import { FileStore } from './files';
import { Lifecycle } from './health';
import { registerHealthRoutes } from './health-routes';
import { registerNoteRoutes } from './note-routes';
import type { PasswordHasher } from './password-hasher';
import { registerSessionRoutes } from './session-routes';
import { SessionStore } from './sessions';
import { SignInLimits } from './sign-in-limits';
import { UsersRepository } from './users';
import { parseJsonBody } from './json-body';
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
  /** The password worker pool (the caller creates and closes it). */
  readonly passwords: PasswordHasher;
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

/** Longest path parameter the router accepts: longer than any request line Node accepts (16 KiB). */
export const MAX_PARAM_LENGTH = 16 * 1024;

/** Interval of Node's checks of the head and request time limits: a fraction of the shorter one, at most 1 s. */
export function timeoutCheckIntervalMs(config: Pick<ServiceConfig, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4)));
}

/** Longest part of a client's URL echoed in an error message. */
const MAX_MESSAGE_LENGTH = 300;

/** The message of a request refused while the service shuts down. */
export const SHUTTING_DOWN_MESSAGE = 'service is shutting down; retry (another instance will answer)';

/** Builds the application; call `ready()` or `listen()` on it. */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const { config } = deps;
  const lifecycle = deps.lifecycle ?? new Lifecycle();
  const tracker = new RequestTracker(config.trustedProxyHops);
  // The guard logs through the app's logger, which exists once Fastify() returns (before any connection).
  const guard = new ConnectionGuard(config, tracker, () => app.log);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { instanceId: config.instanceId, version: config.version },
      stream: deps.logDestination,
    },
    // The access log (access-log.ts) writes one line per request; Fastify's own request lines would duplicate it.
    logController: new LogController({ disableRequestLogging: true }),
    // The client IP is derived by client-ip.ts (valid addresses only); request.ip stays the connection's peer.
    trustProxy: false,
    // Routes open to anyone take small bodies; POST /notes (signed in) and uploads set their own limits.
    bodyLimit: config.maxPublicBodyBytes,
    // Strict schemas: an unknown field or a wrong type is a 400 naming it, never dropped or coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Any name that fits in a request line reaches its route and is validated there (400), never a 414.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Requests arriving on kept-alive connections while the app closes get a 503 from the onRequest hook below,
    // with the service headers and an access-log line, rather than Fastify's bare one.
    return503OnClosing: false,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.idleTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: timeoutCheckIntervalMs(config),
      // Node answers a missing Host itself, without the service headers or a log line: the hook below does.
      requireHostHeader: false,
    },
    clientErrorHandler: guard.onClientError,
    // Errors found before routing (a malformed URL) skip hooks and the error handler: answer them alike.
    frameworkErrors: (error, request, reply) => {
      tracker.begin(request, reply);
      tracker.markAnswered(request);
      reply.header('x-service-version', config.version);
      reply.header('x-instance-id', config.instanceId);
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return (reply as FastifyReply)
          .code(400)
          .send({ error: `a path segment is longer than ${MAX_PARAM_LENGTH} characters` });
      }
      const statusCode = error.statusCode ?? 400;
      return (reply as FastifyReply)
        .code(statusCode)
        .send({ error: statusCode < 500 ? error.message.slice(0, MAX_MESSAGE_LENGTH) : 'internal error' });
    },
  });
  guard.install(app.server);

  const sessions = new SessionStore(deps.redis, config.sessionTtlSeconds);
  const files = new FileStore(config.filesDir);
  const notes = new NotesRepository(deps.pool);
  const accounts = new Accounts({
    users: new UsersRepository(deps.pool),
    hasher: deps.passwords,
    limits: new SignInLimits(deps.redis, config.signInLimits),
  });

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // First: the access log reads the client address as the request arrives.
  tracker.register(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-service-version', config.version);
    reply.header('x-instance-id', config.instanceId);
    if (closing) {
      reply.header('connection', 'close');
      done(new HttpError(503, SHUTTING_DOWN_MESSAGE));
      return;
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      done(new HttpError(400, 'Host header is required (HTTP/1.1)'));
      return;
    }
    done();
  });
  // JSON only (the file routes take application/octet-stream in their own scope); anything else is a 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', (request, payload, done) => {
    parseJsonBody(request, payload, tracker.signal(request)).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const { statusCode, message } = clientError(error, request);
    if (error instanceof DependencyUnavailableError) {
      request.log.warn({ dependency: error.dependency, err: describeCause(error.cause) }, message);
    } else if (error instanceof RetryLaterError) {
      // A limit reached (429) or every password worker busy (503): load shed as designed, not a fault.
      const level = statusCode >= 500 ? 'warn' : 'info';
      request.log[level]({ retryAfterSeconds: error.retryAfterSeconds }, message);
    } else if (error instanceof DatabaseInputError) {
      request.log.info({ sqlState: error.sqlState }, 'database refused the request data');
    } else if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    // The rest of a body that was not read (an oversized upload, a request refused before its body, a late body)
    // is not read: close the connection after answering.
    if (statusCode === 413 || request.raw.complete === false) reply.header('connection', 'close');
    if (error instanceof RetryLaterError) reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.code(statusCode).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!.slice(0, MAX_MESSAGE_LENGTH);
    return reply.code(404).send({ error: `route ${request.method} ${path} not found` });
  });

  registerHealthRoutes(app, {
    config,
    lifecycle,
    pool: deps.pool,
    sessions,
    files,
    onDatabaseWritable: deps.onDatabaseWritable,
  });
  registerSessionRoutes(app, { config, sessions, accounts, tracker });
  registerNoteRoutes(app, { config, sessions, notes });
  registerFileRoutes(app, { config, sessions, files, tracker });
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
      const received = (request.headers['content-type'] ?? 'none').slice(0, 100);
      return { statusCode: 415, message: `unsupported content type "${received}": this endpoint takes ${accepted}` };
    }
    default:
      break;
  }
  const statusCode = error.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) return { statusCode, message: error.message };
  return { statusCode: 500, message: 'internal error' };
}
