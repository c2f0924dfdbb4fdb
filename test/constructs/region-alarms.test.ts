import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RegionAlarms, RegionAlarmsProps } from '../../lib/constructs/region-alarms';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';

/** The region's role decides which replication end it watches, as the app stacks configure it. */
const PRIMARY: Partial<RegionAlarmsProps> = {
  fileReplication: { sourceFileSystemId: 'fs-0123456789abcdef0', destinationFileSystemId: 'fs-0fedcba9876543210' },
};
const SECONDARY: Partial<RegionAlarmsProps> = {
  secondaryDatabaseClusterId: 'haweb-test-aurora',
  secondaryCacheNodeId: 'haweb-test-cache-001',
};

/** A bare stack with the region alarms on an imported target group (of a load balancer) and a topic. */
function build(props: Partial<RegionAlarmsProps>): Template {
  const stack = bareStack();
  const targetGroup = elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, 'TargetGroup', {
    targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${TEST_ACCOUNT}:targetgroup/web/0123456789abcdef`,
    loadBalancerArns: `arn:aws:elasticloadbalancing:us-east-1:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
  });
  new RegionAlarms(stack, 'Alarms', {
    targetGroup,
    topic: new sns.Topic(stack, 'Topic'),
    alarmName: (id) => `haweb-test-${id}`,
    ...props,
  });
  return templateOf(stack);
}

const primary = build(PRIMARY);
const secondary = build(SECONDARY);
const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
const metricNames = (t: Template) =>
  alarmsOf(t)
    .map((p) => p.MetricName)
    .sort();
const alarmOf = (t: Template, metric: string) => alarmsOf(t).find((p) => p.MetricName === metric)!;

describe('RegionAlarms', () => {
  test('at the EFS replication source: fleet 5xx, p99 latency, healthy hosts and EFS time since last sync', () => {
    expect(metricNames(primary)).toEqual([
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
      'TimeSinceLastSync',
    ]);
  });

  test('at the Global Database and Global Datastore secondary: the fleet and both replication lags', () => {
    expect(metricNames(secondary)).toEqual([
      'AuroraGlobalDBReplicationLag',
      'GlobalDatastoreReplicationLag',
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
    ]);
  });

  test('watch the given target group of its load balancer', () => {
    const fleet = alarmsOf(primary).filter((p) => p.Namespace === 'AWS/ApplicationELB');
    expect(fleet).toHaveLength(3);
    for (const p of fleet) {
      expect(p.Dimensions).toEqual([
        { Name: 'LoadBalancer', Value: 'app/lb/fedcba9876543210' },
        { Name: 'TargetGroup', Value: 'targetgroup/web/0123456789abcdef' },
      ]);
    }
  });

  test('are named by alarmName (the fixed names other stacks and regions refer to them by)', () => {
    const names = (t: Template) =>
      alarmsOf(t)
        .map((p) => p.AlarmName)
        .sort();
    expect(names(primary)).toEqual([
      'haweb-test-FilesSinceLastSync',
      'haweb-test-HealthyHosts',
      'haweb-test-LatencyP99',
      'haweb-test-Target5xx',
    ]);
    expect(names(secondary)).toEqual([
      'haweb-test-CacheReplicationLag',
      'haweb-test-DatabaseReplicationLag',
      'haweb-test-HealthyHosts',
      'haweb-test-LatencyP99',
      'haweb-test-Target5xx',
    ]);
  });

  test('every alarm notifies the topic on ALARM and on OK', () => {
    const [topicId] = Object.keys(primary.findResources('AWS::SNS::Topic'));
    for (const p of [...alarmsOf(primary), ...alarmsOf(secondary)]) {
      expect(p.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(p.OKActions).toEqual(p.AlarmActions);
    }
  });

  test('replication alarms treat missing data as breaching (a silent replication has stopped)', () => {
    const replication = [...alarmsOf(primary), ...alarmsOf(secondary)].filter((p) =>
      /Lag$|SinceLastSync$/.test(p.MetricName),
    );
    expect(replication).toHaveLength(3);
    for (const p of replication) expect(p.TreatMissingData).toBe('breaching');
  });

  test('the Aurora lag alarm watches the secondary cluster by its identifier, in milliseconds', () => {
    const aurora = alarmOf(secondary, 'AuroraGlobalDBReplicationLag');
    expect(aurora.Namespace).toBe('AWS/RDS');
    expect(aurora.Threshold).toBe(5000);
    expect(aurora.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: 'haweb-test-aurora' }]);
  });

  test("the cache lag alarm watches the secondary group's first node", () => {
    const cache = alarmOf(secondary, 'GlobalDatastoreReplicationLag');
    expect(cache.Dimensions).toEqual([{ Name: 'CacheClusterId', Value: 'haweb-test-cache-001' }]);
  });

  test('the EFS alarm names the source and the destination file system', () => {
    const efs = alarmOf(primary, 'TimeSinceLastSync');
    expect(efs.Dimensions).toEqual([
      { Name: 'DestinationFileSystemId', Value: 'fs-0fedcba9876543210' },
      { Name: 'FileSystemId', Value: 'fs-0123456789abcdef0' },
    ]);
  });
});
