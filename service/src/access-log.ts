/**
 * One JSON access-log line per request, whatever becomes of it (Fastify's own request logging is off, so there
 * are no duplicates): answered, refused before routing, or abandoned by its client. The instance ID and version
 * come from the logger's base fields, present on every line.
 *
 * The {@link RequestTracker} follows each request from its arrival to its line: it reads the client address when
 * the request arrives (a client gone before the answer is still logged with it), gives each request an
 * {@link AbortSignal} that fires when the client leaves or the request times out (so an upload or a body being
 * read stops at once), and knows which request is in progress on each connection (for the connection-level
 * errors and timeouts of connections.ts).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientAddress, type ClientAddress } from './client-ip';
import { ClientClosedRequestError, type HttpError } from './errors';

/** Longest path kept in a log line (the whole request head may be 16 KiB). */
export const MAX_LOGGED_PATH = 1024;

/** Status logged for a request whose client closed the connection before any answer was sent (as nginx does). */
export const CLIENT_CLOSED_STATUS = 499;

/** The fields of an access-log line (`msg` is `request`). */
export interface AccessLine extends ClientAddress {
  /** HTTP method, when it could be read. */
  readonly method?: string;
  /** Path without its query string (at most {@link MAX_LOGGED_PATH} characters), when it could be read. */
  readonly path?: string;
  /** Status sent; {@link CLIENT_CLOSED_STATUS} when the client left before any answer. */
  readonly status: number;
  /** Time from the request's arrival to its answer (or to the end of its work, for an abandoned request). */
  readonly latencyMs: number;
  /** The connection closed before the whole answer was sent. */
  readonly aborted?: true;
  /**
   * The request was refused by the HTTP layer before routing (Node's parser error code, or
   * `ERR_HTTP_REQUEST_TIMEOUT`): its line carries the peer's address, and the method and path when readable.
   */
  readonly clientError?: string;
}

/** The path of a URL without its query string, for the log. */
export function loggedPath(url: string): string {
  return url.split('?')[0]!.slice(0, MAX_LOGGED_PATH);
}

/** Writes one access-log line. */
export function writeAccessLine(log: FastifyBaseLogger, line: AccessLine): void {
  log.info(line, 'request');
}

/** What the tracker knows of one request. */
export interface Exchange {
  /** The request. */
  readonly request: FastifyRequest;
  /** Its reply. */
  readonly reply: FastifyReply;
  /** Where it comes from. */
  readonly client: ClientAddress;
  /** Fires when the client leaves or the request times out; its reason is the error to answer with. */
  readonly signal: AbortSignal;
}

interface ExchangeState extends Exchange {
  readonly controller: AbortController;
  readonly startedAt: number;
  readonly socket: Socket | undefined;
  /** The lifecycle reached its answer (onSend): the work is over, whether or not the client is still there. */
  answered: boolean;
  /** The connection closed before the answer was complete. */
  closedEarly: boolean;
  logged: boolean;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Follows every request of an app from its arrival to its access-log line. */
export class RequestTracker {
  private readonly exchanges = new WeakMap<FastifyRequest, ExchangeState>();
  private readonly bySocket = new WeakMap<Socket, ExchangeState[]>();
  private readonly peers = new WeakMap<Socket, string | undefined>();
  private readonly idleBytes = new WeakMap<Socket, number>();

  constructor(private readonly trustedProxyHops: number) {}

  /**
   * Adds the hooks. Call before any other onRequest hook, so that the client address is read first and every
   * request that reaches routing is tracked.
   */
  register(app: FastifyInstance): void {
    app.addHook('onRequest', (request, reply, done) => {
      this.begin(request, reply);
      done();
    });
    // A request whose client is gone (or that timed out) before its body is read goes no further.
    app.addHook('preParsing', (request, _reply, _payload, done) => {
      const signal = this.exchanges.get(request)?.signal;
      done(signal?.aborted ? (signal.reason as Error) : null);
    });
    app.addHook('onSend', (request, _reply, payload, done) => {
      const exchange = this.exchanges.get(request);
      if (exchange !== undefined) {
        exchange.answered = true;
        if (exchange.closedEarly) this.logAborted(exchange);
      }
      done(null, payload);
    });
  }

  /** Remembers a new connection's peer address (read now: a destroyed socket no longer knows it). */
  rememberPeer(socket: Socket): void {
    this.peers.set(socket, socket.remoteAddress);
  }

