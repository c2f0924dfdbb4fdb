import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as arc from 'aws-cdk-lib/aws-arcregionswitch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PLAN_STEP_REGION_TO_RUN } from '../../contract';
import { createKey, createPrivateBucket } from '../defaults';
import { acknowledgeNag } from '../nag';

/** One region as the plan sees it. */
export interface PlanRegion {
  /** Region name. */
  readonly region: string;
  /**
   * Full ARN of each service's Auto Scaling group in the region (with the UUID AWS assigns, see `FleetArnLookup`),
   * in the same service order in both regions.
   */
  readonly fleets: readonly { readonly service: string; readonly autoScalingGroupArn: string }[];
  /**
   * ARN of the region's Aurora cluster (from its fixed identifier).
   * @default - no database in the environment: no Aurora step
   */
  readonly databaseClusterArn?: string;
  /** ARNs of the region's plan-step copies of the functions (from their fixed names); a component's only with it. */
  readonly functionArns: {
    readonly preflight: string;
    readonly cacheFailover?: string;
    readonly efsReplication?: string;
    readonly postcheck: string;
  };
  /** Set identifier of the region's failover record. */
  readonly recordSetIdentifier: string;
}

/** Properties of {@link RegionSwitchPlan}. */
export interface RegionSwitchPlanProps {
  /** Plan name; the operator CLI finds the plan by it (`haweb-<env>`, 32 characters at most). */
  readonly planName: string;
  /** The primary region, then the secondary. */
  readonly regions: [PlanRegion, PlanRegion];
  /**
   * Identifier of the Aurora global cluster.
   * @default - no database in the environment
   */
  readonly globalClusterIdentifier?: string;
  /** Hosted zone of the failover records. */
  readonly hostedZoneId: string;
  /** The service's name (the failover records). */
  readonly recordName: string;
  /** Recovery time objective. */
  readonly rto: Duration;
  /** Ask an operator to approve before the data tier switches. */
  readonly manualApproval: boolean;
  /** ARNs of the application health alarms the plan watches (and reports on), both regions'. */
  readonly alarmArns: string[];
  /** Tags (as `aws:ResourceTag/<key>` conditions) that only this environment's fleets carry (every service's). */
  readonly fleetTags: Record<string, string>;
}

/** How long each block may take before the plan step fails. */
const STEP_TIMEOUT_MINUTES = { approval: 60, capacity: 30, database: 30, lambda: 15, dns: 10 };

/**
 * The environment's Route 53 ARC Region switch plan (active/passive, both
 * regions). Its workflow to activate a region: optional approval; pre-flight
 * (Lambda: every service's targets healthy, health check healthy, database available); scale every service's
 * group in the target region to the source's capacity (one step per service, in parallel: a Region switch
 * EC2 Auto Scaling block takes one group per region); in parallel the Aurora Global Database switchover
 * (graceful) or failover (ungraceful), the Global Datastore failover (Lambda) and the EFS replication flip
 * (Lambda), each only when the environment has that component; shift DNS with the plan's Route 53 health
 * checks; post-check (Lambda: every service's readiness, and a writable database where it reports one).
 * Execution reports go to an encrypted bucket.
 */
export class RegionSwitchPlan extends Construct {
  /** The plan. */
  public readonly plan: arc.CfnPlan;
  /** The role the plan executes with. */
  public readonly executionRole: iam.Role;
  /** Bucket of the execution reports. */
  public readonly reports: s3.Bucket;
  /** Key of the execution reports (SSE-KMS). */
  public readonly reportsKey: kms.Key;
  /** Role an operator assumes to approve the approval step (when enabled). */
  public readonly approvalRole?: iam.Role;

