import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import { FaultExperiments, FaultExperimentsProps } from '../../lib/constructs/fault-experiments';
import { subnetIdsOf } from '../helpers';
import { bareStack, templateOf, testKey, testVpc, TEST_ACCOUNT } from '../harness';

const alarmArn = (alarm: string) => `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:alarm:haweb-test-${alarm}`;
const CLUSTER_ARN = `arn:aws:rds:us-east-1:${TEST_ACCOUNT}:cluster:haweb-test-aurora`;

/** A bare stack in us-east-1 with the experiments, on a VPC like the app's. */
function build(overrides: Partial<Pick<FaultExperimentsProps, 'databaseClusterArn' | 'terminatePercent'>> = {}) {
  const stack = bareStack();
  new FaultExperiments(stack, 'Experiments', {
    autoScalingGroupName: 'haweb-test-web',
    logsKey: testKey(stack),
    vpc: testVpc(stack),
    stopAlarms: ['target5xx', 'healthy-hosts'].map((a) =>
      cloudwatch.Alarm.fromAlarmArn(stack, `Stop${a}`, alarmArn(a)),
    ),
    ...overrides,
  });
  return templateOf(stack);
}

const withDatabase = build({ databaseClusterArn: CLUSTER_ARN });
const withoutDatabase = build();

const templates = (t: Template) =>
  Object.values(t.findResources('AWS::FIS::ExperimentTemplate')).map((r) => r.Properties);
const actionIds = (t: Template) =>
  templates(t)
    .flatMap((p) => Object.values(p.Actions as Record<string, { ActionId: string }>).map((a) => a.ActionId))
    .sort();
const experiment = (t: Template, action: string) =>
  templates(t).find((p) => JSON.stringify(p.Actions).includes(action))!;
const statements = (t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);

describe('FaultExperiments', () => {
  test('with a database cluster: terminate instances, cut an AZ and fail the database over', () => {
    expect(actionIds(withDatabase)).toEqual([
      'aws:ec2:terminate-instances',
      'aws:network:disrupt-connectivity',
      'aws:rds:failover-db-cluster',
    ]);
  });

  test('without one: no database experiment and no permission to fail a cluster over', () => {
    expect(actionIds(withoutDatabase)).toEqual(['aws:ec2:terminate-instances', 'aws:network:disrupt-connectivity']);
    expect(JSON.stringify(statements(withoutDatabase))).not.toContain('rds:FailoverDBCluster');
  });

  test('fails over exactly the given cluster', () => {
    const t = experiment(withDatabase, 'failover-db-cluster');
    expect(Object.values(t.Targets)).toEqual([
      { ResourceType: 'aws:rds:cluster', ResourceArns: [CLUSTER_ARN], SelectionMode: 'ALL' },
    ]);
    expect(statements(withDatabase)).toContainEqual({
      Action: 'rds:FailoverDBCluster',
      Effect: 'Allow',
      Resource: CLUSTER_ARN,
    });
  });

  test('every experiment stops on the stop alarms, named by ARN', () => {
    for (const t of [withDatabase, withoutDatabase]) {
      for (const p of templates(t)) {
        expect(p.StopConditions).toEqual([
          { Source: 'aws:cloudwatch:alarm', Value: alarmArn('target5xx') },
          { Source: 'aws:cloudwatch:alarm', Value: alarmArn('healthy-hosts') },
        ]);
      }
    }
  });

  test('terminates a third of the fleet by default, chosen by the Auto Scaling group tag', () => {
    const t = experiment(withDatabase, 'terminate-instances');
    const target = Object.values(t.Targets)[0] as { SelectionMode: string; ResourceTags: Record<string, unknown> };
    expect(target.SelectionMode).toBe('PERCENT(33)');
    expect(target.ResourceTags).toEqual({ 'aws:autoscaling:groupName': 'haweb-test-web' });
  });

  test('terminates the share terminatePercent gives', () => {
    const t = experiment(build({ terminatePercent: 50 }), 'terminate-instances');
    expect((Object.values(t.Targets)[0] as { SelectionMode: string }).SelectionMode).toBe('PERCENT(50)');
  });

  test('cuts the private and isolated subnets of the first zone for five minutes', () => {
    const t = experiment(withDatabase, 'disrupt-connectivity');
    const action = Object.values(t.Actions)[0] as { Parameters: Record<string, string> };
    expect(action.Parameters).toEqual({ duration: 'PT5M', scope: 'all' });
    const target = Object.values(t.Targets)[0] as { ResourceArns: unknown[] };
    expect(target.ResourceArns).toHaveLength(2);
    const subnets = JSON.stringify(target.ResourceArns);
    for (const tier of ['Private', 'Isolated']) {
      expect(subnets).toContain(JSON.stringify({ Ref: subnetIdsOf(withDatabase, tier)[0] }));
    }
  });

  test('the FIS role may change only network ACLs that FIS tagged itself', () => {
    const all = statements(withDatabase);
    const change = all.find((s) => JSON.stringify(s.Action).includes('ec2:DeleteNetworkAcl'));
    expect(change.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/managedByFIS': 'true' } });
    const create = all.find((s) => s.Action === 'ec2:CreateNetworkAcl' && s.Condition);
    expect(create.Condition).toEqual({ StringEquals: { 'aws:RequestTag/managedByFIS': 'true' } });
  });

  test('experiments log to CloudWatch Logs through log delivery', () => {
    const logGroup = Object.keys(withDatabase.findResources('AWS::Logs::LogGroup'));
    expect(logGroup).toEqual([expect.stringMatching(/^ExperimentsLogs/)]);
    for (const t of templates(withDatabase)) {
      expect(t.LogConfiguration).toEqual({
        LogSchemaVersion: 2,
        CloudWatchLogsConfiguration: { LogGroupArn: { 'Fn::GetAtt': [logGroup[0], 'Arn'] } },
      });
    }
  });

  test('the FIS role may terminate only instances of this fleet', () => {
    const terminate = statements(withDatabase).find((s) => s.Action === 'ec2:TerminateInstances');
    expect(terminate.Condition.StringEquals).toEqual({ 'aws:ResourceTag/aws:autoscaling:groupName': 'haweb-test-web' });
  });
});
