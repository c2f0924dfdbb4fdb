import {
  EAST,
  envWithout,
  fakeRuntime,
  OPERATOR_EVENT,
  REGION_SWITCH_EVENT,
  RESOURCES,
  VALID_ENV,
  WEST,
} from './fixtures';
import type { Context } from 'aws-lambda';
import {
  booleanFromEnv,
  ColdStartConfig,
  dataComponents,
  globalDatastoreId,
  jsonPointerTokens,
  parseRegions,
  parseServices,
  secondsFromEnv,
} from '../../lambda/shared/config';
import { ConfigError } from '../../lambda/shared/errors';
import { parsePlanStepEvent, parseSwitchEvent } from '../../lambda/shared/event';
import {
  invocationKeys,
  invocationOf,
  lambdaEntry,
  newResult,
  parseRequest,
  pollUntil,
  waitDeadline,
  type SwitchRun,
} from '../../lambda/shared/runtime';

const REGIONS = [EAST, WEST];

describe('parseSwitchEvent', () => {
  test('reads Region switch activation fields', () => {
    const request = parseSwitchEvent(REGION_SWITCH_EVENT, REGIONS, false);
    expect(request).toMatchObject({
      targetRegion: WEST,
      sourceRegion: EAST,
      mode: 'planned',
      dryRun: false,
      origin: 'region-switch',
      executionId: 'a1b2c3d4',
    });
  });

  test('maps ungraceful to unplanned', () => {
    expect(parseSwitchEvent({ ...REGION_SWITCH_EVENT, executionMode: 'ungraceful' }, REGIONS, false).mode).toBe(
      'unplanned',
    );
  });

  test('reads the activatingRegion spelling and derives the other region', () => {
    const request = parseSwitchEvent({ activatingRegion: EAST }, REGIONS, false);
    expect(request).toMatchObject({ targetRegion: EAST, sourceRegion: WEST, origin: 'region-switch' });
  });

  test('a deactivate action on targetRegion activates the other region', () => {
    const request = parseSwitchEvent({ action: 'deactivate', targetRegion: EAST, mode: 'graceful' }, REGIONS, false);
    expect(request).toMatchObject({ targetRegion: WEST, sourceRegion: EAST, mode: 'planned' });
  });

  test('reads the fields under an EventBridge-style detail', () => {
    const request = parseSwitchEvent({ detail: { activateRegion: EAST, executionMode: 'ungraceful' } }, REGIONS, false);
    expect(request).toMatchObject({ targetRegion: EAST, mode: 'unplanned', origin: 'region-switch' });
  });

  test('reads the operator shape, with sourceRegion defaulting to the other region', () => {
    expect(parseSwitchEvent(OPERATOR_EVENT, REGIONS, false)).toMatchObject({
      targetRegion: WEST,
      sourceRegion: EAST,
      mode: 'planned',
      origin: 'operator',
    });
    expect(parseSwitchEvent({ targetRegion: EAST, mode: 'unplanned', dryRun: true }, REGIONS, false)).toMatchObject({
      sourceRegion: WEST,
      mode: 'unplanned',
      dryRun: true,
    });
  });

  test('DRY_RUN from the environment forces a dry run', () => {
    expect(parseSwitchEvent(OPERATOR_EVENT, REGIONS, true).dryRun).toBe(true);
  });

  test.each([
    [null, 'expected a JSON object (got null)'],
    [{}, 'expected Region switch fields'],
    [{ targetRegion: 'eu-west-1' }, 'targetRegion eu-west-1 is not one of the service'],
    [{ targetRegion: WEST, sourceRegion: WEST }, 'target and source region are both us-west-2'],
    [{ targetRegion: WEST, mode: 'sideways' }, 'mode must be planned or unplanned'],
    [{ targetRegion: WEST, dryRun: 'yes' }, 'dryRun must be true or false'],
    [{ action: 'postRecovery', targetRegion: WEST }, 'action must be activate or deactivate'],
    [{ action: 'activate', targetRegion: WEST, activateRegion: EAST }, 'contradicts the activate region'],
    [{ executionId: 'x' }, 'must name the region to activate or deactivate'],
  ])('rejects %j', (event, message) => {
    expect(() => parseSwitchEvent(event, REGIONS, false)).toThrow(message);
  });
});