  constructor(scope: Construct, id: string, props: RegionSwitchPlanProps) {
    super(scope, id);
    validatePlanProps(this.node.path, props);
    const stack = Stack.of(this);
    const [primary, secondary] = props.regions;
    this.reportsKey = createKey(this, 'ReportsKey', {
      description: `Encrypts the execution reports of ${props.planName}`,
    });
    this.reports = createPrivateBucket(this, 'Reports', {
      encryptionKey: this.reportsKey,
      expirationDays: 365,
      noncurrentVersionExpirationDays: 30,
    });
    acknowledgeNag(
      this.reports,
      'AwsSolutions-S1',
      'The bucket holds only Region switch execution reports written by the plan role; access logs of it would need another bucket.',
    );
    this.executionRole = this.createExecutionRole(props);
    this.approvalRole = props.manualApproval ? this.createApprovalRole(props.planName) : undefined;

    this.plan = new arc.CfnPlan(this, 'Resource', {
      name: props.planName,
      description: `Active/passive region switch of ${props.recordName}`,
      recoveryApproach: 'activePassive',
      regions: [primary.region, secondary.region],
      primaryRegion: primary.region,
      executionRole: this.executionRole.roleArn,
      recoveryTimeObjectiveMinutes: props.rto.toMinutes(),
      associatedAlarms: Object.fromEntries(
        props.alarmArns.map((arn, i) => [
          `health${i + 1}`,
          { alarmType: 'applicationHealth', resourceIdentifier: arn },
        ]),
      ),
      reportConfiguration: {
        reportOutput: [{ s3Configuration: { bucketPath: this.reports.bucketName, bucketOwner: stack.account } }],
      },
      workflows: [
        {
          workflowTargetAction: 'activate',
          workflowDescription: 'Activate a region: checks, capacity, data tier, DNS, post-check',
          steps: activateSteps(props, this.approvalRole),
        },
      ],
    });
    // The policy must exist before the plan is evaluated; the role is already a dependency through its ARN.
    this.plan.node.addDependency(this.executionRole.node.findChild('DefaultPolicy'));
  }

