import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import {
  EnvironmentDashboard,
  EnvironmentDashboardProps,
  RegionDashboard,
  RegionDashboardProps,
} from '../../lib/constructs/service-dashboard';
import { RegionAlarmId } from '../../lib/names';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';

/** The dashboard body of a template, as text. */
const bodyOf = (t: Template) => {
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  return JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
};

describe('RegionDashboard', () => {
  /** A bare stack in `region` with the region's dashboard on an imported target group (of a load balancer). */
  const build = (region: string, props: Partial<RegionDashboardProps>) => {
    const stack = bareStack({ region });
    new RegionDashboard(stack, 'Dashboard', {
      title: `HA web service (test): ${region}`,
      targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, 'TargetGroup', {
        targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:targetgroup/web/0123456789abcdef`,
        loadBalancerArns: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
      }),
      healthCheckId: '11111111-aaaa-4bbb-8ccc-000000000001',
      ...props,
    });
    return bodyOf(templateOf(stack));
  };
  const primary = build('us-east-1', {
    fileReplication: { sourceFileSystemId: 'fs-0123456789abcdef0', destinationFileSystemId: 'fs-0fedcba9876543210' },
  });
  const secondary = build('us-west-2', {
    secondaryDatabaseClusterId: 'haweb-test-aurora',
    secondaryCacheNodeId: 'haweb-test-cache-001',
  });
  const FLEET = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'HealthyHostCount'];

  test('at the EFS replication source shows the fleet, the health check and the files replication', () => {
    for (const m of [...FLEET, 'HealthCheckStatus', 'TimeSinceLastSync']) expect(primary).toContain(m);
    expect(primary).toContain('fs-0fedcba9876543210');
    for (const m of ['AuroraGlobalDBReplicationLag', 'GlobalDatastoreReplicationLag']) {
      expect(primary).not.toContain(m);
    }
  });

  test('at the data tier secondary shows the fleet, the health check and both replication lags', () => {
    for (const m of [...FLEET, 'HealthCheckStatus', 'AuroraGlobalDBReplicationLag', 'GlobalDatastoreReplicationLag']) {
      expect(secondary).toContain(m);
    }
    expect(secondary).toContain('haweb-test-aurora');
    expect(secondary).toContain('haweb-test-cache-001');
    expect(secondary).not.toContain('TimeSinceLastSync');
  });

  test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
    expect(secondary).toMatch(/HealthCheckStatus[^\]]*11111111-aaaa-4bbb-8ccc-000000000001[^\]]*us-east-1/);
  });
});

describe('EnvironmentDashboard', () => {
  const arn = (region: string, alarm: string) =>
    `arn:aws:cloudwatch:${region}:${TEST_ACCOUNT}:alarm:haweb-test-${alarm}`;
  const alarms = (region: string, ids: RegionAlarmId[]) => Object.fromEntries(ids.map((a) => [a, arn(region, a)]));
  const REGIONS: EnvironmentDashboardProps['regions'] = [
    {
      label: 'Primary: us-east-1',
      region: 'us-east-1',
      alarmArns: alarms('us-east-1', ['Target5xx', 'LatencyP99', 'HealthyHosts', 'FilesSinceLastSync']),
    },
    {
      label: 'Secondary: us-west-2',
      region: 'us-west-2',
      alarmArns: alarms('us-west-2', [
        'Target5xx',
        'LatencyP99',
        'HealthyHosts',
        'DatabaseReplicationLag',
        'CacheReplicationLag',
      ]),
    },
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
    expect(body).toContain('Primary: us-east-1');
    expect(body).toContain('Secondary: us-west-2');
    for (const region of REGIONS) {
      for (const alarmArn of Object.values(region.alarmArns)) expect(body).toContain(alarmArn);
    }
    expect(body).toContain('\\"region\\":\\"us-west-2\\"');
  });

  test('says which alarm a region does not have (the replication end it does not hold)', () => {
    expect(body).toContain('Aurora Global Database replication lag (ms): not replicated into us-east-1');
    expect(body).toContain('EFS time since last sync (s): not replicated into us-west-2');
  });

  test('without dnsSteering has no DNS steering row', () => {
    expect(body).not.toContain('DNS steering of the PRIMARY record');
  });

  test('with dnsSteering, a first row shows the PRIMARY record gate, the plan check and the endpoint check', () => {
    expect(steered).toContain('DNS steering of the PRIMARY record');
    expect(steered).toContain('PRIMARY record gate (endpoint AND plan)');
    for (const id of Object.values(STEERING)) expect(steered).toContain(id);
    expect(steered.indexOf('DNS steering')).toBeLessThan(steered.indexOf('Primary: us-east-1'));
  });
});
