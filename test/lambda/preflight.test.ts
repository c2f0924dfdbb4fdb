import {
  APP_STACK_OUTPUTS,
  awsError,
  EAST,
  envWithout,
  fakeRuntime,
  loadWithEnv,
  OPERATOR_EVENT,
  ORDER_API_SERVICE,
  REGION_SWITCH_EVENT,
  RESOURCES,
  retrySettings,
  throttled,
  VALID_ENV,
  WEB_SERVICE,
  WEST,
} from './fixtures';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeGlobalReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import * as preflight from '../../lambda/preflight';
import { parseSwitchEvent } from '../../lambda/shared/event';
import { SDK_RETRY } from '../../lambda/shared/sdk';

const cloudformation = mockClient(CloudFormationClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const rds = mockClient(RDSClient);
const elasticache = mockClient(ElastiCacheClient);

const config = preflight.loadPreflightConfig(VALID_ENV);
const clients = {
  cloudformation: new CloudFormationClient({ region: WEST }),
  elbv2: new ElasticLoadBalancingV2Client({ region: WEST }),
  cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
  rds: new RDSClient({ region: WEST }),
  elasticache: new ElastiCacheClient({ region: WEST }),
  fetch: jest.fn(async (url: string) => ({
    status: readinessStatus.get(url) ?? 200,
    text: async () => '{"ready":true}',
  })),
};
/** HTTP status of a readiness URL that is not 200 (the fake fetch answers 200 otherwise). */
const readinessStatus = new Map<string, number>();

function request(event: object = OPERATOR_EVENT) {
  return parseSwitchEvent(event, config.regions.names, false);
}

function healthCheckPoints(values: number[]) {
  const rt = fakeRuntime();
  return {
    MetricDataResults: [
      {
        Id: 'status',
        Values: values,
        Timestamps: values.map((_, i) => new Date(rt.now() - 60_000 * (i + 1))),
      },
    ],
  };
}

/** The app stacks of both regions, with the outputs preflight reads. */
function appStacks(): void {
  for (const region of [EAST, WEST] as const) {
    cloudformation.on(DescribeStacksCommand, { StackName: RESOURCES[region].appStackName }).resolves({
      Stacks: [
        {
          StackName: RESOURCES[region].appStackName,
          CreationTime: new Date(0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TargetGroupArnWeb', OutputValue: APP_STACK_OUTPUTS[region].targetGroupArn },
            { OutputKey: 'TargetGroupArnOrderApi', OutputValue: APP_STACK_OUTPUTS[region].orderApiTargetGroupArn },
            { OutputKey: 'HealthCheckId', OutputValue: APP_STACK_OUTPUTS[region].healthCheckId },
            { OutputKey: 'LoadBalancerDnsName', OutputValue: 'x.elb.amazonaws.com' },
          ],
        },
      ],
    });
  }
}

function allHealthy(): void {
  appStacks();
  elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: 'i-1' }, TargetHealth: { State: 'healthy' } },
      { Target: { Id: 'i-2' }, TargetHealth: { State: 'unhealthy' } },
    ],
  });
  cloudwatch.on(GetMetricDataCommand).resolves(healthCheckPoints([1, 0]));
  rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ Status: 'available' }] });
  rds.on(DescribeGlobalClustersCommand).resolves({ GlobalClusters: [{ Status: 'available' }] });
  elasticache
    .on(DescribeGlobalReplicationGroupsCommand)
    .resolves({ GlobalReplicationGroups: [{ Status: 'available' }] });
}

beforeEach(() => {
  readinessStatus.clear();
  clients.fetch.mockClear();
  cloudformation.reset();
  elbv2.reset();
  cloudwatch.reset();
  rds.reset();
  elasticache.reset();
});