  /** The peer address of a connection. */
  peerOf(socket: Socket | undefined): string | undefined {
    if (socket === undefined) return undefined;
    return this.peers.has(socket) ? this.peers.get(socket) : socket.remoteAddress;
  }

  /** Whether a connection has received bytes since its last answer (an unfinished request head). */
  hasUnansweredBytes(socket: Socket): boolean {
    return socket.bytesRead > (this.idleBytes.get(socket) ?? 0);
  }

  /**
   * Starts tracking a request (the onRequest hook; frameworkErrors in app.ts for requests refused by the router).
   * Idempotent.
   */
  begin(request: FastifyRequest, reply: FastifyReply): Exchange {
    const known = this.exchanges.get(request);
    if (known !== undefined) return known;
    const socket = request.raw.socket as Socket | undefined;
    const controller = new AbortController();
    const exchange: ExchangeState = {
      request,
      reply,
      client: clientAddress(this.peerOf(socket), request.headers['x-forwarded-for'], this.trustedProxyHops),
      controller,
      signal: controller.signal,
      startedAt: performance.now(),
      socket,
      answered: false,
      closedEarly: false,
      logged: false,
    };
    this.exchanges.set(request, exchange);
    if (socket !== undefined) {
      const queue = this.bySocket.get(socket) ?? [];
      queue.push(exchange);
      this.bySocket.set(socket, queue);
    }
    const res = reply.raw;
    res.once('finish', () => {
      this.release(exchange);
      if (socket !== undefined) this.idleBytes.set(socket, socket.bytesRead);
      this.log(exchange, { status: res.statusCode });
    });
    res.once('close', () => {
      this.release(exchange);
      if (res.writableFinished) return;
      exchange.closedEarly = true;
      if (!controller.signal.aborted) controller.abort(new ClientClosedRequestError());
      if (exchange.answered) this.logAborted(exchange);
    });
    if (socket?.destroyed === true) {
      exchange.closedEarly = true;
      controller.abort(new ClientClosedRequestError());
    }
    return exchange;
  }

  /** The tracked request, if any. */
  get(request: FastifyRequest): Exchange | undefined {
    return this.exchanges.get(request);
  }

  /**
   * The client IP of a request, as its access-log line records it (client-ip.ts: the trusted `X-Forwarded-For`
   * entry, else the peer); `unknown` for a request that is not tracked.
   */
  clientIp(request: FastifyRequest): string {
    return this.exchanges.get(request)?.client.clientIp ?? 'unknown';
  }

  /** The signal of a request: aborted when its client leaves or it times out. */
  signal(request: FastifyRequest): AbortSignal | undefined {
    return this.exchanges.get(request)?.signal;
  }

  /** Marks a request as answered (frameworkErrors answers without onSend hooks). */
  markAnswered(request: FastifyRequest): void {
    const exchange = this.exchanges.get(request);
    if (exchange !== undefined) exchange.answered = true;
  }

  /** The oldest request of a connection whose answer is not complete. */
  current(socket: Socket): Exchange | undefined {
    return this.bySocket.get(socket)?.[0];
  }

  /** Stops a request's work with `reason` (a 408: the error handler answers it). No-op once aborted. */
  cancel(exchange: Exchange, reason: HttpError): void {
    const state = this.exchanges.get(exchange.request);
    if (state !== undefined && !state.controller.signal.aborted) state.controller.abort(reason);
  }

  private release(exchange: ExchangeState): void {
    if (exchange.socket === undefined) return;
    const queue = this.bySocket.get(exchange.socket);
    const index = queue?.indexOf(exchange) ?? -1;
    if (index >= 0) queue!.splice(index, 1);
  }

  private logAborted(exchange: ExchangeState): void {
    const res = exchange.reply.raw;
    this.log(exchange, { status: res.headersSent ? res.statusCode : CLIENT_CLOSED_STATUS, aborted: true });
  }

  private log(exchange: ExchangeState, outcome: { status: number; aborted?: true }): void {
    if (exchange.logged) return;
    exchange.logged = true;
    const { request } = exchange;
    writeAccessLine(request.log, {
      ...exchange.client,
      method: request.method,
      path: loggedPath(request.url),
      ...outcome,
      latencyMs: round(performance.now() - exchange.startedAt),
    });
  }
}
