import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CapacityConfig, isGravitonInstanceType, ServiceHealthCheck, ServiceRollout, ServiceRouting } from '../config';
import { acknowledgeNag } from '../nag';

/** Properties of a {@link WebFleet}. */
export interface WebFleetProps {
  /** VPC whose private subnets hold the instances. */
  readonly vpc: ec2.IVpc;
  /** Security group of the instances (created with the network so data stores can trust it). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The region's shared HTTPS listener; a rule of it forwards the service's requests to the fleet. */
  readonly listener: elbv2.ApplicationListener;
  /** Which requests of the listener the rule forwards (priority, path patterns, host headers). */
  readonly routing: ServiceRouting;
  /** Port the service listens on. */
  readonly port: number;
  /** The load balancer's health check of the instances. */
  readonly healthCheck: ServiceHealthCheck;
  /**
   * Name of the Auto Scaling group; the same in both regions (`names.ts`), so the Region switch plan, fault
   * injection and the CLI find it by name, and no deploy can replace it by accident.
   */
  readonly autoScalingGroupName: string;
  /** EC2 instance types in order of preference, at least two of one CPU architecture, for example `["t3.small", "t3a.small"]`. */
  readonly instanceTypes: readonly string[];
  /**
   * The instances' image, pinned (an explicit ID, or a lookup kept in `cdk.context.json`: see
   * {@link pinnedMachineImage}). Amazon Linux 2023 of the instance types' CPU architecture.
   */
  readonly machineImage: ec2.IMachineImage;
  /** Group size. */
  readonly capacity: CapacityConfig;
  /** Warm-up, draining, scaling and rollback thresholds. */
  readonly rollout: ServiceRollout;
  /** The service's name, in descriptions. */
  readonly serviceName: string;
  /** Topic for alarms and scaling notifications. */
  readonly alarmTopic: sns.ITopic;
  /**
   * Commands the instances run at boot.
   * @default - Amazon Linux 2023 defaults only
   */
  readonly userData?: ec2.UserData;
}

/** How long a finished instance refresh keeps watching its alarms before it succeeds. */
export const REFRESH_BAKE_TIME = Duration.minutes(5);

/** The Amazon Linux CPU type of an instance type (Graviton families carry a `g` after the generation digit: m7g, c7gn, t4g, r8gd). */
export function cpuTypeOf(instanceType: string): ec2.AmazonLinuxCpuType {
  return isGravitonInstanceType(instanceType) ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}

/**
 * The fleet's image, pinned so that only a deliberate change rolls the fleet: `machineImageId` when given (an AMI
 * of the stack's region); otherwise the latest Amazon Linux 2023 image of `instanceType`'s CPU architecture, read
 * from its public SSM parameter once, at the first `cdk synth` with credentials, and kept in `cdk.context.json`
 * (`cachedInContext`): no deploy resolves the parameter again (aws-cdk-lib's default, without it, is a
 * CloudFormation parameter that every deploy resolves anew, so an unrelated deploy could roll the whole fleet).
 */
export function pinnedMachineImage(
  scope: Construct,
  instanceType: string,
  machineImageId: string | undefined,
): ec2.IMachineImage {
  if (machineImageId) return ec2.MachineImage.genericLinux({ [Stack.of(scope).region]: machineImageId });
  return new ec2.AmazonLinux2023ImageSsmParameter({
    cpuType: cpuTypeOf(instanceType),
    // `al2023-ami-kernel-default-<arch>`: the kernel AWS recommends now (MachineImage.latestAmazonLinux2023 pins
    // aws-cdk-lib's choice, 6.1, whatever it is given).
    kernel: ec2.AmazonLinux2023Kernel.DEFAULT,
    cachedInContext: true,
  });
}

/**
 * The region's web fleet: an Auto Scaling group in the private subnets of all
 * three AZs (also named in its `AvailabilityZones`), on-demand instances of
 * the first of the configured instance types with capacity (a mixed instances
 * policy, prioritized), launched from a launch template (Amazon Linux 2023, IMDSv2 only,
 * no public IP, encrypted gp3 root volume, SSM Session Manager instead of
 * SSH), registered with the ALB through a target group checked on the shallow
 * health path, replaced by instance refresh (launch before terminate) that
 * fails and rolls back when the 5xx or unhealthy-host alarms fire, and scaled
 * by CPU target tracking.
 */
