import * as net from 'node:net';
import { Redis } from 'ioredis';
import {
  accessLines,
  closeAll,
  createTestApp,
  exchangeRaw,
  listenOnLoopback,
  parseResponses,
  signIn,
  startBackends,
  testConfig,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';
import type { ServiceConfig } from '../../service/src/config';

let backends: Backends;

beforeAll(async () => {
  backends = await startBackends();
});

afterAll(async () => {
  await backends?.stop();
});

async function withApp(
  trustedProxyHops: number,
  run: (service: TestApp) => Promise<void>,
  overrides: Partial<ServiceConfig> = {},
): Promise<void> {
  const service = await createTestApp(testConfig(backends, { trustedProxyHops, instanceId: 'i-log', ...overrides }));
  try {
    await run(service);
  } finally {
    await service.close();
  }
}

/** Pauses every command of the session store for `ms` (the requests that need a session wait meanwhile). */
async function pauseSessionStore(ms: number): Promise<void> {
  const admin = new Redis({ host: backends.redis.host, port: backends.redis.port, password: backends.redis.password });
  try {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  } finally {
    admin.disconnect();
  }
}

describe('access log', () => {
  test('writes one JSON line per request with the documented fields, and no other request lines', async () => {
    await withApp(1, async (service) => {
      await service.app.inject({ url: '/notes?limit=5', remoteAddress: '10.0.1.20' });
      const lines = accessLines(service);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        msg: 'request',
        clientIp: '10.0.1.20',
        method: 'GET',
        path: '/notes',
        status: 401,
        latencyMs: expect.any(Number),
        instanceId: 'i-log',
        version: '1.2.3-test',
      });
      expect(lines[0]).not.toHaveProperty('aborted');
      expect(lines[0]).not.toHaveProperty('forwardedFor');
      expect(service.logs.filter((line) => /incoming request|request completed/.test(String(line.msg)))).toEqual([]);
    });
  });

  test('logs failed requests with their status', async () => {
    await withApp(1, async (service) => {
      await service.app.inject({ method: 'POST', url: '/notes', payload: { text: 'x' } });
      await service.app.inject({ url: '/nowhere' });
      expect(accessLines(service).map((l) => [l.method, l.path, l.status])).toEqual([
        ['POST', '/notes', 401],
        ['GET', '/nowhere', 404],
      ]);
    });
  });

  test.each([
    ['a malformed URL', '/notes/%E0%A4%A', "'/notes/%E0%A4%A' is not a valid url component"],
    [
      'a path segment longer than the router takes',
      `/files/${'a'.repeat(17_000)}`,
      'a path segment is longer than 16384 characters',
    ],
  ])('a request the router refuses (%s) is a 400 with the service headers, logged once', async (_case, url, error) => {
    await withApp(1, async (service) => {
      const response = await service.app.inject({
        url,
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error });
      expect(response.headers['x-instance-id']).toBe('i-log');
      expect(accessLines(service)).toEqual([
        expect.objectContaining({ clientIp: '203.0.113.7', method: 'GET', path: url.slice(0, 1024), status: 400 }),
      ]);
    });
  });

  test('never logs the session cookie', async () => {
    await withApp(1, async (service) => {
      const cookie = await signIn(service.app);
      await service.app.inject({ url: '/session', headers: { cookie } });
      expect(JSON.stringify(service.logs)).not.toContain(cookie.slice(4));
    });
  });
});

