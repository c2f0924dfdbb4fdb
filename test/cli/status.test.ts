import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import { DescribeReplicationConfigurationsCommand, ReplicationNotFound } from '@aws-sdk/client-efs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeGlobalReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { main } from '../../cli/main';
import { EnvironmentConfig } from '../../lib/config';
import { demo, staging } from '../../lib/config/environments';
import { RegionClients, StatusReport, renderStatusTable } from '../../cli/status';
import { catalogOnly, cliDeps, mockStacks, noCredentials, regionClients, stacksDescribed } from './fakes';

const NOW = new Date('2025-06-01T12:00:00Z');
const EAST = 'us-east-1';
const WEST = 'us-west-2';
const ACCOUNT = '111111111111';
const clusterArn = (region: string, id: string) => `arn:aws:rds:${region}:${ACCOUNT}:cluster:${id}`;

const fleetArn = (region: string, uuid: string, group = 'haweb-demo-web') =>
  `arn:aws:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:${uuid}:autoScalingGroupName/${group}`;
const LIVE_UUID = '11111111-2222-3333-4444-555555555555';
const targetGroupArn = (region: string, service: string) => `arn:tg:${region}:${service}`;

/** Target states of each service's group: the web's as in demo, any other service's all healthy. */
function targetStates(service: string, role: 'primary' | 'secondary'): string[] {
  if (service !== 'web') return role === 'primary' ? ['healthy', 'healthy', 'healthy'] : ['healthy'];
  return role === 'primary' ? ['healthy', 'healthy'] : ['healthy', 'draining'];
}

/** Mocks one region's SDK clients as a healthy deployment of `config`; returns the mocks. */
function healthyRegion(config: EnvironmentConfig, clients: RegionClients, role: 'primary' | 'secondary') {
  const region = config[role].region;
  const [P, S] = [config.primary.region, config.secondary.region];
  const autoscaling = mockClient(clients.autoscaling);
  autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames: string[] }) => ({
    AutoScalingGroups: input.AutoScalingGroupNames.map((name) => ({
      AutoScalingGroupName: name,
      AutoScalingGroupARN: fleetArn(region, LIVE_UUID, name),
      MinSize: 1,
      MaxSize: 4,
      DesiredCapacity: 2,
      DefaultCooldown: 300,
      AvailabilityZones: [],
      HealthCheckType: 'ELB',
      CreatedTime: NOW,
    })),
  }));
  const elb = mockClient(clients.elbv2);
  elb.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [
      { DNSName: 'other.elb.amazonaws.com', LoadBalancerArn: 'arn:other' },
      { DNSName: `HaWeb-LB-${region}.elb.amazonaws.com`, LoadBalancerArn: `arn:lb:${region}` },
    ],
  });
  elb.on(DescribeTargetGroupsCommand, { LoadBalancerArn: `arn:lb:${region}` }).resolves({
    TargetGroups: config.services.map((s) => ({ TargetGroupArn: targetGroupArn(region, s.name) })),
  });
  for (const s of config.services) {
    elb.on(DescribeTargetHealthCommand, { TargetGroupArn: targetGroupArn(region, s.name) }).resolves({
      TargetHealthDescriptions: targetStates(s.name, role).map((State) => ({
        TargetHealth: { State: State as 'healthy' },
      })),
    });
  }

  const rds = mockClient(clients.rds);
  rds.on(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: `haweb-${config.name}-global` }).resolves({
    GlobalClusters: [
      {
        Status: 'available',
        GlobalClusterMembers: [
          { DBClusterArn: clusterArn(P, 'db-primary'), IsWriter: true },
          { DBClusterArn: clusterArn(S, 'db-secondary'), IsWriter: false, SynchronizationStatus: 'connected' },
        ],
      },
    ],
  });
  rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ Status: 'available' }] });

  const elasticache = mockClient(clients.elasticache);
  elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves({
    GlobalReplicationGroups: [
      {
        GlobalReplicationGroupId: `ldgnf-haweb-${config.name}-sessions`,
        Status: 'primary-and-secondary',
        Members: [
          { ReplicationGroupId: 'rg-primary', ReplicationGroupRegion: P, Role: 'PRIMARY', Status: 'associated' },
          { ReplicationGroupId: 'rg-secondary', ReplicationGroupRegion: S, Role: 'SECONDARY', Status: 'associated' },
        ],
      },
    ],
  });

  const efs = mockClient(clients.efs);
  if (role === 'primary') {
    efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: 'fs-primary' }).resolves({
      Replications: [
        {
          SourceFileSystemId: 'fs-primary',
          SourceFileSystemRegion: P,
          SourceFileSystemArn: 'arn:fs-primary',
          OriginalSourceFileSystemArn: 'arn:fs-primary',
          CreationTime: new Date('2025-01-01T00:00:00Z'),
          Destinations: [
            {
              Status: 'ENABLED',
              FileSystemId: 'fs-secondary',
              Region: S,
              LastReplicatedTimestamp: new Date(NOW.getTime() - 42_000),
            },
          ],
        },
      ],
    });
  } else {
    efs
      .on(DescribeReplicationConfigurationsCommand)
      .rejects(new ReplicationNotFound({ message: 'no replication', $metadata: {} }));
  }

  const cloudwatch = mockClient(clients.cloudwatch);
  answerMetrics(cloudwatch, region === EAST);
  return { autoscaling, elb, rds, elasticache, efs, cloudwatch };
}