describe('parseRequest', () => {
  test('logs the keys, not the values, of an event it cannot read', () => {
    const rt = fakeRuntime();
    expect(() => parseRequest(rt.log, { region: 'us-west-2', detail: { step: 'x' } }, REGIONS, false)).toThrow(
      'Invalid event',
    );
    expect(rt.log.entries).toEqual([
      {
        level: 'error',
        message: 'Invalid event',
        fields: expect.objectContaining({ eventKeys: ['region', 'detail'], detailKeys: ['step'] }),
      },
    ]);
    expect(JSON.stringify(rt.log.entries)).not.toContain('us-west-2');
  });
});

describe('parseRegions', () => {
  const valid = JSON.stringify(RESOURCES);

  test('accepts both regions with the required keys', () => {
    const regions = parseRegions(valid, ['fileSystemId', 'regionalUrl']);
    expect(regions.names).toEqual([EAST, WEST]);
    expect(regions.byName[WEST]!.fileSystemId).toBe('fs-0fedcba9876543210');
    expect(regions.byName[WEST]!.regionalUrl).toBe('https://us-west-2.example.com');
  });

  test('accepts a regional URL with a trailing slash', () => {
    const raw = JSON.stringify({ [EAST]: RESOURCES[EAST], [WEST]: { regionalUrl: 'https://us-west-2.example.com/' } });
    expect(parseRegions(raw, []).byName[WEST]!.regionalUrl).toBe('https://us-west-2.example.com/');
  });

  test('serviceUrl is no longer a key: it is neither required nor read', () => {
    const raw = JSON.stringify({
      [EAST]: { ...RESOURCES[EAST], serviceUrl: 'https://us-east-1.example.com/health/ready' },
      [WEST]: RESOURCES[WEST],
    });
    expect(parseRegions(raw, ['regionalUrl']).byName[EAST]).not.toHaveProperty('serviceUrl');
  });

  test.each([
    ['http', 'http://us-west-2.example.com'],
    ['with a path', 'https://us-west-2.example.com/health/ready'],
    ['with a query', 'https://us-west-2.example.com/?x=1'],
    ['with an empty query', 'https://us-west-2.example.com?'],
    ['with a fragment', 'https://us-west-2.example.com/#top'],
    ['of the other region', 'https://us-east-1.example.com'],
    ['not a URL', 'us-west-2.example.com'],
  ])('rejects a regional URL %s', (_label, url) => {
    const raw = JSON.stringify({ [EAST]: RESOURCES[EAST], [WEST]: { ...RESOURCES[WEST], regionalUrl: url } });
    expect(() => parseRegions(raw, ['regionalUrl'])).toThrow(
      `Invalid configuration: REGIONS["us-west-2"].regionalUrl must be the region's own base URL, ` +
        `https://<region>.<domain> (https, no path, query or fragment) (got ${JSON.stringify(url)}).`,
    );
  });

  test.each([
    ['unset', undefined, 'Invalid configuration: REGIONS is not set'],
    ['not JSON', '{', 'REGIONS is not valid JSON'],
    ['an array', '[]', 'REGIONS must be a JSON object'],
    [
      'one region',
      JSON.stringify({ [EAST]: RESOURCES[EAST] }),
      'REGIONS must name exactly two regions (got 1: us-east-1)',
    ],
    [
      'a bad region name',
      JSON.stringify({ [EAST]: RESOURCES[EAST], east: {} }),
      'REGIONS has a key "east" that is not a region name',
    ],
    [
      'a non-object entry',
      JSON.stringify({ [EAST]: RESOURCES[EAST], [WEST]: 'x' }),
      'REGIONS["us-west-2"] must be an object',
    ],
    [
      'a missing required key',
      JSON.stringify({ [EAST]: RESOURCES[EAST], [WEST]: { ...RESOURCES[WEST], fileSystemId: undefined } }),
      'REGIONS["us-west-2"].fileSystemId is missing; set it to an EFS file system ID',
    ],
    [
      'an http URL',
      JSON.stringify({ [EAST]: RESOURCES[EAST], [WEST]: { ...RESOURCES[WEST], regionalUrl: 'http://x/health' } }),
      'REGIONS["us-west-2"].regionalUrl must be the region\'s own base URL',
    ],
    [
      "the other region's app stack",
      JSON.stringify({
        [EAST]: RESOURCES[EAST],
        [WEST]: { ...RESOURCES[WEST], appStackName: RESOURCES[EAST].appStackName },
      }),
      `REGIONS["us-west-2"].appStackName must be the name of the region's app stack, ending in the region`,
    ],
  ])('rejects REGIONS that is %s', (_label, raw, message) => {
    expect(() => parseRegions(raw, ['fileSystemId'])).toThrow(message);
  });
});

