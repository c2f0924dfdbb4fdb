import { EAST, fakeRuntime, loadWithEnv, OPERATOR_EVENT, REGION_SWITCH_EVENT, VALID_ENV, WEST } from './fixtures';
import * as postcheck from '../../lambda/postcheck';
import { parseSwitchEvent } from '../../lambda/shared/event';

const config = postcheck.loadPostcheckConfig(VALID_ENV);

function request(event: object = OPERATOR_EVENT) {
  return parseSwitchEvent(event, config.regions.names, false);
}

const READY = JSON.stringify({ ready: true, database: { ok: true, writable: true }, cache: { ok: true } });
const READ_ONLY = JSON.stringify({ ready: true, database: { ok: true, writable: false } });

/** A fetch that answers from `replies` in turn (the last one repeats); an Error reply rejects. */
function fakeFetch(...replies: ({ status: number; body: string } | Error)[]) {
  const calls: { url: string; signal: AbortSignal }[] = [];
  const fetchFn: postcheck.Fetch = async (url, init) => {
    calls.push({ url, signal: init.signal });
    const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (reply instanceof Error) throw reply;
    return { status: reply.status, text: async () => reply.body };
  };
  return { fetchFn, calls };
}

describe('postcheck', () => {
  test('passes on HTTP 200 with a writable database, GETting the target region URL', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    const result = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    expect(result).toMatchObject({ function: 'postcheck', targetRegion: WEST, changed: false });
    expect(result.checks!.readiness!.ok).toBe(true);
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
    expect(result.actions).toEqual(['GET https://us-west-2.example.com/health/ready (read-only), 4 attempt(s)']);
  });

  test('fails after the bounded time with the last status and body', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READ_ONLY });
    const rt = fakeRuntime();
    await expect(postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 20 }, rt)).rejects.toThrow(
      'FAILED: us-west-2 is not ready and writable after 5 attempt(s) over up to 20 s. Last: GET ' +
        'https://us-west-2.example.com/health/ready: HTTP 200, database.writable false; body: ' +
        READ_ONLY,
    );
    expect(calls).toHaveLength(5);
  });

  test('reports a non-JSON body, truncated', async () => {
    const body = 'x'.repeat(5000);
    const { fetchFn } = fakeFetch({ status: 502, body });
    await expect(
      postcheck.runPostcheck(fetchFn, request(), { ...config, postcheckSeconds: 0 }, fakeRuntime()),
    ).rejects.toThrow(`HTTP 502, database.writable undefined; body: ${'x'.repeat(1000)}...`);
  });

  test('a throttled answer (HTTP 429) is retried, then succeeds', async () => {
    const { fetchFn, calls } = fakeFetch({ status: 429, body: 'Too Many Requests' }, { status: 200, body: READY });
    const rt = fakeRuntime();
    const result = await postcheck.runPostcheck(fetchFn, request(), config, rt);
    expect(result.checks!.readiness!.ok).toBe(true);
    expect(calls).toHaveLength(2);
    expect(rt.sleeps).toEqual([5000]);
  });

  test('a network error is retried like a bad answer', async () => {
    const { fetchFn } = fakeFetch(new Error('The operation was aborted due to timeout'), { status: 200, body: READY });
    const result = await postcheck.runPostcheck(fetchFn, request(), config, fakeRuntime());
    expect(result.checks!.readiness!.ok).toBe(true);
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
    delete regions[EAST].serviceUrl;
    const missing = loadWithEnv<typeof postcheck>('../../lambda/postcheck', { REGIONS: JSON.stringify(regions) });
    const { fetchFn, calls } = fakeFetch({ status: 200, body: READY });
    await expect(missing.createHandler(fetchFn)(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: REGIONS["us-east-1"].serviceUrl is missing; set it to an https:// URL',
    );
    const bad = loadWithEnv<typeof postcheck>('../../lambda/postcheck', { ...VALID_ENV, POSTCHECK_SECONDS: '3600' });
    await expect(bad.createHandler(fetchFn)(OPERATOR_EVENT)).rejects.toThrow(
      'POSTCHECK_SECONDS must be a whole number of seconds from 0 to 900 (got "3600")',
    );
    expect(calls).toHaveLength(0);
  });
});
