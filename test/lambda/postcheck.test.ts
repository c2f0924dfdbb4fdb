import {
  EAST,
  fakeRuntime,
  loadWithEnv,
  OPERATOR_EVENT,
  ORDER_API_SERVICE,
  REGION_SWITCH_EVENT,
  VALID_ENV,
  WEB_SERVICE,
  WEST,
} from './fixtures';
import * as postcheck from '../../lambda/postcheck';
import { parseSwitchEvent } from '../../lambda/shared/event';

const config = postcheck.loadPostcheckConfig(VALID_ENV);

function request(event: object = OPERATOR_EVENT) {
  return parseSwitchEvent(event, config.regions.names, false);
}

const READY = JSON.stringify({ ready: true, database: { ok: true, writable: true }, cache: { ok: true } });
const READ_ONLY = JSON.stringify({ ready: true, database: { ok: true, writable: false } });

type Reply = { status: number; body: string } | Error;

/** A fetch that answers from `replies` in turn (the last one repeats); an Error reply rejects. */
function fakeFetch(...replies: Reply[]) {
  return fakeFetchByUrl({ '*': replies });
}

/** A fetch that answers each URL from its own `replies` in turn (the last one repeats); `*` answers the others. */
function fakeFetchByUrl(repliesByUrl: Record<string, Reply[]>) {
  const calls: { url: string; signal: AbortSignal }[] = [];
  const fetchFn: postcheck.Fetch = async (url, init) => {
    calls.push({ url, signal: init.signal });
    const replies = repliesByUrl[url] ?? repliesByUrl['*'];
    if (!replies) throw new Error(`unexpected GET ${url}`);
    const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (reply instanceof Error) throw reply;
    return { status: reply.status, text: async () => reply.body };
  };
  return { fetchFn, calls };
}

/** postcheck's configuration with `services` as SERVICES. */
function withServices(...services: object[]): postcheck.PostcheckConfig {
  return postcheck.loadPostcheckConfig({ ...VALID_ENV, SERVICES: JSON.stringify(services) });
}

const WEB_URL = 'https://us-west-2.example.com/health/ready';
const ORDER_API_URL = 'https://us-west-2.example.com/api/orders/ready';