describe('parseServices', () => {
  const web = { name: 'web', readinessPath: '/health/ready', writablePointer: '/database/writable' };

  test('reads 1 to 20 services, with null paths and pointers', () => {
    const services = [
      web,
      { name: 'order-api', readinessPath: '/api/orders/ready', writablePointer: null },
      { name: 'worker2', readinessPath: null, writablePointer: null },
      { name: 'a', readinessPath: '/', writablePointer: '/a~1b/~0c/0' },
    ];
    expect(parseServices(JSON.stringify(services))).toEqual(services);
    const twenty = Array.from({ length: 20 }, (_, i) => ({ ...web, name: `svc-${i}` }));
    expect(parseServices(JSON.stringify(twenty))).toHaveLength(20);
    expect(parseServices(JSON.stringify([{ ...web, name: 'a'.repeat(20) }]))[0]!.name).toHaveLength(20);
  });

  test.each([
    ['unset', undefined, 'SERVICES is not set; set it to a JSON array of the environment\'s services, [{"name":"web",'],
    ['empty', '', 'SERVICES is not set'],
    ['not JSON', '[{"name":', 'SERVICES is not valid JSON ('],
    ['not an array', JSON.stringify(web), 'SERVICES must be a JSON array of services such as [{"name":"web"'],
    ['an empty array', '[]', 'SERVICES must list 1 to 20 services (got 0).'],
    [
      'more than 20 services',
      JSON.stringify(Array.from({ length: 21 }, (_, i) => ({ ...web, name: `svc-${i}` }))),
      'SERVICES must list 1 to 20 services (got 21).',
    ],
    [
      'a non-object entry',
      '["web"]',
      'SERVICES[0] must be an object {"name", "readinessPath", "writablePointer"} (got "web").',
    ],
    [
      'duplicate names',
      JSON.stringify([web, { ...web, name: 'api' }, web]),
      'SERVICES[2].name "web" is also SERVICES[0]\'s; give each service a unique name.',
    ],
    [
      'a name in capitals',
      JSON.stringify([{ ...web, name: 'Web' }]),
      'SERVICES[0].name must be a service name: lower-case letters and digits in dash-separated words, starting with ' +
        'a letter, at most 20 characters, such as web or order-api (got "Web").',
    ],
    [
      'a name with a double dash',
      JSON.stringify([{ ...web, name: 'order--api' }]),
      'SERVICES[0].name must be a service name',
    ],
    ['a name ending in a dash', JSON.stringify([{ ...web, name: 'web-' }]), 'SERVICES[0].name must be a service name'],
    [
      'a name starting with a digit',
      JSON.stringify([{ ...web, name: '1web' }]),
      'SERVICES[0].name must be a service name',
    ],
    ['a name of 21 characters', JSON.stringify([{ ...web, name: 'a'.repeat(21) }]), `(got "${'a'.repeat(21)}")`],
    ['a missing name', JSON.stringify([{ readinessPath: null, writablePointer: null }]), '(got undefined)'],
    [
      'a path without a leading slash',
      JSON.stringify([{ ...web, readinessPath: 'health/ready' }]),
      'SERVICES[0].readinessPath must be a URL path starting with / (no query, fragment or spaces), such as ' +
        '/health/ready, or null (got "health/ready").',
    ],
    ['a path with a query', JSON.stringify([{ ...web, readinessPath: '/health?deep=1' }]), '(got "/health?deep=1")'],
    [
      'a path with a space',
      JSON.stringify([{ ...web, readinessPath: '/health ready' }]),
      'readinessPath must be a URL path',
    ],
    ['a path that is a URL', JSON.stringify([{ ...web, readinessPath: 'https://x/health' }]), 'readinessPath must be'],
    ['a path that is not a string', JSON.stringify([{ ...web, readinessPath: 5 }]), '(got 5)'],
    [
      'a missing path',
      JSON.stringify([{ name: 'web', writablePointer: null }]),
      "SERVICES[0].readinessPath is missing; set it to the path of web's readiness endpoint (starting with /), or null",
    ],
    [
      'a pointer without a leading slash',
      JSON.stringify([{ ...web, writablePointer: 'database/writable' }]),
      'SERVICES[0].writablePointer must be an RFC 6901 JSON pointer such as /database/writable (each token after a /, ' +
        '~ written ~0 and / written ~1), or null (got "database/writable").',
    ],
    ['a dotted path for a pointer', JSON.stringify([{ ...web, writablePointer: 'database.writable' }]), 'RFC 6901'],
    ['a pointer with a bad escape', JSON.stringify([{ ...web, writablePointer: '/a~2b' }]), '(got "/a~2b")'],
    ['a pointer ending in ~', JSON.stringify([{ ...web, writablePointer: '/a~' }]), '(got "/a~")'],
    ['an empty pointer', JSON.stringify([{ ...web, writablePointer: '' }]), 'writablePointer must be an RFC 6901'],
    ['a pointer that is not a string', JSON.stringify([{ ...web, writablePointer: true }]), '(got true)'],
    [
      'a missing pointer',
      JSON.stringify([{ name: 'web', readinessPath: '/health' }]),
      'SERVICES[0].writablePointer is missing',
    ],
    [
      'a pointer without a path',
      JSON.stringify([{ name: 'web', readinessPath: null, writablePointer: '/database/writable' }]),
      'SERVICES[0].writablePointer is "/database/writable" but readinessPath is null',
    ],
    [
      'a misspelt key',
      JSON.stringify([{ ...web, readinesPath: '/x' }]),
      'SERVICES[0] has unknown key(s) "readinesPath"; its keys are name, readinessPath and writablePointer.',
    ],
  ])('rejects SERVICES that is %s', (_label, raw, message) => {
    expect(() => parseServices(raw)).toThrow(ConfigError);
    expect(() => parseServices(raw)).toThrow(message);
  });
});

