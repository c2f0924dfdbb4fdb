import { createTestApp, signIn, startBackends, testConfig, type Backends, type TestApp } from './helpers';

let backends: Backends;

beforeAll(async () => {
  backends = await startBackends();
});

afterAll(async () => {
  await backends?.stop();
});

async function withApp(trustedProxyHops: number, run: (service: TestApp) => Promise<void>): Promise<void> {
  const service = await createTestApp(testConfig(backends, { trustedProxyHops, instanceId: 'i-log' }));
  try {
    await run(service);
  } finally {
    await service.close();
  }
}

function requestLines(service: TestApp): Record<string, unknown>[] {
  return service.logs.filter((line) => line.msg === 'request');
}

describe('access log', () => {
  test('writes one JSON line per request with the documented fields, and no other request lines', async () => {
    await withApp(1, async (service) => {
      await service.app.inject({ url: '/notes?limit=5&secret=x', remoteAddress: '10.0.1.20' });
      const lines = requestLines(service);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        msg: 'request',
        clientIp: '10.0.1.20',
        method: 'GET',
        path: '/notes',
        status: 200,
        latencyMs: expect.any(Number),
        instanceId: 'i-log',
        version: '1.2.3-test',
      });
      expect(service.logs.filter((line) => /incoming request|request completed/.test(String(line.msg)))).toEqual([]);
    });
  });

  test('logs failed requests with their status', async () => {
    await withApp(1, async (service) => {
      await service.app.inject({ method: 'POST', url: '/notes', payload: { text: 'x' } });
      await service.app.inject({ url: '/nowhere' });
      expect(requestLines(service).map((l) => [l.method, l.path, l.status])).toEqual([
        ['POST', '/notes', 401],
        ['GET', '/nowhere', 404],
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
      expect(requestLines(service)[0]!.clientIp).toBe('203.0.113.7');
    });
  });

  test('with no trusted proxy, X-Forwarded-For is ignored', async () => {
    await withApp(0, async (service) => {
      await service.app.inject({
        url: '/health',
        remoteAddress: '198.51.100.9',
        headers: { 'x-forwarded-for': '6.6.6.6' },
      });
      expect(requestLines(service)[0]!.clientIp).toBe('198.51.100.9');
    });
  });

  test('with two trusted proxies (CDN then ALB), the address the CDN saw is the client', async () => {
    await withApp(2, async (service) => {
      await service.app.inject({
        url: '/health',
        remoteAddress: '10.0.0.5',
        headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 130.176.0.1' },
      });
      expect(requestLines(service)[0]!.clientIp).toBe('203.0.113.7');
    });
  });
});
