/**
 * One JSON access-log line per request (Fastify's own request logging is off, so there are no duplicates).
 * The instance ID and version come from the logger's base fields, present on every line.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Adds the access-log hooks: {"msg":"request","clientIp","method","path","status","latencyMs",...}. */
export function registerAccessLog(app: FastifyInstance): void {
  // The client IP is read when the request arrives: by the time the response is sent the peer may have
  // closed the socket (load balancer health checks do), and request.ip would then be undefined.
  const clientIps = new WeakMap<FastifyRequest, string | undefined>();
  app.addHook('onRequest', async (request) => {
    clientIps.set(request, request.ip);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        clientIp: clientIps.get(request) ?? request.ip,
        method: request.method,
        // The path without its query string, which may carry data that does not belong in logs.
        path: request.url.split('?')[0],
        status: reply.statusCode,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
}