describe('jsonPointerTokens', () => {
  test.each([
    ['', []],
    ['/', ['']],
    ['/database/writable', ['database', 'writable']],
    ['/a~1b', ['a/b']],
    ['/m~0n', ['m~n']],
    ['/~01', ['~1']],
    ['/~10', ['/0']],
    ['/0/-', ['0', '-']],
  ])('%j has the tokens %j', (pointer, tokens) => {
    expect(jsonPointerTokens(pointer)).toEqual(tokens);
  });

  test.each(['database/writable', '/a~', '/a~2', '#/a'])('%j is not a JSON pointer', (pointer) => {
    expect(jsonPointerTokens(pointer)).toBeUndefined();
  });
});

describe('dataComponents', () => {
  const components = (env: Record<string, string>) => dataComponents(env, parseRegions(env.REGIONS, []));

  test('all three, with their global IDs', () => {
    expect(components(VALID_ENV)).toEqual({
      present: ['database', 'cache', 'files'],
      globalClusterIdentifier: 'haweb-prod-global',
      globalDatastoreId: 'ldgnf-haweb-prod-sessions',
    });
  });

  test('each one is optional, and an empty global variable counts as unset', () => {
    expect(components(envWithout('database', 'cache'))).toEqual({ present: ['files'] });
    expect(components(envWithout('files'))).toMatchObject({ present: ['database', 'cache'] });
    expect(components(envWithout('database', 'cache', 'files'))).toEqual({ present: [] });
    expect(components({ ...envWithout('database'), GLOBAL_CLUSTER_IDENTIFIER: '' }).present).toEqual([
      'cache',
      'files',
    ]);
  });

  /** REGIONS of {@link VALID_ENV} with `key` removed from `regions`. */
  const regionsWithout = (key: string, ...regions: string[]) => {
    const parsed = JSON.parse(VALID_ENV.REGIONS!) as Record<string, Record<string, string>>;
    for (const region of regions) delete parsed[region]![key];
    return JSON.stringify(parsed);
  };

  test.each([
    [
      "GLOBAL_CLUSTER_IDENTIFIER without a region's cluster",
      { ...VALID_ENV, REGIONS: regionsWithout('dbClusterIdentifier', WEST) },
      'Invalid configuration: GLOBAL_CLUSTER_IDENTIFIER is set (the environment has a database) but ' +
        'REGIONS["us-west-2"].dbClusterIdentifier is missing; set dbClusterIdentifier in both regions, or unset ' +
        'GLOBAL_CLUSTER_IDENTIFIER if the environment has no database.',
    ],
    [
      'GLOBAL_CLUSTER_IDENTIFIER without any cluster',
      { ...VALID_ENV, REGIONS: regionsWithout('dbClusterIdentifier', EAST, WEST) },
      'REGIONS["us-east-1"].dbClusterIdentifier and REGIONS["us-west-2"].dbClusterIdentifier are missing',
    ],
    [
      'clusters without GLOBAL_CLUSTER_IDENTIFIER',
      { ...VALID_ENV, GLOBAL_CLUSTER_IDENTIFIER: '' },
      'Invalid configuration: REGIONS["us-east-1"].dbClusterIdentifier and REGIONS["us-west-2"].dbClusterIdentifier ' +
        'are set but GLOBAL_CLUSTER_IDENTIFIER is not: an environment with a database needs both (set ' +
        'GLOBAL_CLUSTER_IDENTIFIER), one without needs neither (remove dbClusterIdentifier from REGIONS).',
    ],
    [
      'one cache group without GLOBAL_DATASTORE_ID',
      { ...envWithout('cache'), REGIONS: regionsWithout('cacheReplicationGroupId', WEST) },
      'REGIONS["us-east-1"].cacheReplicationGroupId is set but GLOBAL_DATASTORE_ID is not',
    ],
    [
      "GLOBAL_DATASTORE_ID without a region's group",
      { ...VALID_ENV, REGIONS: regionsWithout('cacheReplicationGroupId', EAST) },
      'GLOBAL_DATASTORE_ID is set (the environment has a cache) but REGIONS["us-east-1"].cacheReplicationGroupId is missing',
    ],
    [
      "one region's file system",
      { ...VALID_ENV, REGIONS: regionsWithout('fileSystemId', EAST) },
      'Invalid configuration: REGIONS["us-west-2"].fileSystemId is set but REGIONS["us-east-1"].fileSystemId is not: ' +
        'an environment with files needs fileSystemId in both regions, one without needs it in neither.',
    ],
    [
      'a malformed GLOBAL_DATASTORE_ID',
      { ...VALID_ENV, GLOBAL_DATASTORE_ID: 'sessions' },
      'GLOBAL_DATASTORE_ID must be the full Global Datastore ID including its AWS prefix',
    ],
  ])('refuses %s', (_label, env, message) => {
    expect(() => components(env)).toThrow(ConfigError);
    expect(() => components(env)).toThrow(message);
  });
});

