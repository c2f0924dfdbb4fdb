import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import { FaultExperiments, FaultExperimentsProps } from '../../lib/constructs/fault-experiments';
import { subnetIdsOf } from '../helpers';
import { bareStack, templateOf, testKey, testVpc, TEST_ACCOUNT } from '../harness';

const alarmArn = (alarm: string) => `arn:aws:cloudwatch:us-east-1:${TEST_ACCOUNT}:alarm:haweb-test-${alarm}`;
const CLUSTER_ARN = `arn:aws:rds:us-east-1:${TEST_ACCOUNT}:cluster:haweb-test-aurora`;
const WEB = { service: 'web', autoScalingGroupName: 'haweb-test-web' };
const ORDER_API = { service: 'order-api', autoScalingGroupName: 'haweb-test-order-api' };

/** A bare stack in us-east-1 with the experiments on the fleets of `web` and `order-api`, on a VPC like the app's. */
function build(
  overrides: Partial<Pick<FaultExperimentsProps, 'databaseClusterArn' | 'terminatePercent' | 'fleets'>> = {},
) {
  const stack = bareStack();
  const experiments = new FaultExperiments(stack, 'Experiments', {
    fleets: [WEB, ORDER_API],
    logsKey: testKey(stack),
    vpc: testVpc(stack),
    stopAlarms: ['web-target5xx', 'web-healthy-hosts'].map((a) =>
      cloudwatch.Alarm.fromAlarmArn(stack, `Stop${a}`, alarmArn(a)),
    ),
    ...overrides,
  });
  return Object.assign(templateOf(stack), { experiments });
}

/** Two services, and a database. */
const withDatabase = build({ databaseClusterArn: CLUSTER_ARN });
/** One service, and no database. */
const withoutDatabase = build({ fleets: [WEB] });

const templates = (t: Template) =>
  Object.values(t.findResources('AWS::FIS::ExperimentTemplate')).map((r) => r.Properties);
const actionIds = (t: Template) =>
  templates(t)
    .flatMap((p) => Object.values(p.Actions as Record<string, { ActionId: string }>).map((a) => a.ActionId))
    .sort();
const experiment = (t: Template, action: string) =>
  templates(t).find((p) => JSON.stringify(p.Actions).includes(action))!;
const experimentsWith = (t: Template, action: string) =>
  templates(t).filter((p) => JSON.stringify(p.Actions).includes(action));
const statements = (t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
type InstanceTarget = { ResourceType: string; SelectionMode: string; ResourceTags: Record<string, unknown> };
/** The instance target of a terminate experiment. */
const instancesOf = (p: Record<string, any>) => Object.values(p.Targets)[0] as InstanceTarget;

describe('FaultExperiments', () => {
  test("with a database cluster: terminate each service's instances, cut an AZ and fail the database over", () => {
    expect(actionIds(withDatabase)).toEqual([
      'aws:ec2:terminate-instances',
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
          { Source: 'aws:cloudwatch:alarm', Value: alarmArn('web-target5xx') },
          { Source: 'aws:cloudwatch:alarm', Value: alarmArn('web-healthy-hosts') },
        ]);
      }
    }
  });

  test('terminates a third of the fleet by default, chosen by the Auto Scaling group tag', () => {
    const target = instancesOf(experiment(withoutDatabase, 'terminate-instances'));
    expect(target.SelectionMode).toBe('PERCENT(33)');
    expect(target.ResourceTags).toEqual({ 'aws:autoscaling:groupName': 'haweb-test-web' });
    expect(experimentsWith(withoutDatabase, 'terminate-instances')).toHaveLength(1);
  });

  test("with two fleets, a terminate template per service, each on its own group's running instances", () => {
    const terminate = experimentsWith(withDatabase, 'terminate-instances');
    expect(terminate).toHaveLength(2);
    expect(
      terminate
        .map((p) => [p.Description, instancesOf(p).ResourceTags, instancesOf(p).SelectionMode])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual([
      [
        'Terminate 33 % of the instances of the service order-api',
        { 'aws:autoscaling:groupName': 'haweb-test-order-api' },
        'PERCENT(33)',
      ],
      [
        'Terminate 33 % of the instances of the service web',
        { 'aws:autoscaling:groupName': 'haweb-test-web' },
        'PERCENT(33)',
      ],
    ]);
    for (const p of terminate) {
      expect(instancesOf(p).ResourceType).toBe('aws:ec2:instance');
      expect(Object.values(p.Targets)[0]).toEqual(
        expect.objectContaining({ Filters: [{ Path: 'State.Name', Values: ['running'] }] }),
      );
    }
  });

  test('names each terminate template by its service in Pascal case', () => {
    expect([...withDatabase.experiments.templateIds].sort()).toEqual([
      'DisruptZone',
      'FailoverDatabase',
      'TerminateInstancesOrderApi',
      'TerminateInstancesWeb',
    ]);
    for (const [id, service] of [
      ['TerminateInstancesWeb', 'haweb-test-web'],
      ['TerminateInstancesOrderApi', 'haweb-test-order-api'],
    ] as const) {
      const cfn = withDatabase.experiments.template(id);
      const { Properties } = withDatabase.toJSON().Resources[Stack.of(cfn).getLogicalId(cfn)];
      expect(instancesOf(Properties).ResourceTags).toEqual({ 'aws:autoscaling:groupName': service });
    }
  });

  test('terminates the share terminatePercent gives, in every service', () => {
    const terminate = experimentsWith(build({ terminatePercent: 50 }), 'terminate-instances');
    expect(terminate.map((p) => instancesOf(p).SelectionMode)).toEqual(['PERCENT(50)', 'PERCENT(50)']);
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

  test("the FIS role may terminate only instances of the services' fleets, in one condition", () => {
    const terminate = (t: Template) =>
      statements(t).filter((s: { Action: unknown }) => s.Action === 'ec2:TerminateInstances');
    expect(terminate(withoutDatabase)).toHaveLength(1);
    expect(terminate(withoutDatabase)[0].Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': ['haweb-test-web'] },
    });
    expect(terminate(withDatabase)).toHaveLength(1);
    expect(terminate(withDatabase)[0].Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': ['haweb-test-web', 'haweb-test-order-api'] },
    });
  });
});

describe('FaultExperiments.template', () => {
  test('names the templates it has when asked for one it has not', () => {
    expect(withoutDatabase.experiments.templateIds).toEqual(['TerminateInstancesWeb', 'DisruptZone']);
    expect(() => withoutDatabase.experiments.template('Nope')).toThrow(
      /no experiment template "Nope" \(have TerminateInstances/,
    );
  });

  test('more stop conditions than an experiment template takes are refused (AWS FIS quotas: 5)', () => {
    const stack = bareStack();
    const alarms = Array.from({ length: 6 }, (_, i) =>
      cloudwatch.Alarm.fromAlarmArn(stack, `A${i}`, alarmArn(`a${i}`)),
    );
    expect(
      () =>
        new FaultExperiments(stack, 'Experiments', {
          fleets: [WEB],
          logsKey: testKey(stack),
          vpc: testVpc(stack),
          stopAlarms: alarms,
        }),
    ).toThrow('stopAlarms has 6 alarms; an experiment template takes at most 5 stop conditions (AWS FIS quotas)');
  });
});
