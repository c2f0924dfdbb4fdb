import {
  EAST,
  fakeRuntime,
  loadWithEnv,
  OPERATOR_EVENT,
  REGION_SWITCH_EVENT,
  retrySettings,
  throttled,
  VALID_ENV,
  WEST,
} from './fixtures';
import {
  DescribeGlobalReplicationGroupsCommand,
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
  GlobalReplicationGroupNotFoundFault,
  type DescribeGlobalReplicationGroupsMessage,
  type DescribeGlobalReplicationGroupsResult,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import * as cacheFailover from '../../lambda/cache-failover';
import { parseSwitchEvent } from '../../lambda/shared/event';
import { SDK_RETRY } from '../../lambda/shared/sdk';

const elasticache = mockClient(ElastiCacheClient);
const client = new ElastiCacheClient({ region: WEST });
const config = cacheFailover.loadCacheFailoverConfig(VALID_ENV);

function request(event: object = OPERATOR_EVENT) {
  return parseSwitchEvent(event, config.regions.names, false);
}

/** The datastore with `primary` as PRIMARY and the other region as SECONDARY. */
function datastore(primary: string, status = 'available'): DescribeGlobalReplicationGroupsResult {
  const member = (region: string) => ({
    ReplicationGroupId: region === EAST ? 'haweb-prod-east-cache' : 'haweb-prod-west-cache',
    ReplicationGroupRegion: region,
    Role: region === primary ? 'PRIMARY' : 'SECONDARY',
    Status: 'associated',
  });
  return {
    GlobalReplicationGroups: [
      { GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions', Status: status, Members: [member(EAST), member(WEST)] },
    ],
  };
}

beforeEach(() => elasticache.reset());

describe('cache-failover', () => {
  test('fails over to the target region, then waits until it is PRIMARY and available', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore(EAST))
      .resolvesOnce(datastore(EAST, 'modifying'))
      .resolvesOnce(datastore(WEST, 'modifying'))
      .resolves(datastore(WEST));
    elasticache.on(FailoverGlobalReplicationGroupCommand).resolves({});
    const rt = fakeRuntime();
    const result = await cacheFailover.runCacheFailover(client, request(), config, rt);
    expect(result).toMatchObject({ function: 'cache-failover', targetRegion: WEST, changed: true, dryRun: false });
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)[0]!.args[0].input).toEqual({
      GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions',
      PrimaryRegion: WEST,
      PrimaryReplicationGroupId: 'haweb-prod-west-cache',
    });
    expect(elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)[0]!.args[0].input).toEqual({
      GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions',
      ShowMemberInfo: true,
    });
    expect(rt.sleeps).toEqual([10_000, 10_000]);
    expect(result.actions.at(-1)).toBe(
      'haweb-prod-west-cache in us-west-2 is PRIMARY and ldgnf-haweb-prod-sessions is available (3 status reads)',
    );
  });

  test('already PRIMARY and available: success, changed false, no failover call', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore(WEST));
    const result = await cacheFailover.runCacheFailover(client, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(result.actions).toEqual([
      'haweb-prod-west-cache in us-west-2 is already PRIMARY of ldgnf-haweb-prod-sessions; nothing to do',
    ]);
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('a retried step whose failover is finishing waits for it and does not fail over again', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore(WEST, 'modifying'))
      .resolves(datastore(WEST));
    const result = await cacheFailover.runCacheFailover(client, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('in progress: waits for the datastore, then refuses if it stays busy', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore(EAST, 'modifying'));
    const rt = fakeRuntime();
    await expect(cacheFailover.runCacheFailover(client, request(), { ...config, waitSeconds: 60 }, rt)).rejects.toThrow(
      'REFUSED: Global Datastore ldgnf-haweb-prod-sessions is modifying, not available (a failover or modification ' +
        'is in progress: status modifying, PRIMARY: haweb-prod-east-cache (us-east-1)); retry the step once it is available.',
    );
    expect(rt.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60_000);
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('in progress, then available: proceeds with the failover', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore(EAST, 'modifying'))
      .resolvesOnce(datastore(EAST))
      .resolves(datastore(WEST));
    elasticache.on(FailoverGlobalReplicationGroupCommand).resolves({});
    const result = await cacheFailover.runCacheFailover(client, request(), config, fakeRuntime());
    expect(result.changed).toBe(true);
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(1);
  });

  test('refuses two PRIMARY members as ambiguous', async () => {
    const both = datastore(EAST);
    both.GlobalReplicationGroups![0]!.Members![1]!.Role = 'PRIMARY';
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(both);
    await expect(cacheFailover.runCacheFailover(client, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: Global Datastore ldgnf-haweb-prod-sessions reports more than one PRIMARY',
    );
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('refuses when the target region member is not the configured replication group', async () => {
    const other = datastore(EAST);
    other.GlobalReplicationGroups![0]!.Members![1]!.ReplicationGroupId = 'someone-else';
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(other);
    await expect(cacheFailover.runCacheFailover(client, request(), config, fakeRuntime())).rejects.toThrow(
      "REFUSED: Global Datastore ldgnf-haweb-prod-sessions's member in us-west-2 is someone-else, but REGIONS names " +
        'haweb-prod-west-cache',
    );
  });

  test('refuses when the datastore does not exist', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves({ GlobalReplicationGroups: [] });
    await expect(cacheFailover.runCacheFailover(client, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: Global Datastore ldgnf-haweb-prod-sessions was not found from us-west-2',
    );
  });

  test("ElastiCache's GlobalReplicationGroupNotFoundFault (what the API answers for an unknown ID) is that refusal", async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .rejects(new GlobalReplicationGroupNotFoundFault({ message: 'GlobalReplicationGroup not found', $metadata: {} }));
    await expect(cacheFailover.runCacheFailover(client, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: Global Datastore ldgnf-haweb-prod-sessions was not found from us-west-2; check GLOBAL_DATASTORE_ID.',
    );
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('other errors of the read reach the step as they are', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    elasticache.on(DescribeGlobalReplicationGroupsCommand).rejects(denied);
    await expect(cacheFailover.runCacheFailover(client, request(), config, fakeRuntime())).rejects.toBe(denied);
  });

  test('reads the datastore through the paginator: a result on a second page is found', async () => {
    const inputs: DescribeGlobalReplicationGroupsMessage[] = [];
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .callsFake((input: DescribeGlobalReplicationGroupsMessage) => {
        inputs.push({ ...input });
        return input.Marker === 'page-2' ? datastore(WEST) : { GlobalReplicationGroups: [], Marker: 'page-2' };
      });
    const result = await cacheFailover.runCacheFailover(client, request(), config, fakeRuntime());
    expect(result.actions).toEqual([
      'haweb-prod-west-cache in us-west-2 is already PRIMARY of ldgnf-haweb-prod-sessions; nothing to do',
    ]);
    expect(inputs.map((i) => i.Marker)).toEqual([undefined, 'page-2']);
    expect(inputs[1]).toMatchObject({ GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions', ShowMemberInfo: true });
  });

  test('a failover not complete within the wait is reported incomplete, for the step to retry', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore(EAST))
      .resolves(datastore(EAST, 'modifying'));
    elasticache.on(FailoverGlobalReplicationGroupCommand).resolves({});
    await expect(
      cacheFailover.runCacheFailover(client, request(), { ...config, waitSeconds: 30 }, fakeRuntime()),
    ).rejects.toThrow(
      /^INCOMPLETE: failover of ldgnf-haweb-prod-sessions to haweb-prod-west-cache \(us-west-2\) started/,
    );
  });

  test('waits no longer than the Lambda has left', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore(EAST))
      .resolves(datastore(EAST, 'modifying'));
    elasticache.on(FailoverGlobalReplicationGroupCommand).resolves({});
    const rt = fakeRuntime(45_000);
    await expect(cacheFailover.runCacheFailover(client, request(), config, rt)).rejects.toThrow('INCOMPLETE');
    expect(rt.now()).toBeLessThanOrEqual(rt.deadline);
  });

  test('throttling is retried by the SDK client, not by the function: a failover still throttled after it fails the step', async () => {
    // The mock replaces send(), below which the SDK retries (test/lambda/sdk.test.ts shows a real retry); what reaches
    // the function is what the SDK raises once its attempts are spent. The step's retry interval reruns the function.
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolvesOnce(datastore(EAST)).resolves(datastore(WEST));
    elasticache.on(FailoverGlobalReplicationGroupCommand).rejectsOnce(throttled()).resolves({});
    const rt = fakeRuntime();
    await expect(cacheFailover.runCacheFailover(client, request(), config, rt)).rejects.toThrow('Rate exceeded');
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(1);
    expect(rt.sleeps).toEqual([]);
  });

  test('dry run: reports the failover it would make and calls nothing that changes state', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore(EAST));
    const result = await cacheFailover.runCacheFailover(
      client,
      request({ ...OPERATOR_EVENT, dryRun: true }),
      config,
      fakeRuntime(),
    );
    expect(result).toMatchObject({ dryRun: true, changed: false });
    expect(result.actions[0]).toBe(
      'DRY RUN: would call FailoverGlobalReplicationGroup(GlobalReplicationGroupId=ldgnf-haweb-prod-sessions, ' +
        'PrimaryRegion=us-west-2, PrimaryReplicationGroupId=haweb-prod-west-cache) from us-west-2; current status ' +
        'available, PRIMARY: haweb-prod-east-cache (us-east-1)',
    );
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('handler: Region switch event (ungraceful) calls from the target region', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolvesOnce(datastore(EAST)).resolves(datastore(WEST));
    elasticache.on(FailoverGlobalReplicationGroupCommand).resolves({});
    const result = await cacheFailover.handler({ ...REGION_SWITCH_EVENT, executionMode: 'ungraceful' });
    expect(result).toMatchObject({ targetRegion: WEST, mode: 'unplanned', changed: true });
    const call = elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)[0]!;
    expect(await (call.thisValue as ElastiCacheClient).config.region()).toBe(WEST);
  });

  test("handler: its ElastiCache client has the functions' SDK retry settings", async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore(WEST));
    await cacheFailover.handler(OPERATOR_EVENT);
    const call = elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)[0]!;
    expect(await retrySettings(call.thisValue)).toEqual(SDK_RETRY);
  });

  test('handler: operator event, a second run after success changes nothing', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore(WEST));
    const result = await cacheFailover.handler(OPERATOR_EVENT);
    expect(result).toMatchObject({ targetRegion: WEST, changed: false });
    expect(elasticache.commandCalls(FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
  });

  test('handler: DRY_RUN=true in the environment makes every run a dry run', async () => {
    const sdkName = '@aws-sdk/client-elasticache';
    const dry = loadWithEnv<typeof cacheFailover>('../../lambda/cache-failover', { ...VALID_ENV, DRY_RUN: 'true' }, [
      sdkName,
    ]);
    const sdk = dry.loaded[sdkName] as typeof import('@aws-sdk/client-elasticache');
    const isolated = mockClient(sdk.ElastiCacheClient);
    isolated.on(sdk.DescribeGlobalReplicationGroupsCommand).resolves(datastore(EAST));
    try {
      const result = await dry.handler(OPERATOR_EVENT);
      expect(result).toMatchObject({ dryRun: true, changed: false });
      expect(isolated.commandCalls(sdk.DescribeGlobalReplicationGroupsCommand)).toHaveLength(1);
      expect(isolated.commandCalls(sdk.FailoverGlobalReplicationGroupCommand)).toHaveLength(0);
    } finally {
      isolated.restore();
    }
  });

  test("handler: the plan's copy (INVOKED_BY=region-switch-plan) activates its own region whatever the payload", async () => {
    const sdkName = '@aws-sdk/client-elasticache';
    const planStep = loadWithEnv<typeof cacheFailover>(
      '../../lambda/cache-failover',
      { ...VALID_ENV, INVOKED_BY: 'region-switch-plan', AWS_REGION: EAST, WAIT_SECONDS: '0' },
      [sdkName],
    );
    const sdk = planStep.loaded[sdkName] as typeof import('@aws-sdk/client-elasticache');
    const isolated = mockClient(sdk.ElastiCacheClient);
    isolated.on(sdk.DescribeGlobalReplicationGroupsCommand).resolves(datastore(WEST));
    isolated.on(sdk.FailoverGlobalReplicationGroupCommand).resolves({});
    try {
      const result = await planStep.handler({ aFieldNobodyDocumented: 'x' });
      expect(result).toMatchObject({ targetRegion: EAST, sourceRegion: WEST, mode: 'planned', changed: true });
      expect(isolated.commandCalls(sdk.FailoverGlobalReplicationGroupCommand)[0]!.args[0].input).toMatchObject({
        PrimaryRegion: EAST,
        PrimaryReplicationGroupId: 'haweb-prod-east-cache',
      });
      await expect(planStep.handler({ targetRegion: WEST })).rejects.toThrow(/activates us-west-2, but this plan step/);
    } finally {
      isolated.restore();
    }
  });

  test('handler: a missing or bad environment fails with the setting named', async () => {
    const missing = loadWithEnv<typeof cacheFailover>('../../lambda/cache-failover', { REGIONS: VALID_ENV.REGIONS });
    await expect(missing.handler(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: GLOBAL_DATASTORE_ID is not set',
    );
    const bad = loadWithEnv<typeof cacheFailover>('../../lambda/cache-failover', { ...VALID_ENV, WAIT_SECONDS: 'ten' });
    await expect(bad.handler(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: WAIT_SECONDS must be a whole number of seconds from 0 to 900 (got "ten")',
    );
    expect(elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)).toHaveLength(0);
  });

  test('handler: an event naming a region outside REGIONS is rejected before any call', async () => {
    await expect(cacheFailover.handler({ targetRegion: 'eu-west-1' })).rejects.toThrow(
      'Invalid event: targetRegion eu-west-1 is not one of the service',
    );
    expect(elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)).toHaveLength(0);
  });
});