describe('environment values', () => {
  test('seconds: default, value, and errors', () => {
    expect(secondsFromEnv({}, 'WAIT_SECONDS', 600, 900)).toBe(600);
    expect(secondsFromEnv({ WAIT_SECONDS: '30' }, 'WAIT_SECONDS', 600, 900)).toBe(30);
    expect(() => secondsFromEnv({ WAIT_SECONDS: '-1' }, 'WAIT_SECONDS', 600, 900)).toThrow(
      'WAIT_SECONDS must be a whole number of seconds from 0 to 900 (got "-1")',
    );
    expect(() => secondsFromEnv({ WAIT_SECONDS: '901' }, 'WAIT_SECONDS', 600, 900)).toThrow('from 0 to 900');
  });

  test('booleans', () => {
    expect(booleanFromEnv({}, 'DRY_RUN')).toBe(false);
    expect(booleanFromEnv({ DRY_RUN: 'TRUE' }, 'DRY_RUN')).toBe(true);
    expect(() => booleanFromEnv({ DRY_RUN: '1' }, 'DRY_RUN')).toThrow('DRY_RUN must be true or false (got "1")');
  });

  test('Global Datastore ID needs the AWS prefix', () => {
    expect(() => globalDatastoreId({ GLOBAL_DATASTORE_ID: 'sessions' })).toThrow(
      'GLOBAL_DATASTORE_ID must be the full Global Datastore ID including its AWS prefix',
    );
    expect(() => globalDatastoreId({})).toThrow('GLOBAL_DATASTORE_ID is not set');
  });

  test('a cold-start error is reported at init and by every get', () => {
    const seen: string[] = [];
    const config = new ColdStartConfig(
      () => {
        throw new Error('bad');
      },
      (err) => seen.push(err.message),
    );
    expect(seen).toEqual(['bad']);
    expect(() => config.get()).toThrow('bad');
    expect(() => config.get()).toThrow('bad');
  });
});

