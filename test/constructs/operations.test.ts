import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { prod } from '../../lib/config/environments';
import { buildEnvironment } from '../helpers';

const { env } = buildEnvironment();
const primary = Template.fromStack(env.primary.operations);
const secondary = Template.fromStack(env.secondary.operations);
const appPrimary = Template.fromStack(env.primary.app);
const appSecondary = Template.fromStack(env.secondary.app);

// The region alarms, without the fleet's two instance-refresh alarms (web-fleet.test.ts).
const alarmsOf = (t: Template) =>
  Object.entries(t.findResources('AWS::CloudWatch::Alarm'))
    .filter(([id]) => id.startsWith('Alarms'))
    .map(([, r]) => r.Properties);
const metricNames = (t: Template) =>
  alarmsOf(t)
    .map((p) => p.MetricName)
    .sort();

describe('region alarms (in each app stack, next to what they watch)', () => {
  test('the primary alarms on fleet 5xx, p99 latency, healthy hosts and EFS time since last sync', () => {
    expect(metricNames(appPrimary)).toEqual([
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
      'TimeSinceLastSync',
    ]);
  });

  test('the secondary alarms on its fleet and on Aurora and Global Datastore replication lag', () => {
    expect(metricNames(appSecondary)).toEqual([
      'AuroraGlobalDBReplicationLag',
      'GlobalDatastoreReplicationLag',
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
    ]);
  });

  test('no alarm lives in an operations stack', () => {
    primary.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    secondary.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('have fixed names, the same in both regions, that the plan and fault injection name them by', () => {
    const names = (t: Template) =>
      alarmsOf(t)
        .map((p) => p.AlarmName)
        .sort();
    expect(names(appPrimary)).toEqual([
      'haweb-demo-files-since-last-sync',
      'haweb-demo-healthy-hosts',
      'haweb-demo-latency-p99',
      'haweb-demo-target5xx',
    ]);
    expect(names(appSecondary)).toEqual([
      'haweb-demo-cache-replication-lag',
      'haweb-demo-database-replication-lag',
      'haweb-demo-healthy-hosts',
      'haweb-demo-latency-p99',
      'haweb-demo-target5xx',
    ]);
  });

  test('every alarm notifies the region alarm topic on ALARM and on OK', () => {
    for (const p of [...alarmsOf(appPrimary), ...alarmsOf(appSecondary)]) {
      expect(p.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlertsTopic/) }]);
      expect(p.OKActions).toEqual(p.AlarmActions);
    }
  });

  test('replication alarms treat missing data as breaching (a silent replication has stopped)', () => {
    const lag = alarmsOf(appSecondary).filter((p) => /Lag$/.test(p.MetricName));
    expect(lag).toHaveLength(2);
    for (const p of lag) expect(p.TreatMissingData).toBe('breaching');
  });

  test('the Aurora lag alarm watches the secondary cluster by its fixed identifier, in milliseconds', () => {
    const aurora = alarmsOf(appSecondary).find((p) => p.MetricName === 'AuroraGlobalDBReplicationLag');
    expect(aurora.Namespace).toBe('AWS/RDS');
    expect(aurora.Threshold).toBe(5000);
    expect(aurora.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: 'haweb-demo-aurora' }]);
  });

  test("the cache lag alarm watches the secondary group's first node by its fixed name", () => {
    const cache = alarmsOf(appSecondary).find((p) => p.MetricName === 'GlobalDatastoreReplicationLag');
    expect(cache.Dimensions).toEqual([{ Name: 'CacheClusterId', Value: 'haweb-demo-cache-001' }]);
  });

  test("the EFS alarm names the source and the secondary's file system (an immutable cross-region ID)", () => {
    const efs = alarmsOf(appPrimary).find((p) => p.MetricName === 'TimeSinceLastSync');
    expect(efs.Dimensions.map((d: { Name: string }) => d.Name).sort()).toEqual([
      'DestinationFileSystemId',
      'FileSystemId',
    ]);
    expect(JSON.stringify(efs.Dimensions)).toContain('"StackName":"HaWeb-demo-Storage-us-west-2"');
  });
});

describe('regional dashboards (in each app stack)', () => {
  const bodyOf = (t: Template) => JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));

  test.each([
    [
      'primary',
      appPrimary,
      [
        'RequestCount',
        'HTTPCode_Target_5XX_Count',
        'TargetResponseTime',
        'HealthyHostCount',
        'HealthCheckStatus',
        'TimeSinceLastSync',
      ],
    ],
    [
      'secondary',
      appSecondary,
      [
        'RequestCount',
        'HTTPCode_Target_5XX_Count',
        'TargetResponseTime',
        'HealthyHostCount',
        'HealthCheckStatus',
        'AuroraGlobalDBReplicationLag',
        'GlobalDatastoreReplicationLag',
      ],
    ],
  ])('the %s region shows its fleet, its health check and the replication end it holds', (_role, t, metrics) => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    for (const m of metrics as string[]) expect(bodyOf(t as Template)).toContain(m);
  });

  test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
    expect(bodyOf(appSecondary)).toMatch(/HealthCheckStatus[^\]]*us-east-1/);
  });
});