describe('client IP', () => {
  test('with one trusted proxy (the ALB), a forged X-Forwarded-For entry cannot spoof the logged IP', async () => {
    await withApp(1, async (service) => {
      // The client sent "X-Forwarded-For: 6.6.6.6"; the ALB (10.0.0.5) appended the address it saw.
      await service.app.inject({
        url: '/health',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' },
      });
      expect(accessLines(service)[0]).toMatchObject({ clientIp: '203.0.113.7' });
      expect(accessLines(service)[0]).not.toHaveProperty('suspiciousForwardedFor');
    });
  });

  test('with no trusted proxy, X-Forwarded-For is ignored', async () => {
    await withApp(0, async (service) => {
      await service.app.inject({
        url: '/health',
        remoteAddress: '198.51.100.9',
        headers: { 'x-forwarded-for': '6.6.6.6' },
      });
      expect(accessLines(service)[0]!.clientIp).toBe('198.51.100.9');
    });
  });

  test('with two trusted proxies (CDN then ALB), the address the CDN saw is the client', async () => {
    await withApp(2, async (service) => {
      await service.app.inject({
        url: '/health',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 130.176.0.1' },
      });
      expect(accessLines(service)[0]!.clientIp).toBe('203.0.113.7');
    });
  });

  test('without X-Forwarded-For (the load balancer health checks), the peer, not flagged', async () => {
    await withApp(1, async (service) => {
      await service.app.inject({ url: '/health', remoteAddress: '10.0.0.5' });
      const line = accessLines(service)[0]!;
      expect(line.clientIp).toBe('10.0.0.5');
      expect(line).not.toHaveProperty('suspiciousForwardedFor');
    });
  });

  test('with more trusted hops than proxies, a header with fewer entries is flagged and the peer logged', async () => {
    // TRUSTED_PROXY_HOPS=2 but only the ALB in front: the one entry is what the client wrote.
    await withApp(2, async (service) => {
      await service.app.inject({
        url: '/health',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': '6.6.6.6' },
      });
      expect(accessLines(service)[0]).toMatchObject({
        clientIp: '10.0.0.5',
        forwardedFor: '6.6.6.6',
        suspiciousForwardedFor: true,
      });
    });
  });

  test.each([
    ['a script', 1, '<script>alert(1)</script>'],
    ['a host name', 1, 'evil.example'],
    ['an address with a port', 1, '203.0.113.7:4711'],
    ['an empty header', 1, ''],
    ['a forged entry at the trusted position', 2, '<script>x</script>, 203.0.113.7'],
  ])(
    'a client reaching the instance directly cannot log %s as its IP: the peer is logged, the header flagged',
    async (_case, hops, header) => {
      await withApp(hops, async (service) => {
        await service.app.inject({
          url: '/health',
          remoteAddress: '198.51.100.9',
          headers: { 'x-forwarded-for': header },
        });
        expect(accessLines(service)[0]).toMatchObject({
          clientIp: '198.51.100.9',
          forwardedFor: header,
          suspiciousForwardedFor: true,
        });
      });
    },
  );

  test('a long forged header is logged truncated to 200 characters', async () => {
    await withApp(1, async (service) => {
      const header = `<${'x'.repeat(5000)}>`;
      await service.app.inject({
        url: '/health',
        remoteAddress: '198.51.100.9',
        headers: { 'x-forwarded-for': header },
      });
      expect(accessLines(service)[0]!.forwardedFor).toBe(header.slice(0, 200));
    });
  });
});