export class WebFleet extends Construct {
  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The launch template; a change to it starts an instance refresh. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The target group behind the HTTPS listener. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The service's rule on the shared HTTPS listener. */
  public readonly listenerRule: elbv2.ApplicationListenerRule;
  /** The instances' role; grant it what the service needs. */
  public readonly role: iam.Role;
  /** Target 5xx alarm that fails an instance refresh. */
  public readonly target5xxAlarm: cloudwatch.Alarm;
  /** Unhealthy-host alarm that fails an instance refresh. */
  public readonly unhealthyHostsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WebFleetProps) {
    super(scope, id);
    if (props.instanceTypes.length < 2) {
      throw new Error(
        `${this.node.path}: instanceTypes must list at least 2 instance types (got ${props.instanceTypes.length}).`,
      );
    }
    this.role = this.createRole(props.serviceName);
    this.launchTemplate = this.createLaunchTemplate(props);
    // The target group and its alarms come before the group, whose update policy names the alarms.
    this.targetGroup = this.createTargetGroup(props);
    this.listenerRule = this.createListenerRule(props);
    this.target5xxAlarm = this.createTarget5xxAlarm(props);
    this.unhealthyHostsAlarm = this.createUnhealthyHostsAlarm(props);
    this.autoScalingGroup = this.createGroup(props);
  }

  /** The instances' role: Session Manager's managed policy, and every other permission by grants. */
  private createRole(serviceName: string): iam.Role {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Instances of the service ${serviceName}`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });

    acknowledgeNag(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager, which replaces SSH; ' +
        'AWS keeps its actions in step with the SSM agent. Everything else the role gets comes from grants.',
    );
    return role;
  }

  /** The launch template: the pinned image, IMDSv2 only, no public IP, an encrypted gp3 root volume. */
  private createLaunchTemplate(props: WebFleetProps): ec2.LaunchTemplate {
    return new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: props.machineImage,
      instanceType: new ec2.InstanceType(props.instanceTypes[0]),
      role: this.role,
      securityGroup: props.securityGroup,
      associatePublicIpAddress: false,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      userData: props.userData ?? ec2.UserData.forLinux(),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(20, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });
  }

  /** The target group, checked on the service's health path. */
  private createTargetGroup(props: WebFleetProps): elbv2.ApplicationTargetGroup {
    const svc = props.rollout;
    const hc = props.healthCheck;
    return new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: props.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: Duration.seconds(svc.deregistrationDelaySeconds),
      healthCheck: {
        path: hc.path,
        interval: Duration.seconds(hc.intervalSeconds),
        timeout: Duration.seconds(Math.min(5, hc.intervalSeconds - 1)),
        healthyThresholdCount: hc.healthyThresholdCount,
        unhealthyThresholdCount: hc.unhealthyThresholdCount,
        healthyHttpCodes: '200',
      },
    });
  }

  /** The service's rule on the shared listener (requests no rule matches get the listener's default 404). */
  private createListenerRule(props: WebFleetProps): elbv2.ApplicationListenerRule {
    const conditions = [
      ...(props.routing.pathPatterns ? [elbv2.ListenerCondition.pathPatterns([...props.routing.pathPatterns])] : []),
      ...(props.routing.hostHeaders ? [elbv2.ListenerCondition.hostHeaders([...props.routing.hostHeaders])] : []),
    ];
    return new elbv2.ApplicationListenerRule(this, 'ListenerRule', {
      listener: props.listener,
      priority: props.routing.priority,
      conditions,
      targetGroups: [this.targetGroup],
    });
  }

  /** Target 5xx per minute at the rollback threshold: fails and rolls back an instance refresh. */
  private createTarget5xxAlarm(props: WebFleetProps): cloudwatch.Alarm {
    return this.rollbackAlarm(props, 'Target5xxAlarm', {
      alarmDescription: 'Targets answer with 5xx: fails and rolls back an instance refresh',
      metric: this.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: props.rollout.rollback5xxPerMinute,
      evaluationPeriods: 1,
    });
  }

  /** Unhealthy targets for two minutes: fails and rolls back an instance refresh. */
  private createUnhealthyHostsAlarm(props: WebFleetProps): cloudwatch.Alarm {
    return this.rollbackAlarm(props, 'UnhealthyHostsAlarm', {
      alarmDescription: 'Targets fail the ALB health check: fails and rolls back an instance refresh',
      metric: this.targetGroup.metrics.unhealthyHostCount({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 2,
    });
  }

  /** An alarm at or above its threshold (missing data is not breaching) that notifies the alarm topic. */
  private rollbackAlarm(
    props: WebFleetProps,
    id: string,
    spec: Pick<cloudwatch.AlarmProps, 'alarmDescription' | 'metric' | 'threshold' | 'evaluationPeriods'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...spec,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    return alarm;
  }

  /** The Auto Scaling group: mixed instance types, ELB health, instance refresh with alarm rollback, CPU tracking. */
  private createGroup(props: WebFleetProps): autoscaling.AutoScalingGroup {
    const svc = props.rollout;
    const group = new autoscaling.AutoScalingGroup(this, 'Resource', {
      autoScalingGroupName: props.autoScalingGroupName,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      mixedInstancesPolicy: {
        launchTemplate: this.launchTemplate,
        launchTemplateOverrides: props.instanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t) })),
        instancesDistribution: {
          onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
          onDemandBaseCapacity: 0,
          onDemandPercentageAboveBaseCapacity: 100,
        },
      },
      // No desired capacity: the running size belongs to the running system (scaling, the Region switch plan's
      // scale-up); a new group starts at min, and a deploy leaves the current size alone.
      minCapacity: props.capacity.min,
      maxCapacity: props.capacity.max,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.seconds(svc.healthCheckGracePeriodSeconds),
      }),
      defaultInstanceWarmup: Duration.seconds(svc.instanceWarmupSeconds),
      groupMetrics: [autoscaling.GroupMetrics.all()],
      notifications: [{ topic: props.alarmTopic }],
      // Launch before terminate: never below 100 % healthy, up to 200 % while
      // new instances warm up. An alarm in ALARM fails the refresh; CloudFormation
      // then rolls the stack back, which restores the previous launch template
      // version and replaces the instances already refreshed.
      updatePolicy: autoscaling.UpdatePolicy.instanceRefresh({
        strategy: autoscaling.InstanceRefreshStrategy.ROLLING,
        minHealthyPercentage: 100,
        maxHealthyPercentage: 200,
        instanceWarmup: Duration.seconds(svc.instanceWarmupSeconds),
        skipMatching: true,
        alarms: [this.target5xxAlarm, this.unhealthyHostsAlarm],
        // The alarms are watched until the bake time ends: longer than their
        // evaluation windows (2 min) plus CloudWatch's delay, so a bad last
        // batch still fails and rolls back the refresh.
        bakeTime: REFRESH_BAKE_TIME,
      }),
    });
    group.attachToApplicationTargetGroup(this.targetGroup);
    acknowledgeNag(
      group,
      'AwsSolutions-EC26',
      "cdk-nag 3.0.2's EC26 rule throws on a group with a MixedInstancesPolicy (it reads the group's top-level " +
        'LaunchTemplate, which such a group does not have), so it cannot judge this group. The launch template ' +
        'the policy uses encrypts its only volume, the root volume (tested in web-fleet.test.ts).',
    );

    // The zones of the subnets above, named too: AWS Control Tower CT.AUTOSCALING.PR.1 reads them here, and the
    // Auto Scaling API requires the subnets to lie in these zones.
    (group.node.defaultChild as autoscaling.CfnAutoScalingGroup).availabilityZones = Stack.of(this).availabilityZones;
    Validations.of(group).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason:
        'The zones are named in the environment config on purpose (the VPC uses the same ones): synthesis stays ' +
        'offline and deterministic, and config validation checks that each zone belongs to the stack region.',
    });

    group.scaleOnCpuUtilization('CpuTracking', {
      targetUtilizationPercent: svc.targetCpuUtilizationPercent,
    });
    return group;
  }
}