  /** The role Region switch runs the plan with: exactly what its steps call and what it reads to evaluate them. */
  private createExecutionRole(props: RegionSwitchPlanProps): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('arc-region-switch.amazonaws.com'),
      description: `Executes the Region switch plan ${props.planName}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.reports.arnForObjects('*')] }),
    );
    // "If you configure a customer managed AWS KMS key for Amazon S3 bucket encryption, you must also add
    // kms:GenerateDataKey and kms:Encrypt" (ARC developer guide, automatic plan execution reports permissions).
    this.reportsKey.grant(role, 'kms:GenerateDataKey', 'kms:Encrypt');
    const functionArns = props.regions.flatMap((r) =>
      Object.values(r.functionArns).filter((a): a is string => a !== undefined),
    );
    // The exact functions, unqualified (grantInvoke would add every version with `:*`).
    role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: functionArns }));
    // An Auto Scaling group's ARN holds a UUID CloudFormation does not return: scope by the group's tags instead.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['autoscaling:UpdateAutoScalingGroup'],
        resources: ['*'],
        conditions: { StringEquals: props.fleetTags },
      }),
    );
    if (props.globalClusterIdentifier !== undefined) {
      const globalClusterArn = stack.formatArn({
        service: 'rds',
        region: '',
        resource: 'global-cluster',
        resourceName: props.globalClusterIdentifier,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['rds:SwitchoverGlobalCluster', 'rds:FailoverGlobalCluster'],
          resources: [globalClusterArn, ...props.regions.map((r) => r.databaseClusterArn!)],
        }),
      );
    }
    // What Region switch itself reads while it evaluates and runs the plan (as in AWS's managed execution policy).
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'arc-region-switch:GetPlan',
          'arc-region-switch:GetPlanExecution',
          'arc-region-switch:ListPlanExecutions',
          'arc-region-switch:ListPlanExecutionEvents',
        ],
        resources: [planArnPattern(stack, props.planName)],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:GetFunction'], resources: functionArns }));
    role.addToPolicy(new iam.PolicyStatement({ actions: PLAN_READ_ACTIONS, resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['route53:ListResourceRecordSets'],
        resources: [`arn:${stack.partition}:route53:::hostedzone/${props.hostedZoneId}`],
      }),
    );
    this.acknowledgeExecutionPolicy(role, props.planName);
    return role;
  }

  /** The reviewers' reasons for the execution role's wildcards. */
  private acknowledgeExecutionPolicy(role: iam.Role, planName: string): void {
    const stack = Stack.of(this);
    const policy = role.node.findChild('DefaultPolicy');
    acknowledgeNag(
      policy,
      `AwsSolutions-IAM5[Resource::${planArnPattern(stack, planName)}]`,
      'A plan ARN ends in an ID Region switch assigns; the wildcard covers only this plan name.',
    );
    acknowledgeNag(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'Describe and read-only monitoring calls of Auto Scaling, RDS, CloudWatch and ELB accept no resource scope; ' +
        "UpdateAutoScalingGroup is limited by condition to this environment's fleets.",
    );
    acknowledgeNag(
      policy,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.reports.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      'Region switch writes one report object per execution under names it chooses, in this bucket only.',
    );
  }

  /** The role an operator assumes to approve the plan's approval step. */
  private createApprovalRole(planName: string): iam.Role {
    const stack = Stack.of(this);
    const approver = new iam.Role(this, 'ApprovalRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `Operators assume this role to approve a run of ${planName}`,
    });
    approver.addToPolicy(
      new iam.PolicyStatement({
        actions: ['arc-region-switch:ApprovePlanExecutionStep', 'arc-region-switch:GetPlanExecution'],
        resources: [planArnPattern(stack, planName)],
      }),
    );
    acknowledgeNag(
      approver.node.findChild('DefaultPolicy'),
      `AwsSolutions-IAM5[Resource::${planArnPattern(stack, planName)}]`,
      'A plan ARN ends in an ID Region switch assigns; the wildcard covers only this plan name.',
    );
    return approver;
  }
}

/** What Region switch reads while it evaluates and runs a plan, on no resource scope the APIs accept. */
const PLAN_READ_ACTIONS = [
  'iam:SimulatePrincipalPolicy',
  'cloudwatch:DescribeAlarmHistory',
  'autoscaling:DescribeAutoScalingGroups',
  'rds:DescribeGlobalClusters',
  'rds:DescribeDBClusters',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:GetMetricStatistics',
  'elasticloadbalancing:DescribeTargetHealth',
];

/** The ARNs of the plan (it ends in an ID Region switch assigns). */
function planArnPattern(stack: Stack, planName: string): string {
  return `arn:${stack.partition}:arc-region-switch::${stack.account}:plan/${planName}*`;
}

/** Refuses props the plan cannot be made of: a bad name, regions that differ in services or data components. */
function validatePlanProps(path: string, props: RegionSwitchPlanProps): void {
  if (!/^[A-Za-z0-9-]{1,32}$/.test(props.planName)) {
    throw new Error(
      `${path}: planName "${props.planName}" must be 1 to 32 letters, digits or dashes; shorten the environment name.`,
    );
  }
  const [primary, secondary] = props.regions;
  const servicesOf = (r: PlanRegion) => r.fleets.map((f) => f.service).join(', ');
  if (primary.fleets.length === 0 || servicesOf(primary) !== servicesOf(secondary)) {
    throw new Error(
      `${path}: both regions must list the same services' groups, in the same order (got ` +
        `[${servicesOf(primary)}] and [${servicesOf(secondary)}]).`,
    );
  }
  for (const [what, has] of [
    ['databaseClusterArn', (r: PlanRegion) => r.databaseClusterArn !== undefined],
    ['functionArns.cacheFailover', (r: PlanRegion) => r.functionArns.cacheFailover !== undefined],
    ['functionArns.efsReplication', (r: PlanRegion) => r.functionArns.efsReplication !== undefined],
  ] as const) {
    if (has(primary) !== has(secondary)) {
      throw new Error(`${path}: ${what} is given for one region only; a data component is in both or neither.`);
    }
  }
  if ((props.globalClusterIdentifier !== undefined) !== (primary.databaseClusterArn !== undefined)) {
    throw new Error(`${path}: globalClusterIdentifier and the regions' databaseClusterArn go together.`);
  }
}

/**
 * A step that runs each region's copy of a function in the activating region. Every Lambda step is skipped in
 * ungraceful (unplanned) executions, as ARC documents for Lambda blocks, and explicitly so: the functions read
 * Route 53 metrics in us-east-1 and the source region may be gone. An unplanned failover runs them from the
 * runbook with unplanned options.
 */
function lambdaStep(
  props: RegionSwitchPlanProps,
  name: string,
  description: string,
  pick: (f: PlanRegion['functionArns']) => string | undefined,
): arc.CfnPlan.StepProperty {
  return {
    name,
    description,
    executionBlockType: 'CustomActionLambda',
    executionBlockConfiguration: {
      customActionLambdaConfig: {
        lambdas: props.regions.map((r) => ({ arn: pick(r.functionArns)! })),
        regionToRun: PLAN_STEP_REGION_TO_RUN,
        retryIntervalMinutes: 1,
        timeoutMinutes: STEP_TIMEOUT_MINUTES.lambda,
        ungraceful: { behavior: 'skip' },
      },
    },
  };
}