describe('preflight', () => {
  test("GETs every service's readiness path on the target region's own name: HTTP 200 (a review found none)", async () => {
    allHealthy();
    const result = await preflight.runPreflight(clients, request(), config, fakeRuntime());
    expect(clients.fetch.mock.calls.map(([url]) => url)).toEqual(['https://us-west-2.example.com/health/ready']);
    expect(result.checks!['readiness:web']!.ok).toBe(true);
    readinessStatus.set('https://us-west-2.example.com/health/ready', 503);
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: preflight for us-west-2 failed 1 check(s): readiness:web: GET https://us-west-2.example.com/health/ready: HTTP 503',
    );
  });

  test('passes when every check passes, and queries the target region resources', async () => {
    allHealthy();
    const result = await preflight.runPreflight(clients, request(), config, fakeRuntime());
    expect(result).toMatchObject({ function: 'preflight', targetRegion: WEST, mode: 'planned', changed: false });
    expect(Object.values(result.checks!).every((c) => c.ok)).toBe(true);
    expect(Object.keys(result.checks!)).toEqual([
      'targetHealth:web',
      'route53HealthCheck',
      'readiness:web',
      'auroraCluster',
      'auroraGlobalCluster',
      'globalDatastore',
    ]);
    expect(result.checks!['targetHealth:web']!.detail).toBe('1 of 2 targets healthy');
    expect(cloudformation.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({
      StackName: 'HaWeb-prod-App-us-west-2',
    });
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)[0]!.args[0].input).toEqual({
      TargetGroupArn: APP_STACK_OUTPUTS[WEST].targetGroupArn,
    });
    expect(rds.commandCalls(DescribeDBClustersCommand)[0]!.args[0].input).toEqual({
      DBClusterIdentifier: 'haweb-prod-west',
    });
  });

  test('reads the Route 53 health check from CloudWatch: last 3 minutes, Minimum, 60 s', async () => {
    allHealthy();
    const rt = fakeRuntime();
    await preflight.runPreflight(clients, request(), config, rt);
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.EndTime!.getTime() - input.StartTime!.getTime()).toBe(180_000);
    expect(input.MetricDataQueries![0]!.MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: APP_STACK_OUTPUTS[WEST].healthCheckId }],
      },
      Period: 60,
      Stat: 'Minimum',
    });
  });

  test('the latest datapoint decides, whatever the order returned', async () => {
    allHealthy();
    const rt = fakeRuntime();
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'status',
          Values: [1, 0],
          Timestamps: [new Date(rt.now() - 120_000), new Date(rt.now() - 60_000)],
        },
      ],
    });
    await expect(preflight.runPreflight(clients, request(), config, rt)).rejects.toThrow(
      /route53HealthCheck: health check 66666666-7777-8888-9999-000000000000 unhealthy/,
    );
  });

  test('reads the metric through the paginator: the latest datapoint of every page decides', async () => {
    allHealthy();
    const rt = fakeRuntime();
    const tokens: (string | undefined)[] = [];
    cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataInput) => {
      tokens.push(input.NextToken);
      return input.NextToken === 'page-2'
        ? { MetricDataResults: [{ Id: 'status', Values: [0], Timestamps: [new Date(rt.now() - 60_000)] }] }
        : {
            MetricDataResults: [{ Id: 'status', Values: [1], Timestamps: [new Date(rt.now() - 120_000)] }],
            NextToken: 'page-2',
          };
    });
    await expect(preflight.runPreflight(clients, request(), config, rt)).rejects.toThrow(
      /^REFUSED: preflight for us-west-2 failed 1 check\(s\): route53HealthCheck: health check 66666666-7777-8888-9999-000000000000 unhealthy/,
    );
    expect(tokens).toEqual([undefined, 'page-2']);
  });

  test('refuses and lists every failed check', async () => {
    allHealthy();
    elbv2.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [{ Target: { Id: 'i-1' }, TargetHealth: { State: 'draining' } }],
    });
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'status', Values: [], Timestamps: [] }] });
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ Status: 'modifying' }] });
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: preflight for us-west-2 failed 3 check(s): targetHealth:web: 0 of 1 targets healthy; ' +
        'route53HealthCheck: health check 66666666-7777-8888-9999-000000000000: no datapoint in the last 3 minutes ' +
        '(unknown); auroraCluster: cluster haweb-prod-west is modifying',
    );
  });

  test('planned: refuses while an Aurora switchover is in progress or the Global Datastore is busy', async () => {
    allHealthy();
    rds.on(DescribeGlobalClustersCommand).resolves({
      GlobalClusters: [
        {
          Status: 'switching-over',
          FailoverState: { Status: 'pending', FromDbClusterArn: 'arn:east', ToDbClusterArn: 'arn:west' },
        },
      ],
    });
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves({ GlobalReplicationGroups: [{ Status: 'modifying' }] });
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: preflight for us-west-2 failed 2 check(s): auroraGlobalCluster: global cluster haweb-prod-global ' +
        'has a failover or switchover pending (arn:east -> arn:west); globalDatastore: Global Datastore ' +
        'ldgnf-haweb-prod-sessions is modifying',
    );
  });

  test('unplanned: skips the global checks, which need the failing region', async () => {
    allHealthy();
    rds.on(DescribeGlobalClustersCommand).resolves({ GlobalClusters: [{ FailoverState: { Status: 'failing-over' } }] });
    const result = await preflight.runPreflight(
      clients,
      request({ targetRegion: WEST, mode: 'unplanned' }),
      config,
      fakeRuntime(),
    );
    expect(Object.keys(result.checks!)).toEqual([
      'targetHealth:web',
      'route53HealthCheck',
      'readiness:web',
      'auroraCluster',
    ]);
    expect(rds.commandCalls(DescribeGlobalClustersCommand)).toHaveLength(0);
    expect(result.actions).toContain('Skipped auroraGlobalCluster and globalDatastore: unplanned mode');
  });

  test('unplanned: the Route 53 check (metrics in us-east-1) is advisory; the target ALB still decides', async () => {
    allHealthy();
    cloudwatch.on(GetMetricDataCommand).rejects(awsError('UnknownEndpoint', 'us-east-1 is unreachable'));
    const result = await preflight.runPreflight(
      clients,
      request({ targetRegion: WEST, mode: 'unplanned' }),
      config,
      fakeRuntime(),
    );
    expect(result.checks!.route53HealthCheck!.ok).toBe(false);
    expect(result.actions).toContain(
      'route53HealthCheck did not pass (could not check: UnknownEndpoint: us-east-1 is unreachable); advisory in unplanned mode',
    );
    elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
    await expect(
      preflight.runPreflight(clients, request({ targetRegion: WEST, mode: 'unplanned' }), config, fakeRuntime()),
    ).rejects.toThrow('REFUSED: preflight for us-west-2 failed 1 check(s): targetHealth:web: 0 of 0 targets healthy');
  });

  test('reads the target group and health check from the running app stack, so a replaced one is followed', async () => {
    allHealthy();
    const replaced = 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/web-west/00000000000000aa';
    cloudformation.on(DescribeStacksCommand, { StackName: RESOURCES[WEST].appStackName }).resolves({
      Stacks: [
        {
          StackName: RESOURCES[WEST].appStackName,
          CreationTime: new Date(0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TargetGroupArnWeb', OutputValue: replaced },
            { OutputKey: 'HealthCheckId', OutputValue: APP_STACK_OUTPUTS[WEST].healthCheckId },
          ],
        },
      ],
    });
    await preflight.runPreflight(clients, request(), config, fakeRuntime());
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)[0]!.args[0].input.TargetGroupArn).toBe(replaced);
  });

  test('without the app stack or its outputs, the two checks that need them fail and name the stack', async () => {
    allHealthy();
    cloudformation
      .on(DescribeStacksCommand, { StackName: RESOURCES[WEST].appStackName })
      .rejects(awsError('ValidationError', 'Stack with id HaWeb-prod-App-us-west-2 does not exist'));
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'REFUSED: preflight for us-west-2 failed 2 check(s): targetHealth:web: could not check: ValidationError: Stack ' +
        'with id HaWeb-prod-App-us-west-2 does not exist; route53HealthCheck: could not check: ValidationError: ' +
        'Stack with id HaWeb-prod-App-us-west-2 does not exist',
    );
    cloudformation.on(DescribeStacksCommand, { StackName: RESOURCES[WEST].appStackName }).resolves({
      Stacks: [{ StackName: RESOURCES[WEST].appStackName, CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE' }],
    });
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'targetHealth:web: could not check: Error: stack HaWeb-prod-App-us-west-2 has no output TargetGroupArnWeb; deploy ' +
        'this version of the app first',
    );
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(0);
  });

  test('an API error is a failed check that names it', async () => {
    allHealthy();
    rds
      .on(DescribeDBClustersCommand)
      .rejects(awsError('DBClusterNotFoundFault', 'DBCluster haweb-prod-west not found'));
    await expect(preflight.runPreflight(clients, request(), config, fakeRuntime())).rejects.toThrow(
      'auroraCluster: could not check: DBClusterNotFoundFault: DBCluster haweb-prod-west not found',
    );
  });

  test('a call still throttled after the SDK client retried it fails its check, naming the error, and is not repeated', async () => {
    allHealthy();
    elbv2
      .on(DescribeTargetHealthCommand)
      .rejectsOnce(throttled())
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }] });
    const rt = fakeRuntime();
    await expect(preflight.runPreflight(clients, request(), config, rt)).rejects.toThrow(
      /^REFUSED: preflight for us-west-2 failed 1 check\(s\): targetHealth:web: could not check: ThrottlingException: Rate exceeded$/,
    );
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(1);
    expect(rt.sleeps).toEqual([]);
  });

  test('a dry run runs the same read-only checks and says so', async () => {
    allHealthy();
    const result = await preflight.runPreflight(
      clients,
      request({ ...OPERATOR_EVENT, dryRun: true }),
      config,
      fakeRuntime(),
    );
    expect(result).toMatchObject({ dryRun: true, changed: false });
    expect(result.actions[0]).toContain('(read-only)');
  });

  test('a second run reports the same, with nothing changed', async () => {
    allHealthy();
    const first = await preflight.runPreflight(clients, request(), config, fakeRuntime());
    const second = await preflight.runPreflight(clients, request(), config, fakeRuntime());
    expect(second).toEqual(first);
    expect(second.changed).toBe(false);
  });

  describe('two services', () => {
    const twoServices = preflight.loadPreflightConfig({
      ...VALID_ENV,
      SERVICES: JSON.stringify([WEB_SERVICE, ORDER_API_SERVICE]),
    });
    const orderApiTargets = (states: TargetHealthStateEnum[]) =>
      elbv2
        .on(DescribeTargetHealthCommand, { TargetGroupArn: APP_STACK_OUTPUTS[WEST].orderApiTargetGroupArn })
        .resolves({
          TargetHealthDescriptions: states.map((State, i) => ({ Target: { Id: `i-${i}` }, TargetHealth: { State } })),
        });

    test('checks the target group of every service, read from the stack outputs by service name', async () => {
      allHealthy();
      orderApiTargets(['healthy', 'healthy', 'initial']);
      const result = await preflight.runPreflight(clients, request(), twoServices, fakeRuntime());
      expect(Object.keys(result.checks!)).toEqual([
        'targetHealth:web',
        'targetHealth:order-api',
        'route53HealthCheck',
        'readiness:web',
        'readiness:order-api',
        'auroraCluster',
        'auroraGlobalCluster',
        'globalDatastore',
      ]);
      expect(result.checks!['targetHealth:order-api']).toEqual({ ok: true, detail: '2 of 3 targets healthy' });
      expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input.TargetGroupArn)).toEqual([
        APP_STACK_OUTPUTS[WEST].targetGroupArn,
        APP_STACK_OUTPUTS[WEST].orderApiTargetGroupArn,
      ]);
      expect(cloudformation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    });

    test('one service without a healthy target refuses, naming that service only', async () => {
      allHealthy();
      orderApiTargets(['unhealthy', 'draining']);
      await expect(preflight.runPreflight(clients, request(), twoServices, fakeRuntime())).rejects.toThrow(
        /^REFUSED: preflight for us-west-2 failed 1 check\(s\): targetHealth:order-api: 0 of 2 targets healthy$/,
      );
    });

    test("a missing output of the second service fails that service's check, naming the stack and output", async () => {
      allHealthy();
      cloudformation.on(DescribeStacksCommand, { StackName: RESOURCES[WEST].appStackName }).resolves({
        Stacks: [
          {
            StackName: RESOURCES[WEST].appStackName,
            CreationTime: new Date(0),
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: [
              { OutputKey: 'TargetGroupArnWeb', OutputValue: APP_STACK_OUTPUTS[WEST].targetGroupArn },
              { OutputKey: 'HealthCheckId', OutputValue: APP_STACK_OUTPUTS[WEST].healthCheckId },
            ],
          },
        ],
      });
      await expect(preflight.runPreflight(clients, request(), twoServices, fakeRuntime())).rejects.toThrow(
        /^REFUSED: preflight for us-west-2 failed 1 check\(s\): targetHealth:order-api: could not check: Error: stack HaWeb-prod-App-us-west-2 has no output TargetGroupArnOrderApi; deploy this version of the app first$/,
      );
      expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input.TargetGroupArn)).toEqual([
        APP_STACK_OUTPUTS[WEST].targetGroupArn,
      ]);
    });
  });

  describe('an environment without some data components', () => {
    test('without database and cache: no RDS or ElastiCache call, and the actions say what was skipped', async () => {
      const noData = preflight.loadPreflightConfig(envWithout('database', 'cache'));
      allHealthy();
      const result = await preflight.runPreflight(clients, request(), noData, fakeRuntime());
      expect(Object.keys(result.checks!)).toEqual(['targetHealth:web', 'route53HealthCheck', 'readiness:web']);
      expect(rds.calls()).toHaveLength(0);
      expect(elasticache.calls()).toHaveLength(0);
      expect(result.actions).toEqual([
        'Checked targetHealth:web, route53HealthCheck, readiness:web for us-west-2 (read-only)',
        'Skipped auroraCluster and auroraGlobalCluster: the environment has no database',
        'Skipped globalDatastore: the environment has no cache',
      ]);
    });

    test('without database and cache, an RDS or ElastiCache failure cannot refuse the switch', async () => {
      const noData = preflight.loadPreflightConfig(envWithout('database', 'cache', 'files'));
      allHealthy();
      rds.onAnyCommand().rejects(awsError('AccessDenied'));
      elasticache.onAnyCommand().rejects(awsError('AccessDenied'));
      const result = await preflight.runPreflight(clients, request(), noData, fakeRuntime());
      expect(Object.values(result.checks!).every((c) => c.ok)).toBe(true);
    });

    test('a database but no cache: the Aurora checks run, the Global Datastore is skipped', async () => {
      const noCache = preflight.loadPreflightConfig(envWithout('cache'));
      allHealthy();
      const result = await preflight.runPreflight(clients, request(), noCache, fakeRuntime());
      expect(Object.keys(result.checks!)).toEqual([
        'targetHealth:web',
        'route53HealthCheck',
        'readiness:web',
        'auroraCluster',
        'auroraGlobalCluster',
      ]);
      expect(elasticache.calls()).toHaveLength(0);
      expect(result.actions).toContain('Skipped globalDatastore: the environment has no cache');
    });

    test('unplanned without a cache: only the Aurora global check is skipped for the mode', async () => {
      const noCache = preflight.loadPreflightConfig(envWithout('cache'));
      allHealthy();
      const result = await preflight.runPreflight(
        clients,
        request({ targetRegion: WEST, mode: 'unplanned' }),
        noCache,
        fakeRuntime(),
      );
      expect(result.actions).toEqual([
        'Checked targetHealth:web, route53HealthCheck, readiness:web, auroraCluster for us-west-2 (read-only)',
        'Skipped globalDatastore: the environment has no cache',
        'Skipped auroraGlobalCluster: unplanned mode',
      ]);
    });
  });

  /** The handler GETs with the global fetch: each readiness URL answers 200 here, and the URLs are recorded. */
  function globalFetchReady(): string[] {
    const urls: string[] = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (url) => {
      urls.push(String(url));
      return new Response('{"ready":true}', { status: 200 });
    });
    return urls;
  }
  afterEach(() => jest.restoreAllMocks());

  test('handler: Region switch event checks the activating region', async () => {
    allHealthy();
    const urls = globalFetchReady();
    const result = await preflight.handler({ ...REGION_SWITCH_EVENT, activateRegion: EAST, deactivateRegion: WEST });
    expect(result).toMatchObject({ targetRegion: EAST, sourceRegion: WEST, mode: 'planned' });
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)[0]!.args[0].input.TargetGroupArn).toBe(
      APP_STACK_OUTPUTS[EAST].targetGroupArn,
    );
    expect(urls).toEqual(['https://us-east-1.example.com/health/ready']);
  });

  test('handler: operator event, with clients in the target region and CloudWatch in us-east-1', async () => {
    allHealthy();
    globalFetchReady();
    const result = await preflight.handler(OPERATOR_EVENT);
    expect(result).toMatchObject({ targetRegion: WEST, sourceRegion: EAST, changed: false });
    const elbCall = elbv2.commandCalls(DescribeTargetHealthCommand)[0]!;
    const cwCall = cloudwatch.commandCalls(GetMetricDataCommand)[0]!;
    expect(await (elbCall.thisValue as ElasticLoadBalancingV2Client).config.region()).toBe(WEST);
    expect(await (cwCall.thisValue as CloudWatchClient).config.region()).toBe('us-east-1');
  });

  test("handler: every client has the functions' SDK retry settings", async () => {
    allHealthy();
    globalFetchReady();
    await preflight.handler(OPERATOR_EVENT);
    const used = [
      cloudformation.commandCalls(DescribeStacksCommand)[0]!,
      elbv2.commandCalls(DescribeTargetHealthCommand)[0]!,
      cloudwatch.commandCalls(GetMetricDataCommand)[0]!,
      rds.commandCalls(DescribeDBClustersCommand)[0]!,
      rds.commandCalls(DescribeGlobalClustersCommand)[0]!,
      elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)[0]!,
    ];
    for (const call of used) expect(await retrySettings(call.thisValue)).toEqual(SDK_RETRY);
  });

  test('handler: refuses with a clear reason', async () => {
    allHealthy();
    globalFetchReady();
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ Status: 'stopped' }] });
    await expect(preflight.handler(OPERATOR_EVENT)).rejects.toThrow(
      /^REFUSED: preflight for us-west-2 failed 1 check\(s\): auroraCluster: cluster haweb-prod-west is stopped$/,
    );
  });

  test('handler: a missing or bad environment fails every invocation with the setting named', async () => {
    const missing = loadWithEnv<typeof preflight>('../../lambda/preflight', {
      REGIONS: VALID_ENV.REGIONS,
      SERVICES: VALID_ENV.SERVICES,
      GLOBAL_DATASTORE_ID: VALID_ENV.GLOBAL_DATASTORE_ID,
    });
    await expect(missing.handler(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: REGIONS["us-east-1"].dbClusterIdentifier and REGIONS["us-west-2"].dbClusterIdentifier ' +
        'are set but GLOBAL_CLUSTER_IDENTIFIER is not',
    );
    const noServices = loadWithEnv<typeof preflight>('../../lambda/preflight', { ...VALID_ENV, SERVICES: undefined });
    await expect(noServices.handler(OPERATOR_EVENT)).rejects.toThrow('Invalid configuration: SERVICES is not set');
    const bad = loadWithEnv<typeof preflight>('../../lambda/preflight', { ...VALID_ENV, REGIONS: '{"us-east-1":{}}' });
    await expect(bad.handler(OPERATOR_EVENT)).rejects.toThrow('REGIONS must name exactly two regions');
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(0);
  });
});