/**
 * The datapoints of each metric (`<namespace> <dimension value>`) as [age in ms, value]: the secondary cluster's
 * replication lag, and Route 53's health checks: each region's, and after a planned switchover the plan's check and
 * gate unhealthy.
 */
const DATAPOINTS: Record<string, [number, number][]> = {
  'AWS/RDS db-secondary': [
    [120_000, 900],
    [60_000, 120.4],
  ],
  'AWS/Route53 hc-primary': [[60_000, 1]],
  'AWS/Route53 hc-secondary': [[60_000, 0]],
  'AWS/Route53 hc-plan-primary': [[60_000, 0]],
  'AWS/Route53 hc-gate': [[60_000, 0]],
};

/** Answers GetMetricData from {@link DATAPOINTS}: the region's Aurora metrics, and Route 53's in us-east-1. */
function answerMetrics(cloudwatch: AwsClientStub<CloudWatchClient>, route53: boolean): void {
  cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataInput) => ({
    MetricDataResults: input.MetricDataQueries!.map((q) => {
      const metric = q.MetricStat!.Metric!;
      const key = `${metric.Namespace} ${metric.Dimensions![0]!.Value}`;
      const points = metric.Namespace === 'AWS/Route53' && !route53 ? [] : (DATAPOINTS[key] ?? []);
      return {
        Id: q.Id,
        Timestamps: points.map(([age]) => new Date(NOW.getTime() - age)),
        Values: points.map(([, value]) => value),
      };
    }),
  }));
}

/**
 * The outputs of `region`'s stacks of `config`, for its CloudFormation mock; `planUuid` is the UUID the plan holds for
 * `staleService` in the secondary.
 */
function stackOutputs(
  config: EnvironmentConfig,
  region: string,
  options: { planUuid?: string; staleService?: string; appOmits?: string } = {},
) {
  return (stackName: string): Record<string, string> => {
    const role = region === config.primary.region ? 'primary' : 'secondary';
    const services = config.services.map((s) => s.name);
    const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
    let outputs: Record<string, string>;
    if (stackName.includes('-App-')) {
      outputs = { HealthCheckId: `hc-${role}`, LoadBalancerDnsName: `haweb-lb-${region}.elb.amazonaws.com` };
      for (const s of services.filter((x) => x !== options.appOmits)) {
        outputs[`TargetGroupArn${pascal(s)}`] = targetGroupArn(region, s);
      }
    } else if (stackName.includes('-Operations-')) {
      outputs = { PlanPrimaryHealthCheckId: 'hc-plan-primary', PrimaryGateHealthCheckId: 'hc-gate' };
      for (const r of [config.primary.region, config.secondary.region]) {
        for (const s of services) {
          const uuid = r === config.secondary.region && s === options.staleService ? options.planUuid! : LIVE_UUID;
          outputs[`PlanFleetArn${r.replace(/-/g, '')}${pascal(s)}`] = fleetArn(r, uuid, `haweb-${config.name}-${s}`);
        }
      }
    } else {
      outputs = { FileSystemId: `fs-${role}` };
    }
    return outputs;
  };
}

