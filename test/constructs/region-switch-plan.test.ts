import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PlanRegion, RegionSwitchPlan, RegionSwitchPlanProps } from '../../lib/constructs/region-switch-plan';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';

const REGIONS = ['us-east-1', 'us-west-2'] as const;
const SERVICES = ['web', 'order-api'] as const;
const fnArn = (region: string, fn: string) =>
  `arn:aws:lambda:${region}:${TEST_ACCOUNT}:function:haweb-test-${fn}-plan-step`;
/** The full ARN of a service's group in a region, with a UUID of its own (ending in the region's and the service's number). */
const fleetArn = (region: string, service: string) => {
  const uuid = `00000000-0000-4000-8000-0000000000${REGIONS.indexOf(region as never) + 1}${SERVICES.indexOf(service as never) + 1}`;
  return `arn:aws:autoscaling:${region}:${TEST_ACCOUNT}:autoScalingGroup:${uuid}:autoScalingGroupName/haweb-test-${service}`;
};
const clusterArn = (region: string) => `arn:aws:rds:${region}:${TEST_ACCOUNT}:cluster:haweb-test-aurora`;
const alarmArn = (region: string, alarm: string) =>
  `arn:aws:cloudwatch:${region}:${TEST_ACCOUNT}:alarm:haweb-test-${alarm}`;

/** The data components a region has. */
interface Components {
  readonly database: boolean;
  readonly cache: boolean;
  readonly files: boolean;
}
const ALL: Components = { database: true, cache: true, files: true };

const planRegion = (
  region: string,
  services: readonly string[] = SERVICES,
  components: Components = ALL,
): PlanRegion => ({
  region,
  fleets: services.map((service) => ({ service, autoScalingGroupArn: fleetArn(region, service) })),
  ...(components.database ? { databaseClusterArn: clusterArn(region) } : {}),
  functionArns: {
    preflight: fnArn(region, 'preflight'),
    ...(components.cache ? { cacheFailover: fnArn(region, 'cache-failover') } : {}),
    ...(components.files ? { efsReplication: fnArn(region, 'efs-replication') } : {}),
    postcheck: fnArn(region, 'postcheck'),
  },
  recordSetIdentifier: `test-${region}`,
});

const PROPS: RegionSwitchPlanProps = {
  planName: 'haweb-test',
  regions: [planRegion(REGIONS[0]), planRegion(REGIONS[1])],
  globalClusterIdentifier: 'haweb-test-global',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  recordName: 'app.example.com',
  rto: Duration.minutes(15),
  manualApproval: true,
  alarmArns: REGIONS.flatMap((r) => [alarmArn(r, 'web-target5xx'), alarmArn(r, 'web-healthy-hosts')]),
  fleetTags: { 'aws:ResourceTag/Project': 'ha-web-service', 'aws:ResourceTag/Environment': 'test' },
};

/** The props of a plan over `services` with the data components `components` (the global cluster only with a database). */
const propsWith = (services: readonly string[], components: Components): Partial<RegionSwitchPlanProps> => ({
  regions: [planRegion(REGIONS[0], services, components), planRegion(REGIONS[1], services, components)],
  globalClusterIdentifier: components.database ? 'haweb-test-global' : undefined,
});

/** The template of a bare stack holding one plan made with `overrides` of {@link PROPS}. */
function planTemplate(overrides: Partial<RegionSwitchPlanProps> = {}): Template {
  const stack = bareStack();
  new RegionSwitchPlan(stack, 'RegionSwitch', { ...PROPS, ...overrides });
  return templateOf(stack);
}

type Step = { Name: string; ExecutionBlockType: string; ExecutionBlockConfiguration: any };

const template = planTemplate();
/** One service; a session cache and shared files, no database. */
const noDatabase = planTemplate(propsWith(['web'], { database: false, cache: true, files: true }));
/** One service, no data component at all. */
const stateless = planTemplate(propsWith(['web'], { database: false, cache: false, files: false }));

const plan = () => Object.values(template.findResources('AWS::ARCRegionSwitch::Plan'))[0]!.Properties;
const stepsOf = (t: Template) =>
  Object.values(t.findResources('AWS::ARCRegionSwitch::Plan'))[0]!.Properties.Workflows[0].Steps as Step[];
const steps = () => stepsOf(template);
const stepOf = (t: Template, name: string) => stepsOf(t).find((s) => s.Name === name)!;
const step = (name: string) => stepOf(template, name);
const parallelOf = (t: Template, name = 'switch-data-tier') =>
  stepOf(t, name).ExecutionBlockConfiguration.ParallelConfig.Steps as Step[];
