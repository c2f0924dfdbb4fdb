import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RegionAlarms, ReplicationWatch } from '../../lib/constructs/region-alarms';
import { REPLICATION_ALARM_IDS, regionAlarmName, RegionAlarmRef, SERVICE_ALARM_IDS } from '../../lib/names';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';
import { withConfig } from '../helpers';

/** The alarms are named as the app names them (`names.ts`), for the environment `test`. */
const CONFIG = withConfig({ name: 'test' });
const nameOf = (ref: RegionAlarmRef) => regionAlarmName(CONFIG, ref);

/** Each region's file system; the cluster and cache group have the same fixed names in both regions. */
const EAST_FS = 'fs-0123456789abcdef0';
const WEST_FS = 'fs-0fedcba9876543210';
const watch = (fileSystemId: string): ReplicationWatch => ({
  databaseClusterId: 'haweb-test-aurora',
  cacheNodeIds: ['haweb-test-cache-001', 'haweb-test-cache-002', 'haweb-test-cache-003'],
  fileSystemId,
});

/** The two services of the region, each behind its own target group of the one load balancer. */
const SERVICES = ['web', 'order-api'] as const;
const TARGET_GROUP_IDS: Record<(typeof SERVICES)[number], string> = {
  web: 'targetgroup/web/0123456789abcdef',
  'order-api': 'targetgroup/order-api/89abcdef01234567',
};

/**
 * A bare stack in `region` with the region alarms on imported target groups (of one load balancer) of
 * `services` and a topic, watching the replication `replication` gives (by default all three components, with a
 * literal file system ID, a different one in each region).
 */