function setup(
  options: {
    failRegion?: string;
    plan?: boolean;
    planUuid?: string;
    staleService?: string;
    appOmits?: string;
    config?: EnvironmentConfig;
  } = {},
) {
  const base = options.config ?? demo;
  const config = options.plan ? { ...base, regionSwitch: { ...base.regionSwitch, enabled: true } } : base;
  const [P, S] = [config.primary.region, config.secondary.region];
  const primary = regionClients(P);
  const secondary = regionClients(S);
  const mocks = { primary: healthyRegion(config, primary, 'primary'), secondary: undefined as unknown };
  const cloudformation = [mockStacks(primary.cloudformation, stackOutputs(config, P, options))];
  if (options.failRegion === S) {
    for (const c of Object.values(secondary)) {
      mockClient(c)
        .onAnyCommand()
        .rejects(new Error(`getaddrinfo ENOTFOUND ${S}`));
    }
  } else {
    mocks.secondary = healthyRegion(config, secondary, 'secondary');
    cloudformation.push(mockStacks(secondary.cloudformation, stackOutputs(config, S, options)));
  }
  // Route 53's metrics are in us-east-1, a region of demo but not of staging.
  const metrics = regionClients(EAST);
  if (P !== EAST && S !== EAST) answerMetrics(mockClient(metrics.cloudwatch), true);
  const deps = cliDeps({
    clients: (region) => (region === P ? primary : region === S ? secondary : metrics),
    now: () => NOW,
    environments: { [config.name]: config },
  });
  return {
    deps,
    /** The stacks whose outputs were read, in call order. */
    stacksRead: () => stacksDescribed(...cloudformation),
    mocks: mocks as { primary: ReturnType<typeof healthyRegion>; secondary: ReturnType<typeof healthyRegion> },
  };
}