describe('pollUntil', () => {
  test('stops when the condition holds', async () => {
    const rt = fakeRuntime();
    const values = [1, 2, 3];
    const result = await pollUntil(
      rt,
      async () => values.shift()!,
      (v) => v === 2,
      1000,
      rt.now() + 10_000,
    );
    expect(result).toEqual({ value: 2, met: true, probes: 2 });
  });

  test('stops at the deadline', async () => {
    const rt = fakeRuntime();
    const result = await pollUntil(
      rt,
      async () => 0,
      () => false,
      1000,
      rt.now() + 3500,
    );
    expect(result).toEqual({ value: 0, met: false, probes: 4 });
  });

  test('a wait never ends past the function deadline', () => {
    const rt = fakeRuntime(60_000);
    expect(waitDeadline(rt, 600)).toBe(rt.deadline);
    expect(waitDeadline(rt, 10)).toBe(rt.now() + 10_000);
  });
});

describe('plan step invocation (INVOKED_BY=region-switch-plan)', () => {
  test('an event without any known field is the planned activation of the function’s own region', () => {
    for (const event of [{}, { unknownKey: 'x' }, null, 'text']) {
      expect(parsePlanStepEvent(event, REGIONS, false, WEST)).toMatchObject({
        targetRegion: WEST,
        sourceRegion: EAST,
        mode: 'planned',
        origin: 'region-switch',
        dryRun: false,
      });
    }
  });

  test('Region switch fields that agree are read (execution ID, plan ARN)', () => {
    expect(parsePlanStepEvent(REGION_SWITCH_EVENT, REGIONS, false, WEST)).toMatchObject({
      targetRegion: WEST,
      executionId: 'a1b2c3d4',
      planArn: REGION_SWITCH_EVENT.planArn,
    });
  });

  test('an event that activates the other region is refused as contradictory', () => {
    expect(() =>
      parsePlanStepEvent(
        { ...REGION_SWITCH_EVENT, activateRegion: EAST, deactivateRegion: WEST },
        REGIONS,
        false,
        WEST,
      ),
    ).toThrow(/the event activates us-east-1, but this plan step's copy runs in us-west-2/);
    expect(() => parsePlanStepEvent({ targetRegion: EAST }, REGIONS, false, WEST)).toThrow(/activates us-east-1/);
  });

  test('an ungraceful event is read as unplanned (should the plan ever run a Lambda step ungracefully)', () => {
    expect(
      parsePlanStepEvent({ ...REGION_SWITCH_EVENT, executionMode: 'ungraceful' }, REGIONS, false, WEST),
    ).toMatchObject({ targetRegion: WEST, mode: 'unplanned' });
  });

  test('dry run from the environment or the event', () => {
    expect(parsePlanStepEvent({}, REGIONS, true, WEST).dryRun).toBe(true);
    expect(parsePlanStepEvent({ dryRun: true }, REGIONS, false, WEST).dryRun).toBe(true);
  });

  test('a function region outside the service is refused', () => {
    expect(() => parsePlanStepEvent({}, REGIONS, false, 'eu-west-1')).toThrow(/runs in eu-west-1, which is not one/);
  });

  test('invocationOf reads INVOKED_BY and AWS_REGION, and rejects other values', () => {
    expect(invocationOf({})).toEqual({ planStep: false, functionRegion: undefined });
    expect(invocationOf({ INVOKED_BY: 'region-switch-plan', AWS_REGION: WEST })).toEqual({
      planStep: true,
      functionRegion: WEST,
    });
    expect(() => invocationOf({ INVOKED_BY: 'someone' })).toThrow(/INVOKED_BY must be region-switch-plan or unset/);
    expect(() => invocationOf({ INVOKED_BY: 'region-switch-plan' })).toThrow(/AWS_REGION is not set/);
  });

  test('the operator copy still requires a region: an empty event is invalid there', () => {
    expect(() => parseSwitchEvent({}, REGIONS, false)).toThrow(/Invalid event/);
  });
});

describe('handler logging (Powertools logger)', () => {
  type Line = Record<string, unknown>;

  /** The Lambda context of invocation `requestId`. */
  function lambdaContext(requestId: string): Context {
    return {
      awsRequestId: requestId,
      functionName: 'HaWeb-prod-Ops-Preflight',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:HaWeb-prod-Ops-Preflight',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/HaWeb-prod-Ops-Preflight',
      logStreamName: '2025/06/01/[$LATEST]0123456789abcdef',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  /** An entry point over `run`, logging at INFO (the other tests silence the logger). */
  function entry(run: SwitchRun<{ regions: ReturnType<typeof parseRegions>; dryRun: boolean }>) {
    const saved = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    try {
      return lambdaEntry('rejoin', (env) => ({ regions: parseRegions(env.REGIONS, []), dryRun: false }))(run);
    } finally {
      process.env.POWERTOOLS_LOG_LEVEL = saved;
    }
  }

  /** The JSON lines the logger printed (to stdout or stderr) while `invoke` ran, and its outcome. */
  async function printed(invoke: () => Promise<unknown>): Promise<Line[]> {
    const chunks: string[] = [];
    const capture = (chunk: unknown) => {
      chunks.push(String(chunk));
      return true;
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await invoke().catch(() => undefined);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    return chunks
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  }

  const step: SwitchRun<unknown> = async (request, _config, rt) => {
    rt.log.info('Step');
    return newResult('test', request);
  };

  test("every line of an invocation carries the Lambda request ID and the plan execution's identifiers", async () => {
    const handler = entry(step);
    const lines = await printed(() => handler(REGION_SWITCH_EVENT, lambdaContext('req-1')));
    expect(lines.map((l) => l.message)).toEqual(['Request', 'Step', 'Result']);
    for (const line of lines) {
      expect(line).toMatchObject({
        service: 'region-switch-rejoin',
        function_request_id: 'req-1',
        function_name: 'HaWeb-prod-Ops-Preflight',
        function_arn: 'arn:aws:lambda:us-west-2:123456789012:function:HaWeb-prod-Ops-Preflight',
        executionId: 'a1b2c3d4',
        planArn: REGION_SWITCH_EVENT.planArn,
        targetRegion: WEST,
      });
    }
  });

  test('the keys end with the invocation, failed or not: the next one carries only its own', async () => {
    const handler = entry(async (request, config, rt) => {
      if (request.executionId) throw new Error('boom');
      return step(request, config, rt);
    });
    const failed = await printed(() => handler(REGION_SWITCH_EVENT, lambdaContext('req-1')));
    expect(failed.map((l) => l.message)).toEqual(['Request', 'Failed']);
    expect(failed[1]).toMatchObject({
      level: 'ERROR',
      function_request_id: 'req-1',
      executionId: 'a1b2c3d4',
      targetRegion: WEST,
      error: { name: 'Error', message: 'boom' },
    });
    const next = await printed(() => handler({ targetRegion: EAST }, lambdaContext('req-2')));
    expect(next.map((l) => l.message)).toEqual(['Request', 'Step', 'Result']);
    for (const line of next) {
      expect(line).toMatchObject({ function_request_id: 'req-2', targetRegion: EAST });
      expect(line).not.toHaveProperty('executionId');
      expect(line).not.toHaveProperty('planArn');
    }
  });

  test('an event it cannot read is logged with the Lambda request ID, and no execution keys', async () => {
    const handler = entry(step);
    const lines = await printed(() => handler({ nothing: true }, lambdaContext('req-3')));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'Invalid event',
        function_request_id: 'req-3',
        eventKeys: ['nothing'],
        error: expect.objectContaining({
          name: 'InvalidEventError',
          message: expect.stringMatching(/^Invalid event: expected Region switch fields/),
        }),
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('targetRegion');
  });

  test('invocationKeys: the target region, and the execution ID and plan ARN only when the event has them', () => {
    expect(invocationKeys(parseSwitchEvent(REGION_SWITCH_EVENT, REGIONS, false))).toEqual({
      targetRegion: WEST,
      executionId: 'a1b2c3d4',
      planArn: REGION_SWITCH_EVENT.planArn,
    });
    expect(invocationKeys(parseSwitchEvent(OPERATOR_EVENT, REGIONS, false))).toEqual({ targetRegion: WEST });
  });
});
