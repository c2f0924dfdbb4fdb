import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeReplicationConfigurationsCommand, ReplicationNotFound } from '@aws-sdk/client-efs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeGlobalReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../cli/main';
import { demo } from '../../lib/config/environments';
import { RegionClients, StatusReport, renderStatusTable } from '../../cli/status';
import { cliDeps, describeStacksXml, errorXml, fakeFetch, noCredentials, regionClients } from './fakes';

const NOW = new Date('2025-06-01T12:00:00Z');
const EAST = 'us-east-1';
const WEST = 'us-west-2';
const ACCOUNT = '111111111111';
const clusterArn = (region: string, id: string) => `arn:aws:rds:${region}:${ACCOUNT}:cluster:${id}`;

const fleetArn = (region: string, uuid: string) =>
  `arn:aws:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:${uuid}:autoScalingGroupName/haweb-demo-web`;
const LIVE_UUID = '11111111-2222-3333-4444-555555555555';

/** Mocks one region's SDK clients as a healthy deployment of demo. */
function healthyRegion(clients: RegionClients, region: string, role: 'primary' | 'secondary'): void {
  mockClient(clients.autoscaling)
    .on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['haweb-demo-web'] })
    .resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'haweb-demo-web',
          AutoScalingGroupARN: fleetArn(region, LIVE_UUID),
          MinSize: 1,
          MaxSize: 4,
          DesiredCapacity: 2,
          DefaultCooldown: 300,
          AvailabilityZones: [],
          HealthCheckType: 'ELB',
          CreatedTime: NOW,
        },
      ],
    });
  const elb = mockClient(clients.elbv2);
  elb.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [
      { DNSName: 'other.elb.amazonaws.com', LoadBalancerArn: 'arn:other' },
      { DNSName: `HaWeb-LB-${region}.elb.amazonaws.com`, LoadBalancerArn: `arn:lb:${region}` },
    ],
  });
  elb.on(DescribeTargetGroupsCommand, { LoadBalancerArn: `arn:lb:${region}` }).resolves({
    TargetGroups: [{ TargetGroupArn: `arn:tg:${region}` }],
  });
  elb.on(DescribeTargetHealthCommand, { TargetGroupArn: `arn:tg:${region}` }).resolves({
    TargetHealthDescriptions:
      role === 'primary'
        ? [{ TargetHealth: { State: 'healthy' } }, { TargetHealth: { State: 'healthy' } }]
        : [{ TargetHealth: { State: 'healthy' } }, { TargetHealth: { State: 'draining' } }],
  });

  const rds = mockClient(clients.rds);
  rds.on(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: 'haweb-demo-global' }).resolves({
    GlobalClusters: [
      {
        Status: 'available',
        GlobalClusterMembers: [
          { DBClusterArn: clusterArn(EAST, 'db-east'), IsWriter: true },
          { DBClusterArn: clusterArn(WEST, 'db-west'), IsWriter: false, SynchronizationStatus: 'connected' },
        ],
      },
    ],
  });
  rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ Status: 'available' }] });

  const ec = mockClient(clients.elasticache);
  ec.on(DescribeGlobalReplicationGroupsCommand).resolves({
    GlobalReplicationGroups: [
      {
        GlobalReplicationGroupId: 'ldgnf-haweb-demo-sessions',
        Status: 'primary-and-secondary',
        Members: [
          { ReplicationGroupId: 'rg-east', ReplicationGroupRegion: EAST, Role: 'PRIMARY', Status: 'associated' },
          { ReplicationGroupId: 'rg-west', ReplicationGroupRegion: WEST, Role: 'SECONDARY', Status: 'associated' },
        ],
      },
    ],
  });

  const efs = mockClient(clients.efs);
  if (role === 'primary') {
    efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: 'fs-east' }).resolves({
      Replications: [
        {
          SourceFileSystemId: 'fs-east',
          SourceFileSystemRegion: EAST,
          SourceFileSystemArn: 'arn:fs-east',
          OriginalSourceFileSystemArn: 'arn:fs-east',
          CreationTime: new Date('2025-01-01T00:00:00Z'),
          Destinations: [
            {
              Status: 'ENABLED',
              FileSystemId: 'fs-west',
              Region: WEST,
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

  const cw = mockClient(clients.cloudwatch);
  cw.on(GetMetricStatisticsCommand, { Namespace: 'AWS/RDS' }).resolves({
    Datapoints: [
      { Timestamp: new Date(NOW.getTime() - 120_000), Average: 900 },
      { Timestamp: new Date(NOW.getTime() - 60_000), Average: 120.4 },
    ],
  });
  if (region === EAST) {
    cw.on(GetMetricStatisticsCommand, {
      Namespace: 'AWS/Route53',
      Dimensions: [{ Name: 'HealthCheckId', Value: 'hc-east' }],
    }).resolves({ Datapoints: [{ Timestamp: new Date(NOW.getTime() - 60_000), Minimum: 1 }] });
    cw.on(GetMetricStatisticsCommand, {
      Namespace: 'AWS/Route53',
      Dimensions: [{ Name: 'HealthCheckId', Value: 'hc-west' }],
    }).resolves({ Datapoints: [{ Timestamp: new Date(NOW.getTime() - 60_000), Minimum: 0 }] });
    // After a planned switchover to the secondary: the plan's primary check and the gate are unhealthy.
    for (const id of ['hc-plan-east', 'hc-gate']) {
      cw.on(GetMetricStatisticsCommand, {
        Namespace: 'AWS/Route53',
        Dimensions: [{ Name: 'HealthCheckId', Value: id }],
      }).resolves({ Datapoints: [{ Timestamp: new Date(NOW.getTime() - 60_000), Minimum: 0 }] });
    }
  }
}

/** CloudFormation answers for both regions' App and Storage stacks. */
function stacksFetch(failRegion?: string, planUuid = LIVE_UUID) {
  return fakeFetch((req) => {
    const region = /cloudformation\.([a-z0-9-]+)\./.exec(req.url)![1];
    if (region === failRegion) throw new TypeError('fetch failed: connect ETIMEDOUT');
    const stackName = new URLSearchParams(req.body).get('StackName')!;
    const short = region === EAST ? 'east' : 'west';
    const outputs: Record<string, string> = stackName.includes('-App-')
      ? { HealthCheckId: `hc-${short}`, LoadBalancerDnsName: `haweb-lb-${region}.elb.amazonaws.com` }
      : stackName.includes('-Operations-')
        ? {
            PlanPrimaryHealthCheckId: 'hc-plan-east',
            PrimaryGateHealthCheckId: 'hc-gate',
            PlanFleetArnuseast1: fleetArn(EAST, LIVE_UUID),
            PlanFleetArnuswest2: fleetArn(WEST, planUuid),
          }
        : { FileSystemId: `fs-${short}` };
    return { body: describeStacksXml(stackName, outputs) };
  });
}

function setup(options: { failRegion?: string; plan?: boolean; planUuid?: string } = {}) {
  const east = regionClients(EAST);
  const west = regionClients(WEST);
  healthyRegion(east, EAST, 'primary');
  if (options.failRegion === WEST) {
    for (const c of Object.values(west)) {
      mockClient(c).onAnyCommand().rejects(new Error('getaddrinfo ENOTFOUND us-west-2'));
    }
  } else {
    healthyRegion(west, WEST, 'secondary');
  }
  const f = stacksFetch(options.failRegion, options.planUuid);
  const deps = cliDeps({
    fetch: f.fetch,
    clients: (region) => (region === EAST ? east : region === WEST ? west : regionClients(region)),
    now: () => NOW,
    environments: options.plan
      ? { demo: { ...demo, regionSwitch: { ...demo.regionSwitch, enabled: true } } }
      : undefined,
  });
  return { deps, requests: f.requests };
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
      healthCheck: { ok: true, value: { healthCheckId: 'hc-east', status: 'healthy' } },
      targets: { ok: true, value: { healthy: 2, total: 2 } },
      database: { ok: true, value: { role: 'writer', clusterIdentifier: 'db-east', clusterStatus: 'available' } },
      cache: { ok: true, value: { role: 'PRIMARY', globalReplicationGroupId: 'ldgnf-haweb-demo-sessions' } },
      files: {
        ok: true,
        value: {
          fileSystemId: 'fs-east',
          replications: [
            {
              direction: 'outgoing',
              peerRegion: WEST,
              peerFileSystemId: 'fs-west',
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
      healthCheck: { ok: true, value: { healthCheckId: 'hc-west', status: 'unhealthy' } },
      targets: { ok: true, value: { healthy: 1, total: 2, byState: { healthy: 1, draining: 1 } } },
      database: { ok: true, value: { role: 'reader', synchronizationStatus: 'connected', replicationLagMs: 120.4 } },
      cache: { ok: true, value: { role: 'SECONDARY', replicationGroupId: 'rg-west' } },
      files: { ok: true, value: { fileSystemId: 'fs-west', replications: [] } },
    });
  });

  test('--json prints exactly one JSON document with environment, time and two regions', async () => {
    const { deps } = setup();

    await main(['status', '--json'], deps);

    expect(deps.out).toHaveLength(1);
    const report = JSON.parse(deps.out[0]);
    expect(Object.keys(report)).toEqual(['environment', 'checkedAt', 'regions', 'dns', 'planFleets']);
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
    expect(table).toMatch(/Route 53 health check\s+healthy\s+unhealthy/);
    expect(table).toMatch(/ALB targets\s+2\/2 healthy\s+1\/2 healthy \(1 draining\)/);
    expect(table).toMatch(/Aurora replication lag\s+- \(writer\)\s+120 ms/);
    expect(table).toMatch(/EFS replication\s+to us-west-2: ENABLED, last sync 42 s ago\s+none/);
  });

  test('with a plan, it shows how the PRIMARY record is steered: gate and plan check from the operations stack', async () => {
    const { deps, requests } = setup({ plan: true });

    expect(await main(['status', '--json'], deps)).toBe(0);
    const report: StatusReport = JSON.parse(deps.out.join('\n'));
    expect(report.dns).toMatchObject({
      ok: true,
      value: {
        steeredByPlan: true,
        planPrimaryCheck: { healthCheckId: 'hc-plan-east', status: 'unhealthy' },
        primaryGate: { healthCheckId: 'hc-gate', status: 'unhealthy' },
      },
    });
    expect(requests.some((r) => r.body.includes('StackName=HaWeb-demo-Operations-us-east-1'))).toBe(true);

    deps.out.length = 0;
    await main(['status'], deps);
    expect(deps.out.join('\n')).toMatch(
      /DNS \(PRIMARY record\)\s+gate unhealthy \(answers SECONDARY\), plan check unhealthy\s+endpoint check only/,
    );
  });

  test("with a plan, it checks that the plan scales the live fleets (the groups of the fleets' fixed name)", async () => {
    const { deps } = setup({ plan: true });
    await main(['status', '--json'], deps);
    expect((JSON.parse(deps.out.join('\n')) as StatusReport).planFleets).toEqual({
      ok: true,
      value: {
        hasPlan: true,
        fleets: [
          { region: EAST, planned: fleetArn(EAST, LIVE_UUID), live: fleetArn(EAST, LIVE_UUID), matches: true },
          { region: WEST, planned: fleetArn(WEST, LIVE_UUID), live: fleetArn(WEST, LIVE_UUID), matches: true },
        ],
      },
    });
    deps.out.length = 0;
    await main(['status'], deps);
    expect(deps.out.join('\n')).toMatch(/Plan's fleet\s+the live group\s+the live group/);
  });

  test('flags a plan that still scales a fleet deleted and created again, with the way to refresh it', async () => {
    const old = '99999999-8888-7777-6666-555555555555';
    const { deps } = setup({ plan: true, planUuid: old });
    await main(['status'], deps);
    expect(deps.out.join('\n')).toContain(
      `STALE: the plan scales ${fleetArn(WEST, old)}, the live group is ${fleetArn(WEST, LIVE_UUID)}; ` +
        'redeploy HaWeb-demo-Operations-<primary> with a new PlanFleetLookup (runbook: first deploy)',
    );
  });

  test('an unreachable region shows errors per field and the command still succeeds', async () => {
    const { deps } = setup({ failRegion: WEST });

    const code = await main(['status', '--json'], deps);

    expect(code).toBe(0);
    const [east, west] = (JSON.parse(deps.out[0]) as StatusReport).regions;
    expect(east.targets.ok && east.database.ok && east.cache.ok && east.files.ok && east.healthCheck.ok).toBe(true);
    expect(west.targets).toEqual({ ok: false, error: 'fetch failed: connect ETIMEDOUT' });
    expect(west.files).toEqual({ ok: false, error: 'fetch failed: connect ETIMEDOUT' });
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

  test('a stack without the expected output names it', async () => {
    const { deps } = setup();
    const f = fakeFetch((req) => {
      const stackName = new URLSearchParams(req.body).get('StackName')!;
      return stackName.includes('-Storage-')
        ? { body: describeStacksXml(stackName, {}) }
        : { status: 400, body: errorXml('ValidationError', `Stack with id ${stackName} does not exist`) };
    });

    await main(['status', '--json'], { ...deps, fetch: f.fetch });

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
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
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
    const { deps, requests } = setup();
    const clients = jest.fn(deps.clients);

    const code = await main(['status'], { ...deps, credentials: noCredentials, clients });

    expect(code).toBe(2);
    expect(deps.err).toEqual([
      'No AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or run `aws sso login`), then retry. Nothing was changed.',
    ]);
    expect(requests).toHaveLength(0);
    expect(clients).not.toHaveBeenCalled();
  });

  test('renderStatusTable starts with the environment and time', () => {
    const err = { ok: false as const, error: 'x' };
    const table = renderStatusTable({
      environment: 'prod',
      checkedAt: NOW.toISOString(),
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
