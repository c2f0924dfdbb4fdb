import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { demo, prod } from '../../lib/config/environments';
import { buildEnvironment, withConfig } from '../helpers';

const prodEnv = buildEnvironment(prod).env;
const opsP = Template.fromStack(prodEnv.primary.operations);
const opsS = Template.fromStack(prodEnv.secondary.operations);
const plan = () => Object.values(opsP.findResources('AWS::ARCRegionSwitch::Plan'))[0].Properties;
const steps = () =>
  plan().Workflows[0].Steps as { Name: string; ExecutionBlockType: string; ExecutionBlockConfiguration: any }[];
const scaleArns = () =>
  (
    steps().find((s) => s.Name === 'scale-target-fleet')!.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig
      .Asgs as { Arn: unknown }[]
  ).map((a) => a.Arn);

describe('Region switch plan', () => {
  test('prod has one plan, in the primary region operations stack, named haweb-prod', () => {
    opsP.resourceCountIs('AWS::ARCRegionSwitch::Plan', 1);
    opsS.resourceCountIs('AWS::ARCRegionSwitch::Plan', 0);
    expect(plan().Name).toBe('haweb-prod');
  });

  test('demo has no plan by default (regionSwitch.enabled is false)', () => {
    const { env } = buildEnvironment(demo);
    Template.fromStack(env.primary.operations).resourceCountIs('AWS::ARCRegionSwitch::Plan', 0);
  });

  test('is active/passive over both regions with the RTO from config', () => {
    expect(plan()).toEqual(
      expect.objectContaining({
        RecoveryApproach: 'activePassive',
        Regions: ['us-east-1', 'us-west-2'],
        PrimaryRegion: 'us-east-1',
        RecoveryTimeObjectiveMinutes: prod.regionSwitch.rtoMinutes,
      }),
    );
  });

  test('runs its workflow in order: approval, pre-flight, capacity, data tier, DNS, post-check', () => {
    expect(steps().map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['approve', 'ManualApproval'],
      ['preflight', 'CustomActionLambda'],
      ['scale-target-fleet', 'EC2AutoScaling'],
      ['switch-data-tier', 'Parallel'],
      ['shift-dns', 'Route53HealthCheck'],
      ['postcheck', 'CustomActionLambda'],
    ]);
  });

  test('leaves the approval out when config says so', () => {
    const noApproval = withConfig({ regionSwitch: { ...prod.regionSwitch, manualApproval: false } }, prod);
    const t = Template.fromStack(buildEnvironment(noApproval).env.primary.operations);
    const names = (
      Object.values(t.findResources('AWS::ARCRegionSwitch::Plan'))[0].Properties.Workflows[0].Steps as {
        Name: string;
      }[]
    ).map((s) => s.Name);
    expect(names).not.toContain('approve');
  });

  test('switches Aurora, the cache and the files in parallel', () => {
    const parallel = steps().find((s) => s.Name === 'switch-data-tier')!.ExecutionBlockConfiguration.ParallelConfig
      .Steps;
    expect(parallel.map((s: { Name: string; ExecutionBlockType: string }) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['aurora-global-database', 'AuroraGlobalDatabase'],
      ['cache-global-datastore', 'CustomActionLambda'],
      ['efs-replication-flip', 'CustomActionLambda'],
    ]);
  });

  test('switches Aurora over gracefully and fails it over when ungraceful', () => {
    const parallel = steps().find((s) => s.Name === 'switch-data-tier')!.ExecutionBlockConfiguration.ParallelConfig
      .Steps;
    const aurora = parallel[0].ExecutionBlockConfiguration.GlobalAuroraConfig;
    expect(aurora).toEqual(
      expect.objectContaining({
        Behavior: 'switchoverOnly',
        GlobalClusterIdentifier: 'haweb-prod-global',
        Ungraceful: { Ungraceful: 'failover' },
      }),
    );
    expect(aurora.DatabaseClusterArns).toHaveLength(2);
  });

  test("runs each Lambda step in the activating region, naming each region's copy by the ARN of its fixed name", () => {
    const preflight = steps().find((s) => s.Name === 'preflight')!.ExecutionBlockConfiguration.CustomActionLambdaConfig;
    expect(preflight.RegionToRun).toBe('activatingRegion');
    expect(preflight.Lambdas).toEqual([
      { Arn: 'arn:aws:lambda:us-east-1:333333333333:function:haweb-prod-preflight-plan-step' },
      { Arn: 'arn:aws:lambda:us-west-2:333333333333:function:haweb-prod-preflight-plan-step' },
    ]);
    expect(opsP.toJSON().Resources).toBeDefined();
    const westNames = Object.values(opsS.findResources('AWS::Lambda::Function')).map((r) => r.Properties.FunctionName);
    expect(westNames).toContain('haweb-prod-preflight-plan-step');
  });

  test("names each region's Aurora cluster by the ARN of its fixed identifier", () => {
    const parallel = steps().find((s) => s.Name === 'switch-data-tier')!.ExecutionBlockConfiguration.ParallelConfig
      .Steps;
    expect(parallel[0].ExecutionBlockConfiguration.GlobalAuroraConfig.DatabaseClusterArns).toEqual([
      'arn:aws:rds:us-east-1:333333333333:cluster:haweb-prod-aurora',
      'arn:aws:rds:us-west-2:333333333333:cluster:haweb-prod-aurora',
    ]);
  });

  test('scales the target fleet to the source capacity', () => {
    const scale = steps().find((s) => s.Name === 'scale-target-fleet')!.ExecutionBlockConfiguration
      .Ec2AsgCapacityIncreaseConfig;
    expect(scale.TargetPercent).toBe(100);
    expect(scale.Asgs).toHaveLength(2);
  });

  test("names each fleet by its full ARN, read by the fleet's fixed name in its region, never a wildcard UUID", () => {
    const scale = steps().find((s) => s.Name === 'scale-target-fleet')!.ExecutionBlockConfiguration
      .Ec2AsgCapacityIncreaseConfig;
    const arns = JSON.stringify(scale.Asgs);
    expect(arns).not.toContain('autoScalingGroup:*');
    const lookups = opsP.findResources('Custom::AWS');
    expect(Object.keys(lookups)).toHaveLength(2);
    expect(scale.Asgs).toEqual(
      Object.keys(lookups).map((id) => ({ Arn: { 'Fn::GetAtt': [id, 'AutoScalingGroups.0.AutoScalingGroupARN'] } })),
    );
    const calls = Object.values(lookups).map((r) => JSON.parse(JSON.stringify(r.Properties.Create['Fn::Join'][1])));
    for (const [i, region] of ['us-east-1', 'us-west-2'].entries()) {
      const call = JSON.stringify(calls[i]);
      expect(call).toContain('describeAutoScalingGroups');
      expect(call).toContain(`\\"region\\":\\"${region}\\"`);
      expect(call).toContain('haweb-prod-web');
    }
    // No reference to the other region: the lookup calls its API once, at create or when refreshed.
    expect(JSON.stringify(opsP.toJSON())).not.toContain('"StackName":"HaWeb-prod-App-us-west-2"');
  });

  test('reads the fleets again only when the PlanFleetLookup parameter changes, and outputs what it read', () => {
    expect(opsP.toJSON().Parameters.PlanFleetLookup).toMatchObject({ Type: 'String', Default: 'initial' });
    const outputs = opsP.toJSON().Outputs;
    expect(outputs.PlanFleetArnuseast1.Value).toEqual(scaleArns()[0]);
    expect(outputs.PlanFleetArnuswest2.Value).toEqual(scaleArns()[1]);
    for (const lookup of Object.values(opsP.findResources('Custom::AWS'))) {
      expect(JSON.stringify(lookup.Properties.Create)).toContain('{"Ref":"PlanFleetLookup"}');
    }
  });

  test('skips every Lambda step in an ungraceful run (the runbook runs them with unplanned options)', () => {
    const all = steps().flatMap((s: any) =>
      s.ExecutionBlockType === 'Parallel' ? s.ExecutionBlockConfiguration.ParallelConfig.Steps : [s],
    );
    const lambdaSteps = all.filter(
      (s: { ExecutionBlockType: string }) => s.ExecutionBlockType === 'CustomActionLambda',
    );
    expect(lambdaSteps.map((s: { Name: string }) => s.Name)).toEqual([
      'preflight',
      'cache-global-datastore',
      'efs-replication-flip',
      'postcheck',
    ]);
    for (const s of lambdaSteps) {
      expect(s.ExecutionBlockConfiguration.CustomActionLambdaConfig.Ungraceful).toEqual({ Behavior: 'skip' });
    }
  });

  test('its execution role has what Region switch reads while it evaluates the plan', () => {
    const statements = Object.values(opsP.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action));
    for (const action of [
      'arc-region-switch:GetPlan',
      'arc-region-switch:GetPlanExecution',
      'lambda:GetFunction',
      'iam:SimulatePrincipalPolicy',
      'cloudwatch:DescribeAlarmHistory',
      'rds:SwitchoverGlobalCluster',
      'rds:FailoverGlobalCluster',
      'route53:ListResourceRecordSets',
    ]) {
      expect(actions).toContain(action);
    }
  });

  test('shifts DNS for the service name through both failover records', () => {
    const dns = steps().find((s) => s.Name === 'shift-dns')!.ExecutionBlockConfiguration.Route53HealthCheckConfig;
    expect(dns).toEqual(
      expect.objectContaining({
        HostedZoneId: prod.dns.hostedZoneId,
        RecordName: prod.dns.domainName,
        RecordSets: [
          { RecordSetIdentifier: 'prod-us-east-1', Region: 'us-east-1' },
          { RecordSetIdentifier: 'prod-us-west-2', Region: 'us-west-2' },
        ],
      }),
    );
  });

  test('watches the application health alarms and reports to an encrypted, private bucket', () => {
    const alarms = Object.values(plan().AssociatedAlarms) as { AlarmType: string }[];
    expect(alarms.map((a) => a.AlarmType)).toEqual(Array(4).fill('applicationHealth'));
    // Both regions' 5xx and healthy-host alarms, by the ARNs of their fixed names.
    expect(
      (Object.values(plan().AssociatedAlarms) as { ResourceIdentifier: string }[]).map((a) => a.ResourceIdentifier),
    ).toEqual([
      'arn:aws:cloudwatch:us-east-1:333333333333:alarm:haweb-prod-target5xx',
      'arn:aws:cloudwatch:us-east-1:333333333333:alarm:haweb-prod-healthy-hosts',
      'arn:aws:cloudwatch:us-west-2:333333333333:alarm:haweb-prod-target5xx',
      'arn:aws:cloudwatch:us-west-2:333333333333:alarm:haweb-prod-healthy-hosts',
    ]);
    const reportsKey = Object.keys(opsP.findResources('AWS::KMS::Key')).find((id) =>
      id.startsWith('RegionSwitchReportsKey'),
    );
    opsP.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [reportsKey, 'Arn'] },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    expect(plan().ReportConfiguration.ReportOutput).toHaveLength(1);
  });

  test('its execution role may update only fleets tagged with this environment', () => {
    const statements = Object.values(opsP.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const update = statements.find((s) => s.Action === 'autoscaling:UpdateAutoScalingGroup');
    expect(update.Condition.StringEquals).toEqual({
      'aws:ResourceTag/Project': 'ha-web-service',
      'aws:ResourceTag/Environment': 'prod',
    });
  });

  test('its execution role invokes exactly the eight step functions', () => {
    const statements = Object.values(opsP.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const invoke = statements.find((s) => ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction'));
    expect(invoke.Resource).toHaveLength(8);
  });
});

describe('switch functions', () => {
  const fns = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function')).map((r) => r.Properties);

  test("each region has pre-flight, cache failover, EFS replication, post-check and rejoin, plus the plan's copies of the first four, on Node.js 22, arm64", () => {
    for (const t of [opsP, opsS]) {
      const mine = fns(t).filter((p) => p.Runtime === 'nodejs22.x');
      expect(mine).toHaveLength(9);
      expect(mine.filter((p) => p.Environment.Variables.INVOKED_BY === 'region-switch-plan')).toHaveLength(4);
      for (const p of mine) expect(p.Architectures).toEqual(['arm64']);
    }
  });

  test('they know both regions and the global resources through their environment', () => {
    const env = fns(opsS).find((p) => p.Runtime === 'nodejs22.x')!.Environment.Variables;
    expect(JSON.stringify(env.REGIONS)).toContain('us-east-1');
    expect(JSON.stringify(env.REGIONS)).toContain('us-west-2');
    expect(env.GLOBAL_CLUSTER_IDENTIFIER).toBe('haweb-prod-global');
    expect(env.GLOBAL_DATASTORE_ID).toBeDefined();
  });

  test('the cache failover may fail over only this Global Datastore and its two groups', () => {
    const statements = Object.values(opsP.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const failover = statements.find((s) => s.Action === 'elasticache:FailoverGlobalReplicationGroup');
    expect(failover.Resource).toHaveLength(3);
  });

  test('the EFS function acts only on the two file systems', () => {
    const statements = Object.values(opsP.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const efs = statements.find((s) =>
      ([] as string[]).concat(s.Action).includes('elasticfilesystem:DeleteReplicationConfiguration'),
    );
    expect(efs.Resource).toHaveLength(2);
  });

  /** The statements of the role of one function of the primary operations stack. */
  const statementsOf = (name: string) => {
    const fn = prodEnv.primary.operations.switchFunctions.functions[name as 'rejoin'];
    const roleId = prodEnv.primary.operations.getLogicalId(fn.role!.node.defaultChild as CfnElement);
    return Object.values(opsP.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  };
  const actionsOf = (name: string) => statementsOf(name).flatMap((s) => ([] as string[]).concat(s.Action));

  test('rejoin reads the data tier and may create replication, but never fails anything over or deletes', () => {
    const actions = actionsOf('rejoin');
    expect(actions).toEqual(
      expect.arrayContaining([
        'rds:DescribeGlobalClusters',
        'rds:DescribeDBClusters',
        'elasticache:DescribeGlobalReplicationGroups',
        'elasticfilesystem:CreateReplicationConfiguration',
        'elasticfilesystem:UpdateFileSystemProtection',
      ]),
    );
    for (const forbidden of [
      'rds:FailoverGlobalCluster',
      'rds:SwitchoverGlobalCluster',
      'rds:RemoveFromGlobalCluster',
      'elasticache:FailoverGlobalReplicationGroup',
      'elasticfilesystem:DeleteReplicationConfiguration',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    const efs = statementsOf('rejoin').find((s) =>
      ([] as string[]).concat(s.Action).includes('elasticfilesystem:CreateReplicationConfiguration'),
    )!;
    expect(efs.Resource).toHaveLength(2);
  });

  test.each([opsP, opsS])('each function name is a stack output for the CLI', (t) => {
    const outputs = t.toJSON().Outputs;
    for (const name of ['Preflight', 'CacheFailover', 'EfsReplication', 'Postcheck', 'Rejoin']) {
      expect(outputs[`${name}FunctionName`].Value).toEqual({
        Ref: expect.stringMatching(new RegExp(`^SwitchFunctions${name}`)),
      });
    }
  });

  test('the plan runs only the plan-step copies; operators get the others', () => {
    const planFns = JSON.stringify(plan().Workflows);
    for (const name of ['preflight', 'cache-failover', 'efs-replication', 'postcheck'] as const) {
      expect(planFns).toContain(`:function:haweb-prod-${name}-plan-step"`);
      expect(planFns).not.toContain(`:function:haweb-prod-${name}"`);
    }
    for (const t of [opsP, opsS]) {
      const names = fns(t).map((p) => [p.FunctionName, p.Environment?.Variables?.INVOKED_BY]);
      expect(names).toContainEqual(['haweb-prod-preflight-plan-step', 'region-switch-plan']);
      expect(names).toContainEqual(['haweb-prod-preflight', undefined]);
    }
  });

  test('demo (no plan) has no plan-step copies', () => {
    const demoOps = Template.fromStack(buildEnvironment(demo).env.primary.operations);
    const copies = Object.values(demoOps.findResources('AWS::Lambda::Function')).filter(
      (r) => r.Properties.Environment?.Variables?.INVOKED_BY !== undefined,
    );
    expect(copies).toHaveLength(0);
  });
});
