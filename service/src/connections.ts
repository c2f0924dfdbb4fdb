/**
 * What happens on a connection outside Fastify's routing: requests Node's HTTP parser refuses (an oversized head:
 * 431; bad framing or an unknown method: 400), request timeouts (408), idle connections, `Expect` headers other
 * than `100-continue` (417) and CONNECT (405). Each such answer is JSON `{"error"}` with the service headers, and leaves one
 * access-log line, like any other request.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { CLIENT_CLOSED_STATUS, loggedPath, writeAccessLine, type Exchange, type RequestTracker } from './access-log';
import { clientAddress } from './client-ip';
import { HttpError, RequestTimeoutError } from './errors';

/** What the connection handlers need. */
export interface ConnectionSettings {
  /** Version in `x-service-version`. */
  readonly version: string;
  /** Instance in `x-instance-id`. */
  readonly instanceId: string;
  /** TRUSTED_PROXY_HOPS. */
  readonly trustedProxyHops: number;
  /** Time limit of a request head, in milliseconds. */
  readonly headersTimeoutMs: number;
  /** Time limit of a whole request (head and body), in milliseconds. */
  readonly requestTimeoutMs: number;
  /** Time without a byte after which a request whose body is incomplete is answered 408, in milliseconds. */
  readonly idleTimeoutMs: number;
}

/**
 * Time a request cancelled by a timeout has to answer its 408 before its connection is destroyed: every stage
 * watches the request's signal, or is bounded by a dependency's time limit (2 s for the session store).
 */
export const CANCELLED_ANSWER_GRACE_MS = 5000;

/**
 * Errors of a connection whose client is gone: reset, or ended in the middle of a request
 * (`HPE_INVALID_EOF_STATE`, which Node reports instead of aborting the request itself).
 */
const CONNECTION_GONE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'HPE_INVALID_EOF_STATE']);

/** The error of a connection (Node's `clientError` event): a parser error carries the bytes being parsed. */
export interface ConnectionError extends Error {
  /** Node's or llhttp's code: `HPE_HEADER_OVERFLOW`, `HPE_INVALID_METHOD`, `ERR_HTTP_REQUEST_TIMEOUT`... */
  readonly code?: string;
  /** llhttp's reason, for example "Invalid method encountered". */
  readonly reason?: unknown;
  /** The data being parsed when the error occurred (a Buffer at run time, whatever Fastify's types say). */
  readonly rawPacket?: unknown;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A complete HTTP/1.1 answer that closes the connection, with the service headers. */
export function rawAnswer(settings: ConnectionSettings, status: number, message: string): string {
  const body = JSON.stringify({ error: message });
  return [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-service-version: ${settings.version}`,
    `x-instance-id: ${settings.instanceId}`,
    `date: ${new Date().toUTCString()}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

/** The status and message of a request the HTTP parser refused. */
export function describeConnectionError(
  err: ConnectionError,
  settings: ConnectionSettings,
): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `request head (request line and headers) is larger than ${http.maxHeaderSize} bytes`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions of the request body are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: `request head not received within ${seconds(settings.headersTimeoutMs)}` };
    default: {
      const reason = typeof err.reason === 'string' ? err.reason : err.code;
      return { status: 400, message: `malformed request: ${String(reason ?? 'unreadable').slice(0, 200)}` };
    }
  }
}

/** Method and path of the request line at the start of `packet`, when it is one. */
export function requestLineOf(packet: unknown): { method?: string; path?: string } {
  if (!Buffer.isBuffer(packet)) return {};
  const line = /^([A-Z][A-Z0-9_-]{0,19}) ([!-~]{1,8192}) HTTP\/\d\.\d\r?\n/.exec(
    packet.subarray(0, 8300).toString('latin1'),
  );
  return line ? { method: line[1], path: loggedPath(line[2]!) } : {};
}

/**
 * Installs the handlers on the app's server (once it exists) and returns the `clientError` handler for Fastify's
 * `clientErrorHandler` option. `log` is read when an error happens (the app's logger exists only after Fastify()).
 */