describe('status', () => {
  test('reads every check of both regions', async () => {
    const { deps } = setup();

    const code = await main(['status', '--json', '-c', 'env=demo'], deps);

    expect(code).toBe(0);
    const report: StatusReport = JSON.parse(deps.out.join('\n'));
    const [east, west] = report.regions;
    expect(east).toMatchObject({
      region: EAST,
      configuredRole: 'primary',
      healthCheck: { ok: true, value: { healthCheckId: 'hc-primary', status: 'healthy' } },
      targets: {
        ok: true,
        value: {
          healthy: 2,
          total: 2,
          services: [
            { service: 'web', ok: true, value: { targetGroupArn: targetGroupArn(EAST, 'web'), healthy: 2, total: 2 } },
          ],
        },
      },
      database: {
        ok: true,
        value: { role: 'writer', clusterIdentifier: 'db-primary', clusterStatus: 'available' },
      },
      cache: { ok: true, value: { role: 'PRIMARY', globalReplicationGroupId: 'ldgnf-haweb-demo-sessions' } },
      files: {
        ok: true,
        value: {
          fileSystemId: 'fs-primary',
          replications: [
            {
              direction: 'outgoing',
              peerRegion: WEST,
              peerFileSystemId: 'fs-secondary',
              status: 'ENABLED',
              secondsSinceLastSync: 42,
            },
          ],
        },
      },
    });
    expect(east.database.ok && east.database.value.replicationLagMs).toBeUndefined();
    expect(west).toMatchObject({
      region: WEST,
      configuredRole: 'secondary',
      healthCheck: { ok: true, value: { healthCheckId: 'hc-secondary', status: 'unhealthy' } },
      targets: { ok: true, value: { healthy: 1, total: 2, byState: { healthy: 1, draining: 1 } } },
      database: { ok: true, value: { role: 'reader', synchronizationStatus: 'connected', replicationLagMs: 120.4 } },
      cache: { ok: true, value: { role: 'SECONDARY', replicationGroupId: 'rg-secondary' } },
      files: { ok: true, value: { fileSystemId: 'fs-secondary', replications: [] } },
    });
  });

  test('--json prints exactly one JSON document with environment, time, services, data components and two regions', async () => {
    const { deps } = setup();

    await main(['status', '--json'], deps);

    expect(deps.out).toHaveLength(1);
    const report = JSON.parse(deps.out[0]);
    expect(Object.keys(report)).toEqual([
      'environment',
      'checkedAt',
      'services',
      'dataComponents',
      'regions',
      'dns',
      'planFleets',
    ]);
    expect(report.services).toEqual(['web']);
    expect(report.dataComponents).toEqual(['database', 'sessionCache', 'sharedFiles']);
    expect(report.dns).toEqual({ ok: true, value: { steeredByPlan: false } });
    expect(report.planFleets).toEqual({ ok: true, value: { hasPlan: false, fleets: [] } });
    expect(report.environment).toBe('demo');
    expect(report.checkedAt).toBe(NOW.toISOString());
    expect(report.regions.map((r: { region: string }) => r.region)).toEqual([EAST, WEST]);
    for (const r of report.regions) {
      expect(Object.keys(r)).toEqual([
        'region',
        'configuredRole',
        'healthCheck',
        'targets',
        'database',
        'cache',
        'files',
      ]);
    }
  });

  test('the table shows one column per region', async () => {
    const { deps } = setup();

    const code = await main(['status'], deps);

    expect(code).toBe(0);
    const table = deps.out.join('\n');
    expect(table).toContain('us-east-1 (primary in config)');
    expect(table).toContain('Services: web\nData components: database, session cache, shared files\n');
    expect(table).toMatch(/Route 53 health check\s+healthy\s+unhealthy/);
    expect(table).toMatch(/ALB targets \(all\)\s+2\/2 healthy\s+1\/2 healthy \(1 draining\)/);
    expect(table).toMatch(/ {2}service web\s+2\/2 healthy\s+1\/2 healthy \(1 draining\)/);
    expect(table).toMatch(/Aurora replication lag\s+- \(writer\)\s+120 ms/);
    expect(table).toMatch(/EFS replication\s+to us-west-2: ENABLED, last sync 42 s ago\s+none/);
    expect(table).toMatch(/Plan's fleets\s+- \(no plan\)\s+- \(no plan\)/);
  });

  test('with a plan, it shows how the PRIMARY record is steered: gate and plan check from the operations stack', async () => {
    const { deps, stacksRead } = setup({ plan: true });

    expect(await main(['status', '--json'], deps)).toBe(0);
    const report: StatusReport = JSON.parse(deps.out.join('\n'));
    expect(report.dns).toMatchObject({
      ok: true,
      value: {
        steeredByPlan: true,
        planPrimaryCheck: { healthCheckId: 'hc-plan-primary', status: 'unhealthy' },
        primaryGate: { healthCheckId: 'hc-gate', status: 'unhealthy' },
      },
    });
    expect(stacksRead()).toContain('HaWeb-demo-Operations-us-east-1');

    deps.out.length = 0;
    await main(['status'], deps);
    expect(deps.out.join('\n')).toMatch(
      /DNS \(PRIMARY record\)\s+gate unhealthy \(answers SECONDARY\), plan check unhealthy\s+endpoint check only/,
    );
  });

  test("with a plan, it checks that the plan scales the live fleets (the groups of the fleets' fixed name)", async () => {
    const { deps, mocks } = setup({ plan: true });
    await main(['status', '--json'], deps);
    expect((JSON.parse(deps.out.join('\n')) as StatusReport).planFleets).toEqual({
      ok: true,
      value: {
        hasPlan: true,
        fleets: [
          {
            region: EAST,
            service: 'web',
            planned: fleetArn(EAST, LIVE_UUID),
            live: fleetArn(EAST, LIVE_UUID),
            matches: true,
          },
          {
            region: WEST,
            service: 'web',
            planned: fleetArn(WEST, LIVE_UUID),
            live: fleetArn(WEST, LIVE_UUID),
            matches: true,
          },
        ],
      },
    });
    expect(mocks.primary.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand)[0]!.args[0].input).toMatchObject({
      AutoScalingGroupNames: ['haweb-demo-web'],
    });
    deps.out.length = 0;
    await main(['status'], deps);
    expect(deps.out.join('\n')).toMatch(/Plan's fleet: web\s+the live group\s+the live group/);
  });

  test("two services: the plan's fleet of each service in each region (staging: web and catalog)", async () => {
    const { deps, mocks } = setup({ config: staging });
    const [P, S] = [staging.primary.region, staging.secondary.region];

    expect(await main(['status', '--json', '-c', 'env=staging'], deps)).toBe(0);

    const report: StatusReport = JSON.parse(deps.out.join('\n'));
    expect(report.services).toEqual(['web', 'catalog']);
    const group = (s: string) => `haweb-staging-${s}`;
    expect(report.planFleets).toEqual({
      ok: true,
      value: {
        hasPlan: true,
        fleets: [P, S].flatMap((region) =>
          ['web', 'catalog'].map((service) => ({
            region,
            service,
            planned: fleetArn(region, LIVE_UUID, group(service)),
            live: fleetArn(region, LIVE_UUID, group(service)),
            matches: true,
          })),
        ),
      },
    });
    // One DescribeAutoScalingGroups per region, for both groups.
    for (const m of [mocks.primary, mocks.secondary]) {
      expect(m.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input)).toEqual([
        { AutoScalingGroupNames: [group('web'), group('catalog')] },
      ]);
    }
    deps.out.length = 0;
    await main(['status', '-c', 'env=staging'], deps);
    const table = deps.out.join('\n');
    expect(table).toMatch(/Plan's fleet: web\s+the live group\s+the live group/);
    expect(table).toMatch(/Plan's fleet: catalog\s+the live group\s+the live group/);
  });

  test('two services: the targets of each service, from its target group (App output TargetGroupArn<Service>)', async () => {
    const { deps } = setup({ config: staging });
    await main(['status', '--json', '-c', 'env=staging'], deps);
    const [primary, secondary] = (JSON.parse(deps.out.join('\n')) as StatusReport).regions;
    expect(primary.targets).toMatchObject({
      ok: true,
      value: {
        healthy: 5,
        total: 5,
        services: [
          { service: 'web', ok: true, value: { healthy: 2, total: 2 } },
          {
            service: 'catalog',
            ok: true,
            value: { targetGroupArn: targetGroupArn(staging.primary.region, 'catalog'), healthy: 3, total: 3 },
          },
        ],
      },
    });
    expect(secondary.targets).toMatchObject({
      ok: true,
      value: {
        healthy: 2,
        total: 3,
        services: [
          { service: 'web', ok: true, value: { healthy: 1, total: 2, byState: { healthy: 1, draining: 1 } } },
          { service: 'catalog', ok: true, value: { healthy: 1, total: 1 } },
        ],
      },
    });
    deps.out.length = 0;
    await main(['status', '-c', 'env=staging'], deps);
    const table = deps.out.join('\n');
    expect(table).toMatch(/ALB targets \(all\)\s+5\/5 healthy\s+2\/3 healthy \(1 draining\)/);
    expect(table).toMatch(/ {2}service web\s+2\/2 healthy\s+1\/2 healthy \(1 draining\)/);
    expect(table).toMatch(/ {2}service catalog\s+3\/3 healthy\s+1\/1 healthy/);
  });

  test("a service the App stack has no target group output for: that service's error, the others still read", async () => {
    const { deps } = setup({ config: staging, appOmits: 'catalog' });
    await main(['status', '--json', '-c', 'env=staging'], deps);
    const [primary] = (JSON.parse(deps.out.join('\n')) as StatusReport).regions;
    expect(primary.targets.ok && primary.targets.value.services).toEqual([
      expect.objectContaining({ service: 'web', ok: true }),
      {
        service: 'catalog',
        ok: false,
        error:
          `stack HaWeb-staging-App-${staging.primary.region} in ${staging.primary.region} has no output ` +
          'TargetGroupArnCatalog; run `cdk deploy` for this environment first',
      },
    ]);
  });

  describe('an environment without session cache and shared files (staging with its catalog service alone)', () => {
    const [P, S] = [catalogOnly.primary.region, catalogOnly.secondary.region];

    test('reads the database, not the Storage stacks, the Global Datastore or EFS, and says "not in this environment"', async () => {
      const { deps, stacksRead, mocks } = setup({ config: catalogOnly });

      expect(await main(['status', '--json', '-c', 'env=staging'], deps)).toBe(0);

      const report: StatusReport = JSON.parse(deps.out.join('\n'));
      expect(report.dataComponents).toEqual(['database']);
      for (const [r, role] of [
        [report.regions[0]!, 'primary'],
        [report.regions[1]!, 'secondary'],
      ] as const) {
        expect(r.database).toMatchObject({ ok: true, value: { role: role === 'primary' ? 'writer' : 'reader' } });
        expect(r.cache).toEqual({
          inEnvironment: false,
          note: 'not in this environment (no service uses session cache)',
        });
        expect(r.files).toEqual({
          inEnvironment: false,
          note: 'not in this environment (no service uses shared files)',
        });
      }
      expect(stacksRead().filter((name) => name.includes('-Storage-'))).toEqual([]);
      for (const m of [mocks.primary, mocks.secondary]) {
        expect(m.elasticache.calls()).toHaveLength(0);
        expect(m.efs.calls()).toHaveLength(0);
      }
      expect(report.planFleets.ok && report.planFleets.value.fleets.map((f) => [f.region, f.service])).toEqual([
        [P, 'catalog'],
        [S, 'catalog'],
      ]);
    });

    test('the table says which components are not in this environment, not "error"', async () => {
      const { deps } = setup({ config: catalogOnly });

      expect(await main(['status', '-c', 'env=staging'], deps)).toBe(0);

      const table = deps.out.join('\n');
      expect(table).toContain(
        'Services: catalog\nData components: database; not in this environment: session cache, shared files\n',
      );
      expect(table).toMatch(/Aurora\s+writer, available\s+reader, available, connected/);
      expect(table).toMatch(/Cache \(Global Datastore\)\s+not in this environment\s+not in this environment\n/);
      expect(table).toMatch(/EFS replication\s+not in this environment\s+not in this environment\n/);
      expect(table).not.toContain('error');
    });

    test('components not in the environment are no read: with everything else failing, exit 2', async () => {
      const deps = cliDeps({
        clients: () => {
          const c = regionClients(P);
          for (const client of Object.values(c)) mockClient(client).onAnyCommand().rejects(new Error('offline'));
          return c;
        },
        now: () => NOW,
        environments: { staging: catalogOnly },
      });
      expect(await main(['status', '-c', 'env=staging'], deps)).toBe(2);
    });
  });

  test('flags a plan that still scales a fleet deleted and created again, with the way to refresh it', async () => {
    const old = '99999999-8888-7777-6666-555555555555';
    const { deps } = setup({ plan: true, planUuid: old, staleService: 'web' });
    await main(['status'], deps);
    expect(deps.out.join('\n')).toContain(
      `STALE: the plan scales ${fleetArn(WEST, old)}, the live group is ${fleetArn(WEST, LIVE_UUID)}; ` +
        'redeploy HaWeb-demo-Operations-<primary> with a new PlanFleetLookup (runbook: first deploy)',
    );
  });

  test("a stale fleet of one service is flagged on that service's row only", async () => {
    const old = '99999999-8888-7777-6666-555555555555';
    const { deps } = setup({ config: staging, planUuid: old, staleService: 'catalog' });
    await main(['status', '-c', 'env=staging'], deps);
    const table = deps.out.join('\n');
    expect(table).toMatch(/Plan's fleet: web\s+the live group\s+the live group\n/);
    expect(table).toMatch(
      new RegExp(
        `Plan's fleet: catalog\\s+the live group\\s+STALE: the plan scales ${fleetArn(staging.secondary.region, old, 'haweb-staging-catalog')}`,
      ),
    );
  });

  test('an unreachable region shows errors per field and the command still succeeds', async () => {
    const { deps } = setup({ failRegion: WEST });

    const code = await main(['status', '--json'], deps);

    expect(code).toBe(0);
    const [east, west] = (JSON.parse(deps.out[0]) as StatusReport).regions;
    expect(east.targets.ok && east.database.ok && east.cache.ok && east.files.ok && east.healthCheck.ok).toBe(true);
    // The App and Storage stacks' outputs could not be read either.
    expect(west.targets).toEqual({ ok: false, error: 'getaddrinfo ENOTFOUND us-west-2' });
    expect(west.files).toEqual({ ok: false, error: 'getaddrinfo ENOTFOUND us-west-2' });
    expect(west.database).toEqual({ ok: false, error: 'getaddrinfo ENOTFOUND us-west-2' });
    expect(west.cache).toEqual({ ok: false, error: 'getaddrinfo ENOTFOUND us-west-2' });
  });

  test('a field that failed renders as "error: <message>" in the table', async () => {
    const { deps } = setup({ failRegion: WEST });

    await main(['status'], deps);

    expect(deps.out.join('\n')).toMatch(
      /Cache \(Global Datastore\)\s+primary, associated\s+error: getaddrinfo ENOTFOUND us-west-2/,
    );
  });

  test('a stack without the expected output names it, and one that does not exist (ValidationError) says so', async () => {
    const { deps } = setup();
    mockStacks(deps.clients(EAST).cloudformation, (stackName) => (stackName.includes('-Storage-') ? {} : undefined));

    await main(['status', '--json'], deps);

    const [east] = (JSON.parse(deps.out[0]) as StatusReport).regions;
    expect(east.files).toEqual({
      ok: false,
      error:
        'stack HaWeb-demo-Storage-us-east-1 in us-east-1 has no output FileSystemId; run `cdk deploy` for this environment first',
    });
    expect(east.healthCheck).toEqual({
      ok: false,
      error: 'stack HaWeb-demo-App-us-east-1 does not exist in us-east-1; run `cdk deploy` for this environment first',
    });
  });

  test('exit code 2 when nothing at all could be read', async () => {
    const deps = cliDeps({
      clients: () => {
        const c = regionClients('us-east-1');
        for (const client of Object.values(c)) mockClient(client).onAnyCommand().rejects(new Error('offline'));
        return c;
      },
      now: () => NOW,
    });

    const code = await main(['status'], deps);

    expect(code).toBe(2);
    expect(deps.err.join('\n')).toContain('nothing could be read in either region');
  });

  test('without credentials: the message, exit code 2 and no call', async () => {
    const { deps, stacksRead } = setup();
    const clients = jest.fn(deps.clients);

    const code = await main(['status'], { ...deps, credentials: noCredentials, clients });

    expect(code).toBe(2);
    expect(deps.err).toEqual([
      'No AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or run `aws sso login`), then retry. Nothing was changed.',
    ]);
    expect(stacksRead()).toHaveLength(0);
    expect(clients).not.toHaveBeenCalled();
  });

  test('renderStatusTable starts with the environment and time', () => {
    const err = { ok: false as const, error: 'x' };
    const table = renderStatusTable({
      environment: 'prod',
      checkedAt: NOW.toISOString(),
      services: ['web'],
      dataComponents: ['database', 'sessionCache', 'sharedFiles'],
      regions: [
        {
          region: EAST,
          configuredRole: 'primary',
          healthCheck: err,
          targets: err,
          database: err,
          cache: err,
          files: err,
        },
      ],
      dns: err,
      planFleets: err,
    });
    expect(table.split('\n')[0]).toBe('Environment prod, checked 2025-06-01T12:00:00.000Z');
  });
});
