/**
 * The catalog API: a read-mostly HTTP API under `/api/catalog/`, behind the environment's shared load balancer.
 *
 * - `GET /api/catalog/items?limit=<1-100>&after=<sku>`: items in SKU order, `{ items, next }` (`next` is the
 *   `after` of the next page, or null).
 * - `GET /api/catalog/items/<sku>`: one item, 404 when there is none.
 * - `PUT /api/catalog/items/<sku>` `{ "name": string, "priceCents": integer }`: creates (201) or replaces (200).
 * - `GET /health`: the process answers (the load balancer's check); 503 while it drains before it stops.
 *   `GET /health/ready`: reads can be served (the reader answers and the table is there), with
 *   `database.writable` saying whether writes can (false in the passive region); 503 when reads cannot, or while
 *   the service drains.
 *
 * Bad input is a 400 naming what is wrong (unknown fields, wrong types and values out of range are refused, never
 * dropped or coerced); a write in the passive region, or an unreachable database, is a 503 with the reason;
 * anything else is a 500, logged. Every answer carries `x-service-version` and `x-instance-id`, and every request
 * leaves one access log line with the client's IP address (the `TRUSTED_PROXY_HOPS`-th address from the right of
 * `X-Forwarded-For`, only when it is an IP address; else the peer's).
 */
import { isIP } from 'node:net';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { CatalogStore, CatalogUnavailableError } from './catalog';
import type { CatalogConfig } from './config';

/** What the API needs. */
export interface CatalogAppOptions {
  readonly config: CatalogConfig;
  readonly store: CatalogStore;
  /** Whether the service is draining before it stops: readiness then fails. */
  readonly draining?: () => boolean;
  /** Where log lines go (pino destination); default standard output. */
  readonly logStream?: { write(msg: string): void };
}

const SKU = '^[a-z0-9][a-z0-9-]{0,63}$';

/** The client's address: the proxy-reported one when it is an IP address, else the connection's peer. */
export function clientIp(request: FastifyRequest): string {
  return isIP(request.ip) ? request.ip : (request.socket.remoteAddress ?? 'unknown');
}

/** Builds the API (not listening). */
export function buildCatalogApp(options: CatalogAppOptions): FastifyInstance {
  const { config, store } = options;
  const app = Fastify({
    logger: { level: config.logLevel, stream: options.logStream },
    // One access line per request (below); Fastify's own request lines would duplicate it.
    logController: new LogController({ disableRequestLogging: true }),
    // proxy-addr's hop 0 is the connection's peer: trust the first `hops` of them, the client is the next.
    trustProxy: config.trustedProxyHops > 0 ? (_address: string, hop: number) => hop < config.trustedProxyHops : false,
    bodyLimit: 16 * 1024,
    requestTimeout: 10_000,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  // The client's address is read when the request arrives: by the time the answer is logged the peer may have
  // closed the connection (a load balancer's health check does), and the socket no longer knows its address.
  const clientIps = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request, reply) => {
    clientIps.set(request, clientIp(request));
    reply.header('x-service-version', config.version);
    reply.header('x-instance-id', config.instanceId);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        clientIp: clientIps.get(request) ?? clientIp(request),
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'access',
    );
  });
  app.setErrorHandler(async (err: FastifyError | CatalogUnavailableError, request, reply) => {
    if (err instanceof CatalogUnavailableError) {
      request.log.warn({ err: err.cause, reason: err.reason }, 'database cannot serve the request');
      return reply.code(503).send({ error: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if ((err as { validation?: unknown }).validation || (status !== undefined && status >= 400 && status < 500)) {
      return reply.code(status && status < 500 ? status : 400).send({ error: err.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // The load balancer's check: 503 while draining, so it stops sending before the listener closes. The same
  // checks under /api/catalog/ too: behind the shared listener only that prefix reaches this service, and the
  // region switch's pre-flight and post-check request readiness through the load balancer.
  const health = async (_request: unknown, reply: FastifyReply) =>
    options.draining?.()
      ? reply.code(503).send({ status: 'draining', version: config.version })
      : { status: 'ok', version: config.version };
  const ready = async (_request: unknown, reply: FastifyReply) => {
    const [readable, writable] = await Promise.all([store.readable(), store.writable()]);
    const draining = options.draining?.() ?? false;
    const isReady = readable && !draining;
    return reply.code(isReady ? 200 : 503).send({ ready: isReady, draining, database: { readable, writable } });
  };
  for (const prefix of ['', '/api/catalog']) {
    app.get(`${prefix}/health`, health);
    app.get(`${prefix}/health/ready`, ready);
  }

  app.get(
    '/api/catalog/items',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' },
            after: { type: 'string', pattern: SKU },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as { limit?: string; after?: string };
      const { items, more } = await store.list(Number(query.limit ?? 20), query.after);
      return { items, next: more ? items[items.length - 1]!.sku : null };
    },
  );

  const skuParams = {
    type: 'object',
    additionalProperties: false,
    required: ['sku'],
    properties: { sku: { type: 'string', pattern: SKU } },
  } as const;

  app.get('/api/catalog/items/:sku', { schema: { params: skuParams } }, async (request, reply) => {
    const { sku } = request.params as { sku: string };
    const item = await store.get(sku);
    return item ?? reply.code(404).send({ error: `no item ${sku}` });
  });

  app.put(
    '/api/catalog/items/:sku',
    {
      schema: {
        params: skuParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'priceCents'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]*$' },
            priceCents: { type: 'integer', minimum: 0, maximum: 100_000_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      const body = request.body as { name: string; priceCents: number };
      const { item, created } = await store.put(sku, body.name, body.priceCents);
      return reply.code(created ? 201 : 200).send(item);
    },
  );

  return app;
}