const parallel = () => parallelOf(template);
type Statement = { Action: string | string[]; Resource: any; Condition?: any };
const statementsOf = (t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );
const statements = () => statementsOf(template);
const actionsOf = (t: Template) => statementsOf(t).flatMap((s) => ([] as string[]).concat(s.Action));
const invokable = (t: Template) =>
  [
    ...statementsOf(t).find((s) => ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction'))!.Resource,
  ].sort();
/** The group ARNs of a scale step, one per region. */
const asgsOf = (s: Step) => s.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig.Asgs as { Arn: string }[];

describe('RegionSwitchPlan', () => {
  test('is one plan, named by planName', () => {
    template.resourceCountIs('AWS::ARCRegionSwitch::Plan', 1);
    expect(plan().Name).toBe('haweb-test');
  });

  test.each(['haweb-an-environment-name-too-long', 'haweb_test'])(
    'refuses the plan name %s (1 to 32 letters, digits or dashes), naming the setting and the fix',
    (planName) => {
      expect(() => planTemplate({ planName })).toThrow(
        `Test/RegionSwitch: planName "${planName}" must be 1 to 32 letters, digits or dashes; shorten the environment name.`,
      );
    },
  );

  test('is active/passive over both regions, the first primary, with the RTO in minutes', () => {
    expect(plan()).toEqual(
      expect.objectContaining({
        RecoveryApproach: 'activePassive',
        Regions: ['us-east-1', 'us-west-2'],
        PrimaryRegion: 'us-east-1',
        RecoveryTimeObjectiveMinutes: 15,
      }),
    );
  });

  test('runs its workflow in order: approval, pre-flight, capacity, data tier, DNS, post-check', () => {
    expect(steps().map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['approve', 'ManualApproval'],
      ['preflight', 'CustomActionLambda'],
      ['scale-target-fleets', 'Parallel'],
      ['switch-data-tier', 'Parallel'],
      ['shift-dns', 'Route53HealthCheck'],
      ['postcheck', 'CustomActionLambda'],
    ]);
  });

  test('the approval step waits for an operator who assumes the approval role', () => {
    const approval = step('approve').ExecutionBlockConfiguration.ExecutionApprovalConfig;
    const [roleId] = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
      id.startsWith('RegionSwitchApprovalRole'),
    );
    expect(approval.ApprovalRole).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    template.resourceCountIs('AWS::IAM::Role', 2);
  });

  test('leaves the approval (and its role) out when manualApproval is false', () => {
    const t = planTemplate({ manualApproval: false });
    expect(stepsOf(t).map((s) => s.Name)).toEqual([
      'preflight',
      'scale-target-fleets',
      'switch-data-tier',
      'shift-dns',
      'postcheck',
    ]);
    t.resourceCountIs('AWS::IAM::Role', 1);
  });

  test('switches Aurora, the cache and the files in parallel', () => {
    expect(parallel().map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['aurora-global-database', 'AuroraGlobalDatabase'],
      ['cache-global-datastore', 'CustomActionLambda'],
      ['efs-replication-flip', 'CustomActionLambda'],
    ]);
  });

  test("switches Aurora over gracefully and fails it over when ungraceful, naming both regions' clusters", () => {
    const aurora = parallel()[0]!.ExecutionBlockConfiguration.GlobalAuroraConfig;
    expect(aurora).toEqual(
      expect.objectContaining({
        Behavior: 'switchoverOnly',
        GlobalClusterIdentifier: 'haweb-test-global',
        Ungraceful: { Ungraceful: 'failover' },
      }),
    );
    expect(aurora.DatabaseClusterArns).toEqual([clusterArn('us-east-1'), clusterArn('us-west-2')]);
  });

  test("runs each Lambda step in the activating region, naming each region's function by its ARN", () => {
    const lambdaConfig = (name: string) =>
      [...steps(), ...parallel()].find((s) => s.Name === name)!.ExecutionBlockConfiguration.CustomActionLambdaConfig;
    for (const [name, fn] of [
      ['preflight', 'preflight'],
      ['cache-global-datastore', 'cache-failover'],
      ['efs-replication-flip', 'efs-replication'],
      ['postcheck', 'postcheck'],
    ]) {
      const config = lambdaConfig(name!);
      expect(config.RegionToRun).toBe('activatingRegion');
      expect(config.Lambdas).toEqual([{ Arn: fnArn('us-east-1', fn!) }, { Arn: fnArn('us-west-2', fn!) }]);
    }
  });

  test("scales each service's group in the target region in parallel, one step per service", () => {
    const scale = parallelOf(template, 'scale-target-fleets');
    expect(scale.map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['scale-web', 'EC2AutoScaling'],
      ['scale-order-api', 'EC2AutoScaling'],
    ]);
  });

  test("each scale step names exactly its service's group in each region, by its full ARN, to the source capacity", () => {
    for (const s of parallelOf(template, 'scale-target-fleets')) {
      const service = s.Name.replace(/^scale-/, '');
      const config = s.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig;
      expect(config.TargetPercent).toBe(100);
      expect(config.CapacityMonitoringApproach).toBe('sampledMaxInLast24Hours');
      expect(asgsOf(s)).toEqual([{ Arn: fleetArn('us-east-1', service) }, { Arn: fleetArn('us-west-2', service) }]);
    }
  });

  test('with one service, scales its group in a single step, not a parallel one', () => {
    expect(stepsOf(stateless).filter((s) => s.Name.startsWith('scale-'))).toHaveLength(1);
    const scale = stepOf(stateless, 'scale-web');
    expect(scale.ExecutionBlockType).toBe('EC2AutoScaling');
    expect(asgsOf(scale)).toEqual([{ Arn: fleetArn('us-east-1', 'web') }, { Arn: fleetArn('us-west-2', 'web') }]);
  });

  test('without a database: no Aurora step and no permission to switch or fail a global cluster over', () => {
    expect(parallelOf(noDatabase).map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['cache-global-datastore', 'CustomActionLambda'],
      ['efs-replication-flip', 'CustomActionLambda'],
    ]);
    expect(JSON.stringify(stepsOf(noDatabase))).not.toContain('AuroraGlobalDatabase');
    for (const t of [noDatabase, stateless]) {
      expect(actionsOf(t)).not.toContain('rds:SwitchoverGlobalCluster');
      expect(actionsOf(t)).not.toContain('rds:FailoverGlobalCluster');
    }
  });

  test('without any data component: no data tier step, and only pre-flight and post-check to invoke', () => {
    expect(stepsOf(stateless).map((s) => [s.Name, s.ExecutionBlockType])).toEqual([
      ['approve', 'ManualApproval'],
      ['preflight', 'CustomActionLambda'],
      ['scale-web', 'EC2AutoScaling'],
      ['shift-dns', 'Route53HealthCheck'],
      ['postcheck', 'CustomActionLambda'],
    ]);
    expect(invokable(stateless)).toEqual(
      REGIONS.flatMap((r) => ['preflight', 'postcheck'].map((f) => fnArn(r, f))).sort(),
    );
  });

  test('skips every Lambda step in an ungraceful run (the runbook runs them with unplanned options)', () => {
    const all = steps().flatMap((s) =>
      s.ExecutionBlockType === 'Parallel' ? (s.ExecutionBlockConfiguration.ParallelConfig.Steps as Step[]) : [s],
    );
    const lambdaSteps = all.filter((s) => s.ExecutionBlockType === 'CustomActionLambda');
    expect(lambdaSteps.map((s) => s.Name)).toEqual([
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
    const actions = statements().flatMap((s) => ([] as string[]).concat(s.Action));
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

  test('its execution role may update only fleets that carry the fleet tags', () => {
    const update = statements().find((s) => s.Action === 'autoscaling:UpdateAutoScalingGroup')!;
    expect(update.Condition.StringEquals).toEqual({
      'aws:ResourceTag/Project': 'ha-web-service',
      'aws:ResourceTag/Environment': 'test',
    });
  });

  test('its execution role invokes exactly the eight step functions', () => {
    expect(invokable(template)).toHaveLength(8);
    expect(invokable(template)).toEqual(
      REGIONS.flatMap((r) =>
        ['preflight', 'cache-failover', 'efs-replication', 'postcheck'].map((f) => fnArn(r, f)),
      ).sort(),
    );
  });

  test('shifts DNS for the record name through both failover records', () => {
    expect(step('shift-dns').ExecutionBlockConfiguration.Route53HealthCheckConfig).toEqual(
      expect.objectContaining({
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        RecordName: 'app.example.com',
        RecordSets: [
          { RecordSetIdentifier: 'test-us-east-1', Region: 'us-east-1' },
          { RecordSetIdentifier: 'test-us-west-2', Region: 'us-west-2' },
        ],
      }),
    );
  });

  test('watches the given alarms as application health', () => {
    const alarms = Object.values(plan().AssociatedAlarms) as { AlarmType: string; ResourceIdentifier: string }[];
    expect(alarms.map((a) => a.AlarmType)).toEqual(Array(4).fill('applicationHealth'));
    expect(alarms.map((a) => a.ResourceIdentifier)).toEqual(PROPS.alarmArns);
  });

  test('reports to an encrypted, private bucket', () => {
    const reportsKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) =>
      id.startsWith('RegionSwitchReportsKey'),
    );
    expect(reportsKey).toBeDefined();
    template.hasResourceProperties('AWS::S3::Bucket', {
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
    const [bucketId] = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(plan().ReportConfiguration.ReportOutput).toEqual([
      { S3Configuration: { BucketPath: { Ref: bucketId }, BucketOwner: TEST_ACCOUNT } },
    ]);
  });
});
