import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import {
  EnvironmentDashboard,
  EnvironmentDashboardProps,
  RegionDashboard,
} from '../../lib/constructs/service-dashboard';
import { REGION_ALARM_IDS, RegionAlarmId } from '../../lib/names';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';

/** The dashboard body of a template, as text. */
const bodyOf = (t: Template) => {
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  return JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
};

describe('RegionDashboard', () => {
  const EAST_FS = 'fs-0123456789abcdef0';
  const WEST_FS = 'fs-0fedcba9876543210';
  /** A bare stack in `region` with the region's dashboard on an imported target group (of a load balancer). */
  const build = (region: string, fileSystemId: string) => {
    const stack = bareStack({ region });
    new RegionDashboard(stack, 'Dashboard', {
      title: `HA web service (test): ${region}`,
      targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, 'TargetGroup', {
        targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:targetgroup/web/0123456789abcdef`,
        loadBalancerArns: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
      }),
      healthCheckId: '11111111-aaaa-4bbb-8ccc-000000000001',
      replication: {
        databaseClusterId: 'haweb-test-aurora',
        cacheNodeIds: ['haweb-test-cache-001', 'haweb-test-cache-002'],
        fileSystemId,
      },
    });
    return bodyOf(templateOf(stack));
  };
  const east = build('us-east-1', EAST_FS);
  const west = build('us-west-2', WEST_FS);
  const FLEET = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'HealthyHostCount'];
  const REPLICATION = ['AuroraGlobalDBReplicationLag', 'GlobalDatastoreReplicationLag', 'TimeSinceLastSync'];

  test.each([
    ['us-east-1', east],
    ['us-west-2', west],
  ])('in %s shows the fleet, the health check and all three replications, whatever the role', (_region, body) => {
    for (const m of [...FLEET, 'HealthCheckStatus', ...REPLICATION]) expect(body).toContain(m);
    expect(body).toContain('haweb-test-aurora');
    expect(body).toContain('haweb-test-cache-001');
  });

  test("the two regions' dashboards differ only in the title and the region's own file system", () => {
    const regionFree = (body: string, region: string, fileSystemId: string) =>
      body.replace(`(test): ${region}`, '(test): <region>').replaceAll(fileSystemId, '<own file system>');
    expect(regionFree(east, 'us-east-1', EAST_FS)).toEqual(regionFree(west, 'us-west-2', WEST_FS));
  });

  test("draws EFS time since last sync with the alarm's query on the region's own file system, and no other", () => {
    const parts: unknown[] = JSON.parse(west)['Fn::Join'][1];
    const widgets: { properties: { title?: string; metrics?: unknown[] } }[] = JSON.parse(
      parts.map((p) => (typeof p === 'string' ? p : 'us-west-2')).join(''),
    ).widgets;
    expect(widgets.find((w) => w.properties.title === 'EFS time since last sync (s)')!.properties.metrics).toEqual([
      [
        {
          label: 'TimeSinceLastSync',
          expression:
            'SELECT MAX(TimeSinceLastSync) FROM SCHEMA("AWS/EFS", DestinationFileSystemId, FileSystemId) ' +
            `WHERE FileSystemId = '${WEST_FS}'`,
        },
      ],
    ]);
    expect(west).not.toContain(EAST_FS);
    expect(east).not.toContain(WEST_FS);
  });

  test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
    expect(west).toMatch(/HealthCheckStatus[^\]]*11111111-aaaa-4bbb-8ccc-000000000001[^\]]*us-east-1/);
  });
});

describe('EnvironmentDashboard', () => {
  const arn = (region: string, alarm: string) =>
    `arn:aws:cloudwatch:${region}:${TEST_ACCOUNT}:alarm:haweb-test-${alarm}`;
  const alarms = (region: string) =>
    Object.fromEntries(REGION_ALARM_IDS.map((a) => [a, arn(region, a)])) as Record<RegionAlarmId, string>;
  const REGIONS: EnvironmentDashboardProps['regions'] = [
    { label: 'us-east-1 (created as primary)', region: 'us-east-1', alarmArns: alarms('us-east-1') },
    { label: 'us-west-2 (created as secondary)', region: 'us-west-2', alarmArns: alarms('us-west-2') },
  ];
  const build = (props: Partial<EnvironmentDashboardProps> = {}) => {
    const stack = bareStack();
    new EnvironmentDashboard(stack, 'Dashboard', { regions: REGIONS, ...props });
    return bodyOf(templateOf(stack));
  };
  const body = build();
  const STEERING = {
    primaryGateHealthCheckId: 'gate-0000-0000-0000-000000000001',
    planPrimaryHealthCheckId: 'plan-0000-0000-0000-000000000002',
    primaryEndpointHealthCheckId: 'endpoint-0000-0000-0000-000000000003',
  };
  const steered = build({ dnsSteering: STEERING });

  test("shows both regions side by side through their alarms' ARNs", () => {
    expect(body).toContain('us-east-1 (created as primary)');
    expect(body).toContain('us-west-2 (created as secondary)');
    for (const region of REGIONS) {
      for (const alarmArn of Object.values(region.alarmArns)) expect(body).toContain(alarmArn);
    }
    expect(body).toContain('\\"region\\":\\"us-west-2\\"');
  });

  test('shows every alarm of each region: its state, and a graph of its metric and threshold', () => {
    for (const region of ['us-east-1', 'us-west-2']) {
      for (const alarm of REGION_ALARM_IDS) {
        // Once in the region's alarm status widget, once in the alarm's own graph.
        expect(body.split(arn(region, alarm))).toHaveLength(3);
      }
    }
    expect(body).not.toContain('not replicated into');
  });

  test('without dnsSteering has no DNS steering row', () => {
    expect(body).not.toContain('DNS steering of the PRIMARY record');
  });

  test('with dnsSteering, a first row shows the PRIMARY record gate, the plan check and the endpoint check', () => {
    expect(steered).toContain('DNS steering of the PRIMARY record');
    expect(steered).toContain('PRIMARY record gate (endpoint AND plan)');
    for (const id of Object.values(STEERING)) expect(steered).toContain(id);
    expect(steered.indexOf('DNS steering')).toBeLessThan(steered.indexOf('us-east-1 (created as primary)'));
  });
});