function build(
  region: string,
  replication: (stack: Stack) => ReplicationWatch = () => watch(region === 'us-east-1' ? EAST_FS : WEST_FS),
  services: readonly (typeof SERVICES)[number][] = SERVICES,
): { template: Template; alarms: RegionAlarms } {
  const stack = bareStack({ region });
  const alarms = new RegionAlarms(stack, 'Alarms', {
    services: services.map((name) => ({
      name,
      targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, `TargetGroup-${name}`, {
        targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:${TARGET_GROUP_IDS[name]}`,
        loadBalancerArns: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
      }),
    })),
    topic: new sns.Topic(stack, 'Topic'),
    alarmName: nameOf,
    replication: replication(stack),
  });
  return { template: templateOf(stack), alarms };
}

const east = build('us-east-1');
const west = build('us-west-2');
/** One service, and no data component at all. */
const bare = build('us-east-1', () => ({}), ['web']);
/** One service, and only a database. */
const databaseOnly = build('us-east-1', () => ({ databaseClusterId: 'haweb-test-aurora' }), ['web']);

const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
const namesOf = (t: Template) =>
  alarmsOf(t)
    .map((p) => p.AlarmName as string)
    .sort();
const alarmNamed = (t: Template, ref: RegionAlarmRef) => alarmsOf(t).find((p) => p.AlarmName === nameOf(ref))!;
/** What an alarm watches: its metric name, or the expression of its one query. */
const watched = (p: Record<string, any>): string => p.MetricName ?? p.Metrics[0].Expression;
/** The alarms' properties with the region's own file system ID replaced by a placeholder. */
const regionFree = (t: Template, fileSystemId: string) =>
  JSON.parse(JSON.stringify(alarmsOf(t)).replaceAll(fileSystemId, '<own file system>'));

describe('RegionAlarms', () => {
  test('every region has the same nine alarms, whatever its role: three per service and all three replications', () => {
    const expected = [
      'haweb-test-cache-replication-lag',
      'haweb-test-database-replication-lag',
      'haweb-test-files-since-last-sync',
      'haweb-test-order-api-healthy-hosts',
      'haweb-test-order-api-latency-p99',
      'haweb-test-order-api-target5xx',
      'haweb-test-web-healthy-hosts',
      'haweb-test-web-latency-p99',
      'haweb-test-web-target5xx',
    ];
    expect(namesOf(east.template)).toEqual(expected);
    expect(namesOf(west.template)).toEqual(expected);
  });

  test("gives each service's alarms under a construct named by the service, then the replication alarms", () => {
    expect(east.alarms.all.map((a) => a.node.path)).toEqual([
      ...SERVICE_ALARM_IDS.map((id) => `Test/Alarms/Web/${id}`),
      ...SERVICE_ALARM_IDS.map((id) => `Test/Alarms/OrderApi/${id}`),
      ...REPLICATION_ALARM_IDS.map((id) => `Test/Alarms/${id}`),
    ]);
    for (const service of SERVICES) {
      expect(Object.keys(east.alarms.service(service))).toEqual([...SERVICE_ALARM_IDS]);
    }
    expect(east.alarms.service('order-api').HealthyHosts.node.path).toBe('Test/Alarms/OrderApi/HealthyHosts');
    for (const id of REPLICATION_ALARM_IDS) expect(east.alarms.replication(id)!.node.path).toBe(`Test/Alarms/${id}`);
  });

  test('service() throws for a service the region does not run, naming the ones it has', () => {
    expect(() => east.alarms.service('x')).toThrow('Test/Alarms: no service "x" (have web, order-api)');
  });

  test("the two regions' alarms differ only in the region's own IDs", () => {
    expect(regionFree(east.template, EAST_FS)).toEqual(regionFree(west.template, WEST_FS));
    expect(JSON.stringify(alarmsOf(east.template))).not.toContain(WEST_FS);
    expect(JSON.stringify(alarmsOf(west.template))).not.toContain(EAST_FS);
  });

  test("each service's alarms watch that service's own target group of the load balancer", () => {
    const service = alarmsOf(east.template).filter((p) => p.Namespace === 'AWS/ApplicationELB');
    expect(service).toHaveLength(6);
    for (const name of SERVICES) {
      const own = SERVICE_ALARM_IDS.map((alarm) => alarmNamed(east.template, { service: name, alarm }));
      expect(own.map((p) => p.MetricName)).toEqual([
        'HTTPCode_Target_5XX_Count',
        'TargetResponseTime',
        'HealthyHostCount',
      ]);
      for (const p of own) {
        expect(p.Dimensions).toEqual([
          { Name: 'LoadBalancer', Value: 'app/lb/fedcba9876543210' },
          { Name: 'TargetGroup', Value: TARGET_GROUP_IDS[name] },
        ]);
        expect(p.AlarmDescription).toMatch(new RegExp(`^${name}: `));
      }
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
    for (const t of [east.template, west.template]) {
      expect(REPLICATION_ALARM_IDS.map((alarm) => alarmNamed(t, { alarm }).TreatMissingData)).toEqual([
        'notBreaching',
        'notBreaching',
        'notBreaching',
      ]);
    }
  });

  test('without any data component there are only the service alarms, and no replication alarm', () => {
    expect(namesOf(bare.template)).toEqual([
      'haweb-test-web-healthy-hosts',
      'haweb-test-web-latency-p99',
      'haweb-test-web-target5xx',
    ]);
    for (const id of REPLICATION_ALARM_IDS) expect(bare.alarms.replication(id)).toBeUndefined();
    expect(bare.alarms.all).toHaveLength(3);
  });

  test('with only a database, DatabaseReplicationLag is the one replication alarm', () => {
    expect(namesOf(databaseOnly.template)).toEqual([
      'haweb-test-database-replication-lag',
      'haweb-test-web-healthy-hosts',
      'haweb-test-web-latency-p99',
      'haweb-test-web-target5xx',
    ]);
    expect(databaseOnly.alarms.replication('DatabaseReplicationLag')).toBeDefined();
    expect(databaseOnly.alarms.replication('CacheReplicationLag')).toBeUndefined();
    expect(databaseOnly.alarms.replication('FilesSinceLastSync')).toBeUndefined();
    const json = JSON.stringify(alarmsOf(databaseOnly.template));
    expect(json).not.toContain('AWS/ElastiCache');
    expect(json).not.toContain('TimeSinceLastSync');
  });

  test("the Aurora lag alarm watches the region's cluster by its identifier, in milliseconds", () => {
    for (const t of [west.template, databaseOnly.template]) {
      const aurora = alarmNamed(t, { alarm: 'DatabaseReplicationLag' });
      expect(watched(aurora)).toBe('AuroraGlobalDBReplicationLag');
      expect(aurora.Namespace).toBe('AWS/RDS');
      expect(aurora.Threshold).toBe(5000);
      expect(aurora.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: 'haweb-test-aurora' }]);
    }
  });

  test("the cache lag alarm watches every node of the region's group (the primary node changes with a failover)", () => {
    const cache = alarmNamed(west.template, { alarm: 'CacheReplicationLag' });
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
      const efs = alarmNamed(t, { alarm: 'FilesSinceLastSync' });
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
    const { template } = build(
      'us-east-1',
      (stack) => ({ fileSystemId: new CfnParameter(stack, 'FileSystemId').valueAsString }),
      ['web'],
    );
    expect(alarmNamed(template, { alarm: 'FilesSinceLastSync' }).Metrics[0].Expression).toEqual({
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