describe('postcheck', () => {
  test('passes on HTTP 200 with a writable database, GETting the target region URL', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    const result = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    expect(result).toMatchObject({ function: 'postcheck', targetRegion: WEST, changed: false });
    expect(Object.keys(result.checks!)).toEqual(['readiness:web']);
    expect(result.checks!['readiness:web']!.ok).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(['https://us-west-2.example.com/health/ready']);
    expect(calls[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  test('in progress: retries every 5 s until the database is writable', async () => {
    const { fetchFn, calls } = fakeFetch(
      new Error('connect ECONNREFUSED'),
      { status: 503, body: '{"ready":false}' },
      { status: 200, body: READ_ONLY },
      { status: 200, body: READY },
    );
    const rt = fakeRuntime();
    const result = await postcheck.runPostcheck(fetchFn, request(), config, rt);
    expect(calls).toHaveLength(4);
    expect(rt.sleeps).toEqual([5000, 5000, 5000]);
    expect(result.actions).toEqual(['web: GET https://us-west-2.example.com/health/ready (read-only), 4 attempt(s)']);
  });

  test('fails after the bounded time with the last status and body', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READ_ONLY });
    const rt = fakeRuntime();
    await expect(postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 20 }, rt)).rejects.toThrow(
      'FAILED: us-west-2: 1 of 1 service(s) not ready after 5 attempt(s) over up to 20 s: web. Last: web: GET ' +
        'https://us-west-2.example.com/health/ready: HTTP 200, /database/writable false; body: ' +
        READ_ONLY,
    );
    expect(calls).toHaveLength(5);
  });

  test('reports a non-JSON body, truncated', async () => {
    const body = 'x'.repeat(5000);
    const { fetchFn } = fakeFetch({ status: 502, body });
    await expect(
      postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 0 }, fakeRuntime()),
    ).rejects.toThrow(`HTTP 502, body is not JSON (for /database/writable); body: ${'x'.repeat(1000)}...`);
  });

  test('a throttled answer (HTTP 429) is retried, then succeeds', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 429, body: 'Too Many Requests' }, { status: 200, body: READY });
    const rt = fakeRuntime();
    const result = await postcheck.runPostcheck(fetchFn, request(), config, rt);
    expect(result.checks!['readiness:web']!.ok).toBe(true);
    expect(calls).toHaveLength(2);
    expect(rt.sleeps).toEqual([5000]);
  });

  test('a network error is retried like a bad answer', async () => {
    const { fetchFn } = fakeFetch(new Error('The operation was aborted due to timeout'), { status: 200, body: READY });
    const result = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    expect(result.checks!['readiness:web']!.ok).toBe(true);
  });

  test('a dry run makes the same read-only GET and changes nothing', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    const result = await postcheck.runPostcheck(
      fetchFn,
      request({ ...OPERATOR_EVENT, dryRun: true }),
      config,
      fakeRuntime(),
    );
    expect(result).toMatchObject({ dryRun: true, changed: false });
    expect(calls).toHaveLength(1);
  });

  test('a second run after success reports the same', async () => {
    const { fetchFn } = fakeFetch({ status: 200, body: READY });
    const first = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    const second = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    expect(second).toEqual(first);
  });

  test('a regional URL with a trailing slash gives the same readiness URL', async () => {
    const regions = JSON.parse(VALID_ENV.REGIONS!);
    regions[WEST].regionalUrl = 'https://us-west-2.example.com/';
    const slashed = postcheck.loadPostcheckConfig({ ...VALID_ENV, REGIONS: JSON.stringify(regions) });
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    await postcheck.runPostcheck(fetchFn, request(), slashed, fakeRuntime());
    expect(calls.map((c) => c.url)).toEqual([WEB_URL]);
  });

  describe('several services', () => {
    test('GETs every service; a null pointer needs HTTP 200 only, a nested one its value true', async () => {
      const { fetchFn, calls } = fakeFetchByUrl({
        [WEB_URL]: [{ status: 200, body: READY }],
        [ORDER_API_URL]: [{ status: 200, body: 'OK' }],
      });
      const result = await postcheck.runPostcheck(
        fetchFn,
        request(),
        withServices(WEB_SERVICE, ORDER_API_SERVICE),
        fakeRuntime(),
      );
      expect(calls.map((c) => c.url)).toEqual([WEB_URL, ORDER_API_URL]);
      expect(result.checks).toEqual({
        'readiness:web': { ok: true, detail: `GET ${WEB_URL}: HTTP 200, /database/writable true; body: ${READY}` },
        'readiness:order-api': { ok: true, detail: `GET ${ORDER_API_URL}: HTTP 200; body: OK` },
      });
      expect(result.actions).toEqual([
        `web: GET ${WEB_URL} (read-only), 1 attempt(s)`,
        `order-api: GET ${ORDER_API_URL} (read-only), 1 attempt(s)`,
      ]);
    });

    test('a null pointer still needs HTTP 200', async () => {
      const { fetchFn } = fakeFetch({ status: 503, body: '{"database":{"writable":true}}' });
      await expect(
        postcheck.runPostcheck(
          fetchFn,
          request(),
          { ...withServices(ORDER_API_SERVICE), postcheckSeconds: 0 },
          fakeRuntime(),
        ),
      ).rejects.toThrow(`order-api: GET ${ORDER_API_URL}: HTTP 503; body: {"database":{"writable":true}}`);
    });

    test('waits until every service passes, asking again only those not passed yet', async () => {
      const { fetchFn, calls } = fakeFetchByUrl({
        [WEB_URL]: [{ status: 200, body: READY }],
        [ORDER_API_URL]: [
          { status: 502, body: '' },
          { status: 502, body: '' },
          { status: 200, body: '' },
        ],
      });
      const rt = fakeRuntime();
      const result = await postcheck.runPostcheck(fetchFn, request(), withServices(WEB_SERVICE, ORDER_API_SERVICE), rt);
      expect(calls.filter((c) => c.url === WEB_URL)).toHaveLength(1);
      expect(calls.filter((c) => c.url === ORDER_API_URL)).toHaveLength(3);
      expect(rt.sleeps).toEqual([5000, 5000]);
      expect(result.actions).toEqual([
        `web: GET ${WEB_URL} (read-only), 1 attempt(s)`,
        `order-api: GET ${ORDER_API_URL} (read-only), 3 attempt(s)`,
      ]);
    });

    test('fails when one of two services is not ready, naming it with its last detail', async () => {
      const { fetchFn } = fakeFetchByUrl({
        [WEB_URL]: [{ status: 200, body: READY }],
        [ORDER_API_URL]: [{ status: 503, body: 'draining' }],
      });
      const error = await postcheck
        .runPostcheck(
          fetchFn,
          request(),
          { ...withServices(WEB_SERVICE, ORDER_API_SERVICE), postcheckSeconds: 10 },
          fakeRuntime(),
        )
        .catch((e: Error) => e);
      expect((error as Error).message).toBe(
        'FAILED: us-west-2: 1 of 2 service(s) not ready after 3 attempt(s) over up to 10 s: order-api. ' +
          `Last: order-api: GET ${ORDER_API_URL}: HTTP 503; body: draining`,
      );
    });

    test('fails naming each failing service when both are not ready', async () => {
      const { fetchFn } = fakeFetchByUrl({
        [WEB_URL]: [{ status: 200, body: READ_ONLY }],
        [ORDER_API_URL]: [new Error('connect ECONNREFUSED')],
      });
      await expect(
        postcheck.runPostcheck(
          fetchFn,
          request(),
          { ...withServices(WEB_SERVICE, ORDER_API_SERVICE), postcheckSeconds: 0 },
          fakeRuntime(),
        ),
      ).rejects.toThrow(
        'FAILED: us-west-2: 2 of 2 service(s) not ready after 1 attempt(s) over up to 0 s: web and order-api. ' +
          `Last: web: GET ${WEB_URL}: HTTP 200, /database/writable false; body: ${READ_ONLY}; ` +
          `order-api: GET ${ORDER_API_URL} failed: connect ECONNREFUSED`,
      );
    });

    test('a service without a readiness path is not checked, and the actions say so', async () => {
      const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
      const worker = { name: 'worker', readinessPath: null, writablePointer: null };
      const result = await postcheck.runPostcheck(fetchFn, request(), withServices(WEB_SERVICE, worker), fakeRuntime());
      expect(calls.map((c) => c.url)).toEqual([WEB_URL]);
      expect(Object.keys(result.checks!)).toEqual(['readiness:web']);
      expect(result.actions).toEqual([
        `web: GET ${WEB_URL} (read-only), 1 attempt(s)`,
        'Skipped worker: no readinessPath in SERVICES, not checked',
      ]);
    });

    test('no service with a readiness path: nothing to GET, and the actions say so', async () => {
      const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
      const worker = { name: 'worker', readinessPath: null, writablePointer: null };
      const batch = { ...worker, name: 'batch' };
      const result = await postcheck.runPostcheck(fetchFn, request(), withServices(worker, batch), fakeRuntime());
      expect(calls).toHaveLength(0);
      expect(result.checks).toEqual({});
      expect(result.actions).toEqual(['Skipped worker and batch: no readinessPath in SERVICES, not checked']);
    });
  });

  describe('writablePointer (RFC 6901)', () => {
    const escaped = {
      name: 'web',
      readinessPath: '/health/ready',
      writablePointer: '/checks/db~1primary/m~0n/writable',
    };

    test('~1 is / and ~0 is ~ in a token', async () => {
      const body = JSON.stringify({ checks: { 'db/primary': { 'm~n': { writable: true } } } });
      const { fetchFn } = fakeFetch({ status: 200, body });
      const result = await postcheck.runPostcheck(fetchFn, request(), withServices(escaped), fakeRuntime());
      expect(result.checks!['readiness:web']!.ok).toBe(true);
    });

    test('the escaped spelling is not a member name', async () => {
      const body = JSON.stringify({ checks: { 'db~1primary': { 'm~0n': { writable: true } } } });
      const { fetchFn } = fakeFetch({ status: 200, body });
      await expect(
        postcheck.runPostcheck(fetchFn, request(), { ...withServices(escaped), postcheckSeconds: 0 }, fakeRuntime()),
      ).rejects.toThrow(
        '/checks/db~1primary/m~0n/writable does not resolve (/checks has no member "db/primary"); body: ',
      );
    });

    test('a pointer that does not resolve fails with the part that is missing', async () => {
      const { fetchFn } = fakeFetch({ status: 200, body: '{"ready":true}' });
      await expect(
        postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 0 }, fakeRuntime()),
      ).rejects.toThrow(
        `Last: web: GET ${WEB_URL}: HTTP 200, /database/writable does not resolve (the document has no member ` +
          '"database"); body: {"ready":true}',
      );
    });

    test('only the value true passes', async () => {
      for (const value of ['true', 1, null, {}]) {
        const { fetchFn } = fakeFetch({ status: 200, body: JSON.stringify({ database: { writable: value } }) });
        await expect(
          postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 0 }, fakeRuntime()),
        ).rejects.toThrow(`/database/writable ${JSON.stringify(value)}; body: `);
      }
    });

    test.each([
      [{ a: [{ b: true }, { b: false }] }, '/a/0/b', { found: true, value: true }],
      [{ a: [{ b: true }, { b: false }] }, '/a/1/b', { found: true, value: false }],
      [{ '': { ' ': 1 } }, '/', { found: true, value: { ' ': 1 } }],
      [{ '': { ' ': 1 } }, '/%20', { found: false, reason: 'the document has no member "%20"' }],
      [{ '': { ' ': 1 } }, '/~1', { found: false, reason: 'the document has no member "/"' }],
      [true, '', { found: true, value: true }],
      [{ a: [1] }, '/a/-', { found: false, reason: '/a is an array of 1 with no index "-"' }],
      [{ a: [1] }, '/a/01', { found: false, reason: '/a is an array of 1 with no index "01"' }],
      [{ a: [1] }, '/a/1', { found: false, reason: '/a is an array of 1 with no index "1"' }],
      [{ a: 'text' }, '/a/b', { found: false, reason: '/a is "text", not an object or array' }],
      [{ 'a/b': { c: null } }, '/a~1b/c/d', { found: false, reason: '/a~1b/c is null, not an object or array' }],
      [{}, '/constructor', { found: false, reason: 'the document has no member "constructor"' }],
      [JSON.parse('{"__proto__":{"x":true}}'), '/__proto__/x', { found: true, value: true }],
    ])('resolveJsonPointer(%j, %j)', (document, pointer, expected) => {
      expect(postcheck.resolveJsonPointer(document, pointer)).toEqual(expected);
    });
  });

  test('handler: Region switch event checks the activating region', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    const result = await postcheck.createHandler(fetchFn)({
      ...REGION_SWITCH_EVENT,
      activateRegion: EAST,
      deactivateRegion: WEST,
    });
    expect(result.targetRegion).toBe(EAST);
    expect(calls[0]!.url).toBe('https://us-east-1.example.com/health/ready');
  });

  test('handler: operator event', async () => {
    const { fetchFn } = fakeFetch({ status: 200, body: READY });
    const result = await postcheck.createHandler(fetchFn)({ targetRegion: WEST });
    expect(result).toMatchObject({ targetRegion: WEST, sourceRegion: EAST, mode: 'planned' });
  });

  test('handler: a missing or bad environment fails with the setting named', async () => {
    const regions = JSON.parse(VALID_ENV.REGIONS!);
    delete regions[EAST].regionalUrl;
    const missing = loadWithEnv<typeof postcheck>('../../lambda/postcheck', {
      REGIONS: JSON.stringify(regions),
      SERVICES: VALID_ENV.SERVICES,
    });
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    await expect(missing.createHandler(fetchFn)(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: REGIONS["us-east-1"].regionalUrl is missing; set it to the region\'s own base URL, ' +
        'https://<region>.<domain>',
    );
    const noServices = loadWithEnv<typeof postcheck>('../../lambda/postcheck', { REGIONS: VALID_ENV.REGIONS });
    await expect(noServices.createHandler(fetchFn)(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: SERVICES is not set',
    );
    const bad = loadWithEnv<typeof postcheck>('../../lambda/postcheck', { ...VALID_ENV, POSTCHECK_SECONDS: '3600' });
    await expect(bad.createHandler(fetchFn)(OPERATOR_EVENT)).rejects.toThrow(
      'POSTCHECK_SECONDS must be a whole number of seconds from 0 to 900 (got "3600")',
    );
    expect(calls).toHaveLength(0);
  });
});