/** The activate workflow: approval (with an approver), pre-flight, capacity, data tier, DNS, post-check. */
function activateSteps(props: RegionSwitchPlanProps, approver: iam.IRole | undefined): arc.CfnPlan.StepProperty[] {
  const dataTier = dataTierSteps(props);
  return [
    ...(approver
      ? [
          {
            name: 'approve',
            description: 'An operator confirms the switch before anything changes',
            executionBlockType: 'ManualApproval',
            executionBlockConfiguration: {
              executionApprovalConfig: {
                approvalRole: approver.roleArn,
                timeoutMinutes: STEP_TIMEOUT_MINUTES.approval,
              },
            },
          },
        ]
      : []),
    lambdaStep(
      props,
      'preflight',
      "Target region: every service's targets healthy, its health check healthy, its database available",
      (f) => f.preflight,
    ),
    scaleStep(props),
    ...(dataTier.length > 0
      ? [
          {
            name: 'switch-data-tier',
            description: "The environment's data components change direction together",
            executionBlockType: 'Parallel',
            executionBlockConfiguration: { parallelConfig: { steps: dataTier } },
          },
        ]
      : []),
    {
      name: 'shift-dns',
      description: "Set the plan's Route 53 health checks so the failover records answer with the target region",
      executionBlockType: 'Route53HealthCheck',
      executionBlockConfiguration: {
        route53HealthCheckConfig: {
          hostedZoneId: props.hostedZoneId,
          recordName: props.recordName,
          recordSets: props.regions.map((r) => ({ recordSetIdentifier: r.recordSetIdentifier, region: r.region })),
          timeoutMinutes: STEP_TIMEOUT_MINUTES.dns,
        },
      },
    },
    lambdaStep(
      props,
      'postcheck',
      "Every service's readiness in the target region, with a writable database where it reports one",
      (f) => f.postcheck,
    ),
  ];
}

/** Every service's group scaled in the target region: one EC2 Auto Scaling block each, in parallel when several. */
function scaleStep(props: RegionSwitchPlanProps): arc.CfnPlan.StepProperty {
  const scaleSteps = props.regions[0].fleets.map(({ service }, i): arc.CfnPlan.StepProperty => ({
    name: `scale-${service}`,
    description: `Scale the target region's ${service} group to the capacity the source ran in the last 24 hours`,
    executionBlockType: 'EC2AutoScaling',
    executionBlockConfiguration: {
      ec2AsgCapacityIncreaseConfig: {
        asgs: props.regions.map((r) => ({ arn: r.fleets[i]!.autoScalingGroupArn })),
        targetPercent: 100,
        capacityMonitoringApproach: 'sampledMaxInLast24Hours',
        timeoutMinutes: STEP_TIMEOUT_MINUTES.capacity,
        ungraceful: { minimumSuccessPercentage: 50 },
      },
    },
  }));
  return scaleSteps.length === 1
    ? scaleSteps[0]!
    : {
        name: 'scale-target-fleets',
        description: "Every service's group in the target region, together",
        executionBlockType: 'Parallel',
        executionBlockConfiguration: { parallelConfig: { steps: scaleSteps } },
      };
}

/** The data components' switch steps, each only when the environment has the component. */
function dataTierSteps(props: RegionSwitchPlanProps): arc.CfnPlan.StepProperty[] {
  const functions = props.regions[0].functionArns;
  return [
    ...(props.globalClusterIdentifier !== undefined
      ? [
          {
            name: 'aurora-global-database',
            description: 'Switchover (graceful, no data loss) or failover (ungraceful) of the global cluster',
            executionBlockType: 'AuroraGlobalDatabase',
            executionBlockConfiguration: {
              globalAuroraConfig: {
                behavior: 'switchoverOnly',
                globalClusterIdentifier: props.globalClusterIdentifier,
                databaseClusterArns: props.regions.map((r) => r.databaseClusterArn!),
                timeoutMinutes: STEP_TIMEOUT_MINUTES.database,
                ungraceful: { ungraceful: 'failover' },
              },
            },
          },
        ]
      : []),
    ...(functions.cacheFailover
      ? [
          lambdaStep(
            props,
            'cache-global-datastore',
            'Fail the Global Datastore over to the target region',
            (f) => f.cacheFailover,
          ),
        ]
      : []),
    ...(functions.efsReplication
      ? [
          lambdaStep(
            props,
            'efs-replication-flip',
            "Stop replication so the target's file system becomes writable",
            (f) => f.efsReplication,
          ),
        ]
      : []),
  ];
}