describe('environment dashboard (primary operations stack)', () => {
  const body = JSON.stringify(primary.findResources('AWS::CloudWatch::Dashboard'));

  test('exists once per environment, in the primary operations stack', () => {
    primary.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    secondary.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  test("shows both regions side by side through their alarms' ARNs, built from the fixed names", () => {
    expect(body).toContain('Primary: us-east-1');
    expect(body).toContain('Secondary: us-west-2');
    for (const [region, alarm] of [
      ['us-east-1', 'haweb-demo-target5xx'],
      ['us-east-1', 'haweb-demo-files-since-last-sync'],
      ['us-west-2', 'haweb-demo-target5xx'],
      ['us-west-2', 'haweb-demo-database-replication-lag'],
      ['us-west-2', 'haweb-demo-cache-replication-lag'],
    ]) {
      expect(body).toContain(`arn:aws:cloudwatch:${region}:111111111111:alarm:${alarm}`);
    }
    expect(body).toContain('\\"region\\":\\"us-west-2\\"');
  });

  test('reads nothing of the other region (no cross-region reference)', () => {
    expect(body).not.toContain('Fn::GetStackOutput');
  });

  test('demo (no plan) has no DNS steering row', () => {
    expect(body).not.toContain('DNS steering of the PRIMARY record');
  });

  test('with a plan, a first row shows the PRIMARY record gate, the plan check and the endpoint check', () => {
    const prodOps = buildEnvironment(prod).env.primary.operations;
    const prodBody = JSON.stringify(Template.fromStack(prodOps).findResources('AWS::CloudWatch::Dashboard'));
    expect(prodBody).toContain('DNS steering of the PRIMARY record');
    expect(prodBody).toContain('PRIMARY record gate (endpoint AND plan)');
    expect(prodBody).toContain(prodOps.getLogicalId(prodOps.failoverRecord.gate!.node.defaultChild as CfnElement));
    expect(prodBody).toContain('PlanHealthChecks');
    expect(prodBody.indexOf('DNS steering')).toBeLessThan(prodBody.indexOf('Primary: us-east-1'));
  });
});

describe('fault injection experiments', () => {
  const templates = (t: Template) =>
    Object.values(t.findResources('AWS::FIS::ExperimentTemplate')).map((r) => r.Properties);
  const actionIds = (t: Template) =>
    templates(t)
      .flatMap((p) => Object.values(p.Actions as Record<string, { ActionId: string }>).map((a) => a.ActionId))
      .sort();

  test('the primary can terminate instances, cut an AZ and fail the database over', () => {
    expect(actionIds(primary)).toEqual([
      'aws:ec2:terminate-instances',
      'aws:network:disrupt-connectivity',
      'aws:rds:failover-db-cluster',
    ]);
  });

  test('the secondary has no in-region database failover (a Global Database secondary cannot)', () => {
    expect(actionIds(secondary)).toEqual(['aws:ec2:terminate-instances', 'aws:network:disrupt-connectivity']);
  });

  test("every experiment stops on its region's 5xx and healthy-host alarms, named by ARN", () => {
    for (const [t, region] of [
      [primary, 'us-east-1'],
      [secondary, 'us-west-2'],
    ] as const) {
      for (const p of templates(t)) {
        expect(p.StopConditions).toEqual([
          {
            Source: 'aws:cloudwatch:alarm',
            Value: `arn:aws:cloudwatch:${region}:111111111111:alarm:haweb-demo-target5xx`,
          },
          {
            Source: 'aws:cloudwatch:alarm',
            Value: `arn:aws:cloudwatch:${region}:111111111111:alarm:haweb-demo-healthy-hosts`,
          },
        ]);
      }
    }
  });

  test('terminates a third of the fleet, chosen by the Auto Scaling group tag', () => {
    const t = templates(primary).find((p) => JSON.stringify(p.Actions).includes('terminate-instances'));
    const target = Object.values(t.Targets)[0] as { SelectionMode: string; ResourceTags: Record<string, unknown> };
    expect(target.SelectionMode).toBe('PERCENT(33)');
    expect(target.ResourceTags).toEqual({ 'aws:autoscaling:groupName': 'haweb-demo-web' });
  });

  test('cuts the private and isolated subnets of one zone for five minutes', () => {
    const t = templates(primary).find((p) => JSON.stringify(p.Actions).includes('disrupt-connectivity'));
    const action = Object.values(t.Actions)[0] as { Parameters: Record<string, string> };
    expect(action.Parameters).toEqual({ duration: 'PT5M', scope: 'all' });
    const target = Object.values(t.Targets)[0] as { ResourceArns: unknown[] };
    expect(target.ResourceArns).toHaveLength(2);
  });

  test('the FIS role may change only network ACLs that FIS tagged itself', () => {
    const statements = Object.values(primary.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const change = statements.find((s) => JSON.stringify(s.Action).includes('ec2:DeleteNetworkAcl'));
    expect(change.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/managedByFIS': 'true' } });
    const create = statements.find((s) => s.Action === 'ec2:CreateNetworkAcl' && s.Condition);
    expect(create.Condition).toEqual({ StringEquals: { 'aws:RequestTag/managedByFIS': 'true' } });
  });

  test('experiments log to CloudWatch Logs through log delivery', () => {
    const t = templates(primary)[0];
    expect(t.LogConfiguration.LogSchemaVersion).toBe(2);
    expect(JSON.stringify(t.LogConfiguration.CloudWatchLogsConfiguration)).toContain('ExperimentsLogs');
  });

  test('the FIS role may terminate only instances of this fleet', () => {
    const statements = Object.values(primary.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const terminate = statements.find((s) => s.Action === 'ec2:TerminateInstances');
    expect(Object.keys(terminate.Condition.StringEquals)).toEqual(['aws:ResourceTag/aws:autoscaling:groupName']);
  });
});
