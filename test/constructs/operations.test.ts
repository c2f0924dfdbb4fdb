import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { prod } from '../../lib/config/environments';
import { buildEnvironment } from '../helpers';

const { env } = buildEnvironment();
const primary = Template.fromStack(env.primary.operations);
const secondary = Template.fromStack(env.secondary.operations);

const alarmsOf = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
const metricNames = (t: Template) =>
  alarmsOf(t)
    .map((p) => p.MetricName)
    .sort();

describe('region alarms', () => {
  test('the primary alarms on fleet 5xx, p99 latency, healthy hosts and EFS time since last sync', () => {
    expect(metricNames(primary)).toEqual([
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
      'TimeSinceLastSync',
    ]);
  });

  test('the secondary alarms on its fleet and on Aurora and Global Datastore replication lag', () => {
    expect(metricNames(secondary)).toEqual([
      'AuroraGlobalDBReplicationLag',
      'GlobalDatastoreReplicationLag',
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'TargetResponseTime',
    ]);
  });

  test('every alarm notifies the region alarm topic on ALARM and on OK', () => {
    for (const p of [...alarmsOf(primary), ...alarmsOf(secondary)]) {
      expect(p.AlarmActions).toHaveLength(1);
      expect(JSON.stringify(p.AlarmActions)).toContain('Alerts');
      expect(p.OKActions).toEqual(p.AlarmActions);
    }
  });

  test('replication alarms treat missing data as breaching (a silent replication has stopped)', () => {
    const lag = alarmsOf(secondary).filter((p) => /Lag$/.test(p.MetricName));
    expect(lag).toHaveLength(2);
    for (const p of lag) expect(p.TreatMissingData).toBe('breaching');
  });

  test('the Aurora lag alarm watches the secondary cluster, in milliseconds', () => {
    const aurora = alarmsOf(secondary).find((p) => p.MetricName === 'AuroraGlobalDBReplicationLag');
    expect(aurora.Namespace).toBe('AWS/RDS');
    expect(aurora.Threshold).toBe(5000);
    expect(JSON.stringify(aurora.Dimensions)).toContain('DBClusterIdentifier');
  });

  test('the EFS alarm names the source and destination file systems', () => {
    const efs = alarmsOf(primary).find((p) => p.MetricName === 'TimeSinceLastSync');
    expect(efs.Dimensions.map((d: { Name: string }) => d.Name).sort()).toEqual([
      'DestinationFileSystemId',
      'FileSystemId',
    ]);
    expect(JSON.stringify(efs.Dimensions)).toContain('HaWeb-demo-Storage-us-west-2');
  });
});

describe('dashboard', () => {
  const body = JSON.stringify(primary.findResources('AWS::CloudWatch::Dashboard'));

  test('exists once per environment, in the primary operations stack', () => {
    primary.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    secondary.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  test.each([
    'RequestCount',
    'HTTPCode_Target_5XX_Count',
    'TargetResponseTime',
    'HealthyHostCount',
    'HealthCheckStatus',
    'AuroraGlobalDBReplicationLag',
    'GlobalDatastoreReplicationLag',
    'TimeSinceLastSync',
  ])('shows %s', (metric) => {
    expect(body).toContain(metric);
  });

  test('shows both regions side by side', () => {
    expect(body).toContain('Primary: us-east-1');
    expect(body).toContain('Secondary: us-west-2');
    expect(body).toContain('\\"region\\":\\"us-west-2\\"');
  });

  test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
    expect(body).toMatch(/HealthCheckStatus[^\]]*us-east-1/);
  });

  test('demo (no plan) has no DNS steering row', () => {
    expect(body).not.toContain('DNS steering of the PRIMARY record');
  });

  test('with a plan, a first row shows the PRIMARY record gate and the plan check', () => {
    const prodOps = buildEnvironment(prod).env.primary.operations;
    const prodBody = JSON.stringify(Template.fromStack(prodOps).findResources('AWS::CloudWatch::Dashboard'));
    expect(prodBody).toContain('DNS steering of the PRIMARY record');
    expect(prodBody).toContain('PRIMARY record gate (endpoint AND plan)');
    expect(prodBody).toContain(
      prodOps.getLogicalId(prodOps.failoverRecords!.primaryGate!.node.defaultChild as CfnElement),
    );
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

  test('every experiment stops on the region 5xx and healthy-host alarms', () => {
    for (const p of [...templates(primary), ...templates(secondary)]) {
      expect(p.StopConditions).toHaveLength(2);
      for (const c of p.StopConditions) expect(c.Source).toBe('aws:cloudwatch:alarm');
    }
  });

  test('terminates a third of the fleet, chosen by the Auto Scaling group tag', () => {
    const t = templates(primary).find((p) => JSON.stringify(p.Actions).includes('terminate-instances'));
    const target = Object.values(t.Targets)[0] as { SelectionMode: string; ResourceTags: Record<string, unknown> };
    expect(target.SelectionMode).toBe('PERCENT(33)');
    expect(Object.keys(target.ResourceTags)).toEqual(['aws:autoscaling:groupName']);
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