describe('over a real connection', () => {
  let service: TestApp;
  let port: number;
  let cookie: string;

  beforeAll(async () => {
    service = await createTestApp(
      testConfig(backends, { instanceId: 'i-log', headersTimeoutMs: 300, idleTimeoutMs: 500, requestTimeoutMs: 1500 }),
    );
    port = await listenOnLoopback(service.app);
    cookie = await signIn(service.app, 'socket-user');
  });

  afterAll(() => closeAll(() => service?.close()));

  /** The lines written since `count` lines were there. */
  const linesSince = (count: number) => accessLines(service).slice(count);

  test('a client gone before the answer leaves one line, with its address, as 499 aborted', async () => {
    const before = accessLines(service).length;
    await pauseSessionStore(400);
    const socket = net.connect(port, '127.0.0.1');
    socket.write(`GET /session HTTP/1.1\r\nHost: test\r\nCookie: ${cookie}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await waitFor(() => linesSince(before).length > 0, 3000, 'the line of the abandoned request');
    expect(linesSince(before)).toEqual([
      expect.objectContaining({ clientIp: '127.0.0.1', method: 'GET', path: '/session', status: 499, aborted: true }),
    ]);
  });

  test.each([
    [
      'an oversized head',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'HPE_HEADER_OVERFLOW',
    ],
    ['an unknown method', 'FOO /health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'HPE_INVALID_METHOD'],
    [
      'bad framing (Content-Length with Transfer-Encoding)',
      'POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'HPE_INVALID_TRANSFER_ENCODING',
    ],
    ['a request line that is not HTTP', 'hello there\r\n\r\n', 400, 'HPE_INVALID_METHOD'],
  ])(
    'a request refused before routing (%s) is answered with the service headers and logged once',
    async (_case, request, status, code) => {
      const before = accessLines(service).length;
      const [response, ...more] = parseResponses(await exchangeRaw(port, request));
      expect(more).toEqual([]);
      expect(response).toMatchObject({
        status,
        headers: { 'x-service-version': '1.2.3-test', 'x-instance-id': 'i-log', connection: 'close' },
      });
      expect(JSON.parse(response!.body)).toEqual({ error: expect.any(String) });
      await waitFor(() => linesSince(before).length > 0, 2000, 'the access-log line');
      expect(linesSince(before)).toEqual([
        expect.objectContaining({ clientIp: '127.0.0.1', status, clientError: code, instanceId: 'i-log' }),
      ]);
    },
  );

  test('a body with bad chunked framing is answered 400 by its route (connection closed) and logged with its path', async () => {
    const before = accessLines(service).length;
    const head =
      'POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const [response, ...more] = parseResponses(await exchangeRaw(port, `${head}5\r\n{"use\r\nZZ\r\n`));
    expect(more).toEqual([]);
    expect(response).toMatchObject({ status: 400, headers: { 'x-instance-id': 'i-log', connection: 'close' } });
    expect(JSON.parse(response!.body).error).toMatch(/^malformed request: /);
    expect(linesSince(before)).toEqual([expect.objectContaining({ method: 'POST', path: '/session', status: 400 })]);
  });

  test('HTTP/1.1 without a Host header is a 400 with the service headers, logged', async () => {
    const before = accessLines(service).length;
    const [response] = parseResponses(await exchangeRaw(port, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'));
    expect(response).toMatchObject({ status: 400, headers: { 'x-instance-id': 'i-log' } });
    expect(JSON.parse(response!.body)).toEqual({ error: 'Host header is required (HTTP/1.1)' });
    expect(linesSince(before)).toEqual([expect.objectContaining({ method: 'GET', path: '/health', status: 400 })]);
  });

  test('an Expect header other than 100-continue is a 417 with the service headers, logged', async () => {
    const before = accessLines(service).length;
    const [response] = parseResponses(
      await exchangeRaw(port, 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n'),
    );
    expect(response).toMatchObject({
      status: 417,
      headers: { 'x-service-version': '1.2.3-test', 'x-instance-id': 'i-log' },
    });
    expect(JSON.parse(response!.body).error).toMatch(/^unsupported expectation "magic"/);
    expect(linesSince(before)).toEqual([expect.objectContaining({ method: 'GET', path: '/health', status: 417 })]);
  });

  test('CONNECT (which Node would drop without a word) is a 405 with the service headers, logged', async () => {
    const before = accessLines(service).length;
    const [response] = parseResponses(
      await exchangeRaw(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    );
    expect(response).toMatchObject({ status: 405, headers: { 'x-instance-id': 'i-log', connection: 'close' } });
    expect(JSON.parse(response!.body)).toEqual({
      error: 'method CONNECT is not supported: this service is not a proxy',
    });
    expect(linesSince(before)).toEqual([
      expect.objectContaining({ clientIp: '127.0.0.1', method: 'CONNECT', path: 'example.com:443', status: 405 }),
    ]);
  });

  test('a request head not complete within HEADERS_TIMEOUT is answered 408 and logged', async () => {
    const before = accessLines(service).length;
    const started = Date.now();
    const [response] = parseResponses(await exchangeRaw(port, 'GET /health HTTP/1.1\r\nHost: x\r\n'));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(response).toMatchObject({ status: 408, headers: { 'x-instance-id': 'i-log', connection: 'close' } });
    expect(JSON.parse(response!.body)).toEqual({ error: 'request head not received within 0.3 s' });
    expect(linesSince(before)).toEqual([
      expect.objectContaining({ clientIp: '127.0.0.1', status: 408, clientError: 'ERR_HTTP_REQUEST_TIMEOUT' }),
    ]);
  });

  test('a body that stalls for IDLE_TIMEOUT is answered 408 by its route and logged with its path', async () => {
    const before = accessLines(service).length;
    const head = 'POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const [response] = parseResponses(await exchangeRaw(port, `${head}{"user":`));
    expect(response).toMatchObject({ status: 408, headers: { 'x-instance-id': 'i-log', connection: 'close' } });
    expect(JSON.parse(response!.body)).toEqual({ error: 'request body stalled: nothing received for 0.5 s' });
    expect(linesSince(before)).toEqual([expect.objectContaining({ method: 'POST', path: '/session', status: 408 })]);
  });

  test('a body trickled in slower than REQUEST_TIMEOUT allows is answered 408 and logged', async () => {
    const before = accessLines(service).length;
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.write('POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n');
    const trickle = setInterval(() => socket.write(' '), 100);
    try {
      await waitFor(() => socket.destroyed || received.includes('\r\n\r\n{'), 3000, 'the 408');
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    const [response] = parseResponses(received);
    expect(response).toMatchObject({ status: 408, headers: { 'x-instance-id': 'i-log' } });
    expect(JSON.parse(response!.body)).toEqual({ error: 'request not received within 1.5 s' });
    expect(linesSince(before)).toEqual([expect.objectContaining({ method: 'POST', path: '/session', status: 408 })]);
  });

  test('a connection that never sends a byte is closed without an answer or a line', async () => {
    const before = accessLines(service).length;
    expect(await exchangeRaw(port, '')).toBe('');
    expect(linesSince(before)).toEqual([]);
  });

  test('a request that arrives while the app closes gets 503 with the service headers, logged', async () => {
    const closing = await createTestApp(testConfig(backends, { instanceId: 'i-closing' }));
    const closingPort = await listenOnLoopback(closing.app);
    const closingCookie = await signIn(closing.app, 'closing-user');
    try {
      // A first request is in progress (the session store is paused) when close() begins; a second arrives on
      // the same kept-alive connection after it.
      await pauseSessionStore(300);
      const socket = net.connect(closingPort, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.write(`GET /session HTTP/1.1\r\nHost: x\r\nCookie: ${closingCookie}\r\n\r\n`);
      // The lines of the sign-up and the sign-in.
      await waitFor(() => accessLines(closing).length >= 2, 2000, 'the sign-in lines');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closed = closing.app.close();
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => parseResponses(received).length === 2, 3000, 'both answers');
      socket.destroy();
      await closed;
      const [first, second] = parseResponses(received);
      expect(first!.status).toBe(200);
      expect(second).toMatchObject({ status: 503, headers: { 'x-instance-id': 'i-closing', connection: 'close' } });
      expect(JSON.parse(second!.body)).toEqual({
        error: 'service is shutting down; retry (another instance will answer)',
      });
      expect(accessLines(closing).slice(2)).toEqual([
        expect.objectContaining({ method: 'GET', path: '/session', status: 200 }),
        expect.objectContaining({ method: 'GET', path: '/health', status: 503 }),
      ]);
    } finally {
      await closing.close().catch(() => undefined);
    }
  });

  test("the server's time limits are the configuration's", () => {
    const server = service.app.server;
    expect([server.headersTimeout, server.requestTimeout, server.timeout, server.keepAliveTimeout]).toEqual([
      300, 1500, 500, 65_000,
    ]);
  });
});