export class ConnectionGuard {
  private readonly refused = new WeakSet<Socket>();

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly tracker: RequestTracker,
    private readonly log: () => FastifyBaseLogger,
  ) {}

  /** Listens to the server's connections, idle timeouts and unsupported expectations. */
  install(server: http.Server): void {
    server.on('connection', (socket: Socket) => this.tracker.rememberPeer(socket));
    server.on('timeout', (socket: Socket) => this.onIdle(socket));
    server.on('checkExpectation', (request: http.IncomingMessage, response: http.ServerResponse) =>
      this.onExpectation(request, response),
    );
    server.on('connect', (request: http.IncomingMessage, socket: Socket) => this.onConnect(request, socket));
  }

  /**
   * Node's `clientError`: a request the parser refused, a request timeout, or a broken connection. Called again
   * for each chunk a refused connection still sends: only the first is answered.
   */
  readonly onClientError = (err: ConnectionError, socket: Socket): void => {
    if (this.refused.has(socket)) return;
    this.refused.add(socket);
    const inFlight = this.tracker.current(socket);
    if ((err.code !== undefined && CONNECTION_GONE_CODES.has(err.code)) || socket.destroyed || !socket.writable) {
      // The client is gone: a request in progress on the connection is logged as aborted by the tracker.
      socket.destroy();
      return;
    }
    if (inFlight !== undefined && inFlight.request.raw.complete === false) {
      // The error is in the body of the request in progress (late, or badly framed): that request answers it
      // through its error handler, and is logged with its method and path.
      const reason =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new RequestTimeoutError(`request not received within ${seconds(this.settings.requestTimeoutMs)}`)
          : new HttpError(400, describeConnectionError(err, this.settings).message);
      this.cancel(inFlight, reason);
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && inFlight === undefined && !this.tracker.hasUnansweredBytes(socket)) {
      // Nothing was sent on this connection since its last answer: no request to answer or log.
      socket.destroy();
      return;
    }
    const { status, message } = describeConnectionError(err, this.settings);
    const line = {
      ...clientAddress(this.tracker.peerOf(socket), undefined, this.settings.trustedProxyHops),
      // With a request in progress, the bytes being parsed begin with that request, not with the refused one.
      ...(inFlight === undefined ? requestLineOf(err.rawPacket) : {}),
      status,
      latencyMs: 0,
      clientError: err.code ?? 'unknown',
    };
    // What came is answered after the answer in progress, if any (answers go out in the order of the requests),
    // then the connection closes. What more arrives is not parsed.
    const answer = (): void => {
      if (socket.destroyed || !socket.writable) {
        writeAccessLine(this.log(), { ...line, status: CLIENT_CLOSED_STATUS, aborted: true });
        socket.destroy();
        return;
      }
      writeAccessLine(this.log(), line);
      socket.end(rawAnswer(this.settings, status, message));
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), CANCELLED_ANSWER_GRACE_MS).unref();
    };
    if (inFlight === undefined) {
      answer();
      return;
    }
    const res = inFlight.reply.raw;
    res.once('close', () => setImmediate(answer));
    // Node takes a client's end of the connection for the abandon of its requests; its own handler of that end is
    // skipped once the parser failed, so do the same here: the request in progress is then logged as aborted.
    socket.once('end', () => socket.destroy());
  };

  /**
   * The connection's idle timeout (no byte received or sent for IDLE_TIMEOUT; between requests, for
   * KEEP_ALIVE_TIMEOUT): a request whose body is incomplete is answered 408; a connection with no request in
   * progress (idle between requests, or an incomplete head, which HEADERS_TIMEOUT answers first) is closed, and so
   * is one whose client stopped reading its answer; a request whose answer is being prepared is left alone (its
   * work is bounded by the dependencies' time limits).
   */
  private onIdle(socket: Socket): void {
    const inFlight = this.tracker.current(socket);
    if (inFlight === undefined) {
      socket.destroy();
      return;
    }
    // The answer has started but the client stopped reading it: nothing more will be delivered.
    if (inFlight.reply.raw.headersSent) {
      socket.destroy();
      return;
    }
    if (inFlight.request.raw.complete !== false) return;
    this.cancel(
      inFlight,
      new RequestTimeoutError(`request body stalled: nothing received for ${seconds(this.settings.idleTimeoutMs)}`),
    );
  }

  /**
   * Cancels the request in progress (its error handler answers `reason`, and closes the connection, as its body
   * is unread); destroys the connection if the answer does not follow within {@link CANCELLED_ANSWER_GRACE_MS}.
   */
  private cancel(inFlight: Exchange, reason: HttpError): void {
    this.tracker.cancel(inFlight, reason);
    const res = inFlight.reply.raw;
    const socket = inFlight.request.raw.socket;
    const timer = setTimeout(() => {
      if (!res.writableFinished) socket.destroy();
    }, CANCELLED_ANSWER_GRACE_MS).unref();
    res.once('close', () => clearTimeout(timer));
  }

  /** A CONNECT request (Node would close the connection without a word): 405, the service is no proxy. */
  private onConnect(request: http.IncomingMessage, socket: Socket): void {
    writeAccessLine(this.log(), {
      ...clientAddress(this.tracker.peerOf(socket), request.headers['x-forwarded-for'], this.settings.trustedProxyHops),
      method: request.method,
      path: loggedPath(request.url ?? ''),
      status: 405,
      latencyMs: 0,
    });
    socket.on('error', () => undefined);
    socket.end(rawAnswer(this.settings, 405, 'method CONNECT is not supported: this service is not a proxy'));
    socket.once('finish', () => socket.destroy());
  }

  /** An `Expect` header other than `100-continue`: 417 (Node would answer without the service headers). */
  private onExpectation(request: http.IncomingMessage, response: http.ServerResponse): void {
    const body = JSON.stringify({
      error: `unsupported expectation "${String(request.headers.expect).slice(0, 100)}": only 100-continue is supported`,
    });
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-service-version': this.settings.version,
      'x-instance-id': this.settings.instanceId,
      connection: 'close',
    });
    response.end(body);
    writeAccessLine(this.log(), {
      ...clientAddress(
        this.tracker.peerOf(request.socket),
        request.headers['x-forwarded-for'],
        this.settings.trustedProxyHops,
      ),
      method: request.method,
      path: loggedPath(request.url ?? ''),
      status: 417,
      latencyMs: 0,
    });
  }
}
