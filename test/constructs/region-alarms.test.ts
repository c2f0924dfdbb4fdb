import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RegionAlarms, ReplicationWatch } from '../../lib/constructs/region-alarms';
import { REGION_ALARM_IDS } from '../../lib/names';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';

/** Each region's file system; the cluster and cache group have the same fixed names in both regions. */
const EAST_FS = 'fs-0123456789abcdef0';
const WEST_FS = 'fs-0fedcba9876543210';
const watch = (fileSystemId: string): ReplicationWatch => ({
  databaseClusterId: 'haweb-test-aurora',
  cacheNodeIds: ['haweb-test-cache-001', 'haweb-test-cache-002', 'haweb-test-cache-003'],
  fileSystemId,
});

/**
 * A bare stack in `region` with the region alarms on an imported target group (of a load balancer) and a topic,
 * watching the file system `fileSystemId` gives (by default a literal ID, a different one in each region).
 */
function build(
  region: string,
  fileSystemId: (stack: Stack) => string = () => (region === 'us-east-1' ? EAST_FS : WEST_FS),
): { template: Template; alarms: RegionAlarms } {
  const stack = bareStack({ region });
  const targetGroup = elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, 'TargetGroup', {
    targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:targetgroup/web/0123456789abcdef`,
    loadBalancerArns: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
  });
  const alarms = new RegionAlarms(stack, 'Alarms', {
    targetGroup,
    topic: new sns.Topic(stack, 'Topic'),
    alarmName: (id) => `haweb-test-${id}`,
    replication: watch(fileSystemId(stack)),
  });
  return { template: templateOf(stack), alarms };
}

const east = build('us-east-1');
const west = build('us-west-2');
const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
const alarmNamed = (t: Template, id: string) => alarmsOf(t).find((p) => p.AlarmName === `haweb-test-${id}`)!;
/** What an alarm watches: its metric name, or the expression of its one query. */
const watched = (p: Record<string, any>): string => p.MetricName ?? p.Metrics[0].Expression;
/** The alarms' properties with the region's own file system ID replaced by a placeholder. */
const regionFree = (t: Template, fileSystemId: string) =>
  JSON.parse(JSON.stringify(alarmsOf(t)).replaceAll(fileSystemId, '<own file system>'));

describe('RegionAlarms', () => {
  test('every region has the same six alarms, whatever its role: the fleet and all three replications', () => {
    const names = (t: Template) =>
      alarmsOf(t)
        .map((p) => p.AlarmName)
        .sort();
    const expected = REGION_ALARM_IDS.map((id) => `haweb-test-${id}`).sort();
    expect(expected).toEqual([
      'haweb-test-CacheReplicationLag',
      'haweb-test-DatabaseReplicationLag',
      'haweb-test-FilesSinceLastSync',
      'haweb-test-HealthyHosts',
      'haweb-test-LatencyP99',
      'haweb-test-Target5xx',
    ]);
    expect(names(east.template)).toEqual(expected);
    expect(names(west.template)).toEqual(expected);
    expect(Object.keys(east.alarms.alarms).sort()).toEqual([...REGION_ALARM_IDS].sort());
  });

  test("the two regions' alarms differ only in the region's own IDs", () => {
    expect(regionFree(east.template, EAST_FS)).toEqual(regionFree(west.template, WEST_FS));
    expect(JSON.stringify(alarmsOf(east.template))).not.toContain(WEST_FS);
    expect(JSON.stringify(alarmsOf(west.template))).not.toContain(EAST_FS);
  });

  test('watch the given target group of its load balancer', () => {
    const fleet = alarmsOf(east.template).filter((p) => p.Namespace === 'AWS/ApplicationELB');
    expect(fleet.map((p) => p.MetricName).sort()).toEqual([
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
    ]);
    for (const p of fleet) {
      expect(p.Dimensions).toEqual([
        { Name: 'LoadBalancer', Value: 'app/lb/fedcba9876543210' },
        { Name: 'TargetGroup', Value: 'targetgroup/web/0123456789abcdef' },
      ]);
    }
  });

  test('every alarm notifies the topic on ALARM and on OK', () => {
    const [topicId] = Object.keys(east.template.findResources('AWS::SNS::Topic'));
    for (const p of alarmsOf(east.template)) {
      expect(p.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(p.OKActions).toEqual(p.AlarmActions);
    }
  });

  test('replication alarms treat missing data as not breaching (one end of each replication publishes nothing)', () => {
    const replication = ['DatabaseReplicationLag', 'CacheReplicationLag', 'FilesSinceLastSync'];
    for (const t of [east.template, west.template]) {
      expect(replication.map((id) => alarmNamed(t, id).TreatMissingData)).toEqual([
        'notBreaching',
        'notBreaching',
        'notBreaching',
      ]);
    }
  });

  test("the Aurora lag alarm watches the region's cluster by its identifier, in milliseconds", () => {
    const aurora = alarmNamed(west.template, 'DatabaseReplicationLag');
    expect(watched(aurora)).toBe('AuroraGlobalDBReplicationLag');
    expect(aurora.Namespace).toBe('AWS/RDS');
    expect(aurora.Threshold).toBe(5000);
    expect(aurora.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: 'haweb-test-aurora' }]);
  });

  test("the cache lag alarm watches every node of the region's group (the primary node changes with a failover)", () => {
    const cache = alarmNamed(west.template, 'CacheReplicationLag');
    expect(cache.Threshold).toBe(10);
    const [expression, ...nodes] = cache.Metrics as Record<string, any>[];
    expect(expression).toEqual(expect.objectContaining({ Expression: 'MAX([n1, n2, n3])', ReturnData: true }));
    expect(
      nodes.map((n) => [n.Id, n.ReturnData, n.MetricStat.Metric.MetricName, n.MetricStat.Metric.Dimensions]),
    ).toEqual(
      ['001', '002', '003'].map((suffix, i) => [
        `n${i + 1}`,
        false,
        'GlobalDatastoreReplicationLag',
        [{ Name: 'CacheClusterId', Value: `haweb-test-cache-${suffix}` }],
      ]),
    );
  });

  test("the EFS alarm is a Metrics Insights query on the region's own file system as the source, every 5 minutes", () => {
    for (const [t, own, other] of [
      [east.template, EAST_FS, WEST_FS],
      [west.template, WEST_FS, EAST_FS],
    ] as const) {
      const efs = alarmNamed(t, 'FilesSinceLastSync');
      expect(efs.MetricName).toBeUndefined();
      expect(efs.Dimensions).toBeUndefined();
      expect(efs.Metrics).toEqual([
        {
          Id: expect.any(String),
          Label: 'TimeSinceLastSync',
          Expression:
            'SELECT MAX(TimeSinceLastSync) FROM SCHEMA("AWS/EFS", DestinationFileSystemId, FileSystemId) ' +
            `WHERE FileSystemId = '${own}'`,
          Period: 300,
          ReturnData: true,
        },
      ]);
      expect(JSON.stringify(efs)).not.toContain(other);
      expect(efs.Threshold).toBe(1800);
      expect(efs.EvaluationPeriods).toBe(2);
      expect(efs.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    }
  });

  test('a file system ID that is a token goes into the query as a CloudFormation value', () => {
    const { template } = build('us-east-1', (stack) => new CfnParameter(stack, 'FileSystemId').valueAsString);
    expect(alarmNamed(template, 'FilesSinceLastSync').Metrics[0].Expression).toEqual({
      'Fn::Join': [
        '',
        [
          'SELECT MAX(TimeSinceLastSync) FROM SCHEMA("AWS/EFS", DestinationFileSystemId, FileSystemId) ' +
            "WHERE FileSystemId = '",
          { Ref: 'FileSystemId' },
          "'",
        ],
      ],
    });
  });
});
