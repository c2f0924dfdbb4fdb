import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ServiceHealthCheck, ServiceRollout, ServiceRouting } from '../../lib/config';
import { demo } from '../../lib/config/environments';
import {
  cpuTypeOf,
  pinnedMachineImage,
  REFRESH_BAKE_TIME,
  WebFleet,
  WebFleetProps,
} from '../../lib/constructs/web-fleet';
import { RegionalStack } from '../../lib/regional-stack';
import { bareStack, templateOf, testSecurityGroup, testVpc } from '../harness';
import { logicalIdOf, onlyResource } from '../helpers';

/** Every rollout setting different from the others and from the config's, so each shows where it lands. */
const TUNED_ROLLOUT: ServiceRollout = {
  ...demo.services[0]!.rollout,
  deregistrationDelaySeconds: 41,
  healthCheckGracePeriodSeconds: 97,
  instanceWarmupSeconds: 143,
  targetCpuUtilizationPercent: 61,
  rollback5xxPerMinute: 17,
};
/** A health check unlike the config's. */
const TUNED_HEALTH_CHECK: ServiceHealthCheck = {
  path: '/api/orders/healthz',
  intervalSeconds: 7,
  unhealthyThresholdCount: 4,
  healthyThresholdCount: 3,
};
/** A port unlike the config's services'. */
const PORT = 8123;
/** A rule with two path patterns, at a priority of its own. */
const ROUTING: ServiceRouting = { priority: 123, pathPatterns: ['/api/orders/*', '/orders'] };

const CAPACITY = { min: 2, max: 5 };
const INSTANCE_TYPES = ['m7g.medium', 'c7g.medium'];
const PINNED_AMI = 'ami-0123456789abcdef0';

interface FleetUnderTest {
  readonly stack: RegionalStack;
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly listener: elbv2.ApplicationListener;
  readonly topic: sns.Topic;
  readonly fleet: WebFleet;
  readonly template: Template;
}

/** The pieces a fleet needs on a bare stack: a VPC, its security group, the shared HTTPS listener (404 by default), a topic. */
function regionOf() {
  const stack = bareStack();
  const vpc = testVpc(stack);
  const securityGroup = testSecurityGroup(stack, vpc, 'WebInstances');
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
  const listener = loadBalancer.addListener('Https', {
    port: 443,
    protocol: elbv2.ApplicationProtocol.HTTPS,
    certificates: [elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:111111111111:certificate/test')],
    open: true,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  const topic = new sns.Topic(stack, 'AlarmTopic');
  return { stack, vpc, securityGroup, listener, topic };
}

/** The props of a fleet in the region of {@link regionOf}. */
function propsIn(region: ReturnType<typeof regionOf>, props: Partial<WebFleetProps> = {}): WebFleetProps {
  return {
    vpc: region.vpc,
    securityGroup: region.securityGroup,
    listener: region.listener,
    serviceName: 'orders',
    routing: ROUTING,
    port: PORT,
    healthCheck: TUNED_HEALTH_CHECK,
    rollout: TUNED_ROLLOUT,
    autoScalingGroupName: 'test-web',
    instanceTypes: INSTANCE_TYPES,
    capacity: CAPACITY,
    alarmTopic: region.topic,
    machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': PINNED_AMI }),
    ...props,
  };
}

/** A {@link WebFleet} on a bare stack, with a rule on the HTTPS listener of its own load balancer. */
function fleetOf(props: Partial<WebFleetProps> = {}): FleetUnderTest {
  const region = regionOf();
  const fleet = new WebFleet(region.stack, 'Fleet', propsIn(region, props));
  return { ...region, fleet, template: templateOf(region.stack) };
}

/** The launch template's image ID. */
function imageIdOf(template: Template): unknown {
  return onlyResource(template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData.ImageId;
}

/** The image lookups a stack's synthesis left missing from the context (the SSM parameters it would read). */
function missingImageLookups(stack: RegionalStack): string[] {
  const assembly = stack.node.root as unknown as { synth(): { manifest: { missing?: { props: unknown }[] } } };
  return (assembly.synth().manifest.missing ?? []).map((m) => (m.props as { parameterName: string }).parameterName);
}

describe('pinnedMachineImage', () => {
  test("an explicit ID is the launch template's image, with no lookup", () => {
    const stack = bareStack();
    const image = pinnedMachineImage(stack, 'm7g.large', 'ami-0123456789abcdef0');
    expect(image.getImage(stack).imageId).toBe('ami-0123456789abcdef0');
    expect(missingImageLookups(stack)).toEqual([]);
  });

  test.each([
    ['m7g.large', 'arm64'],
    ['t3.small', 'x86_64'],
  ])(
    'without an ID, %s reads the %s Amazon Linux 2023 parameter once, from the context (cdk.context.json)',
    (type, arch) => {
      const parameter = `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`;
      const unresolved = bareStack();
      pinnedMachineImage(unresolved, type, undefined).getImage(unresolved);
      // Not yet in the context: the synthesis asks the CLI to look it up (and keep it in cdk.context.json).
      expect(missingImageLookups(unresolved)).toEqual([parameter]);

      const resolved = bareStack();
      const key = `ssm:account=${resolved.account}:parameterName=${parameter}:region=${resolved.region}`;
      resolved.node.setContext(key, 'ami-0fedcba9876543210');
      expect(pinnedMachineImage(resolved, type, undefined).getImage(resolved).imageId).toBe('ami-0fedcba9876543210');
      expect(missingImageLookups(resolved)).toEqual([]);
    },
  );
});

describe('cpuTypeOf', () => {
  test.each(['m7g.large', 'c7gn.xlarge', 't4g.small'])('%s (Graviton) is ARM_64', (instanceType) => {
    expect(cpuTypeOf(instanceType)).toBe(ec2.AmazonLinuxCpuType.ARM_64);
  });

  test.each(['t3.small', 'g5.xlarge', 'm5.large'])('%s is X86_64', (instanceType) => {
    expect(cpuTypeOf(instanceType)).toBe(ec2.AmazonLinuxCpuType.X86_64);
  });
});

describe('WebFleet', () => {
  const { stack, vpc, securityGroup, listener, topic, fleet, template } = fleetOf();

  test('needs at least two instance types, and says so', () => {
    expect(() => fleetOf({ instanceTypes: ['m7g.medium'] })).toThrow(
      'Test/Fleet: instanceTypes must list at least 2 instance types (got 1).',
    );
  });

  describe('launch template', () => {
    test('is used instead of a launch configuration', () => {
      template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
      template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    });

    test('requires IMDSv2 tokens', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { MetadataOptions: Match.objectLike({ HttpTokens: 'required' }) },
      });
    });

    test('gives instances no public IP address, and the given security group', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: {
          NetworkInterfaces: [
            Match.objectLike({
              DeviceIndex: 0,
              AssociatePublicIpAddress: false,
              Groups: [{ 'Fn::GetAtt': [logicalIdOf(securityGroup), 'GroupId'] }],
            }),
          ],
        },
      });
    });

    test('has an encrypted gp3 root volume', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: {
          BlockDeviceMappings: [
            Match.objectLike({
              DeviceName: '/dev/xvda',
              Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3' }),
            }),
          ],
        },
      });
    });

    test('launches the configured instance types, the first first, on demand (a prioritized mixed instances policy)', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { InstanceType: INSTANCE_TYPES[0] },
      });
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MixedInstancesPolicy: {
          InstancesDistribution: {
            OnDemandAllocationStrategy: 'prioritized',
            OnDemandBaseCapacity: 0,
            OnDemandPercentageAboveBaseCapacity: 100,
          },
          LaunchTemplate: {
            Overrides: INSTANCE_TYPES.map((t) => ({ InstanceType: t })),
          },
        },
      });
    });

    test('has no SSH key pair', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { KeyName: Match.absent() },
      });
    });

    test('launches with the instance profile of the fleet role', () => {
      const profiles = template.findResources('AWS::IAM::InstanceProfile', {
        Properties: { Roles: [{ Ref: logicalIdOf(fleet.role) }] },
      });
      expect(Object.keys(profiles)).toHaveLength(1);
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { IamInstanceProfile: { Arn: { 'Fn::GetAtt': [Object.keys(profiles)[0], 'Arn'] } } },
      });
    });

    test('fleet role is assumed by EC2 and has AmazonSSMManagedInstanceCore for Session Manager', () => {
      const role = template.findResources('AWS::IAM::Role')[logicalIdOf(fleet.role)];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }),
      );
      expect(role.Properties.Description).toBe('Instances of the service orders');
      expect(role.Properties.ManagedPolicyArns).toContainEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']],
      });
    });

    test('boots the given image, as a literal ID: no parameter any deploy would resolve anew', () => {
      expect(imageIdOf(template)).toBe(PINNED_AMI);
      // aws-cdk-lib's default image is a parameter of type AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>.
      expect(JSON.stringify(template.toJSON().Parameters ?? {})).not.toContain('AWS::EC2::Image::Id');
    });

    test('runs the given user data', () => {
      const userData = ec2.UserData.forLinux();
      userData.addCommands('echo given-user-data');
      fleetOf({ userData }).template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { UserData: { 'Fn::Base64': '#!/bin/bash\necho given-user-data' } },
      });
    });
  });

  describe('Auto Scaling group', () => {
    test('has the given name and names the three zones of its subnets', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        AutoScalingGroupName: 'test-web',
        AvailabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      });
      expect(stack.availabilityZones).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    });

    test('launches from the latest version of the launch template', () => {
      const ltId = logicalIdOf(fleet.launchTemplate);
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: {
              LaunchTemplateId: { Ref: ltId },
              Version: { 'Fn::GetAtt': [ltId, 'LatestVersionNumber'] },
            },
          },
        },
      });
    });

    test('spreads over the three private subnets of the VPC', () => {
      const privateSubnets = vpc.privateSubnets.map((s) => stack.resolve(s.subnetId));
      expect(privateSubnets).toHaveLength(3);
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        VPCZoneIdentifier: privateSubnets,
      });
    });

    test(`has min/max ${CAPACITY.min}/${CAPACITY.max} from the given capacity, and no desired capacity`, () => {
      // The running size is runtime state: a deploy must not reset what scaling or the Region switch plan set.
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: String(CAPACITY.min),
        MaxSize: String(CAPACITY.max),
        DesiredCapacity: Match.absent(),
      });
    });

    test('replaces instances that fail the ELB health check, after the configured grace period', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: TUNED_ROLLOUT.healthCheckGracePeriodSeconds,
      });
    });

    test('uses the configured default instance warm-up', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        DefaultInstanceWarmup: TUNED_ROLLOUT.instanceWarmupSeconds,
      });
    });

    test('registers its instances with the target group', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        TargetGroupARNs: [{ Ref: logicalIdOf(fleet.targetGroup) }],
      });
    });

    test('sends its scaling notifications to the alarm topic', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        NotificationConfigurations: [Match.objectLike({ TopicARN: { Ref: logicalIdOf(topic) } })],
      });
    });

    test('is updated by a rolling instance refresh that launches before it terminates (100 % to 200 %)', () => {
      template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
        UpdatePolicy: {
          AutoScalingInstanceRefresh: {
            Strategy: 'Rolling',
            Preferences: Match.objectLike({ MinHealthyPercentage: 100, MaxHealthyPercentage: 200 }),
          },
        },
      });
    });

    test('instance refresh waits the configured instance warm-up', () => {
      template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
        UpdatePolicy: {
          AutoScalingInstanceRefresh: Match.objectLike({
            Preferences: Match.objectLike({ InstanceWarmup: TUNED_ROLLOUT.instanceWarmupSeconds }),
          }),
        },
      });
    });

    test('instance refresh fails on the 5xx alarm and on the unhealthy-host alarm', () => {
      const { resource } = onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup');
      const alarms = resource.UpdatePolicy.AutoScalingInstanceRefresh.Preferences.AlarmSpecification.Alarms;
      expect(alarms).toHaveLength(2);
      expect(alarms).toEqual(
        expect.arrayContaining([
          { Ref: logicalIdOf(fleet.target5xxAlarm) },
          { Ref: logicalIdOf(fleet.unhealthyHostsAlarm) },
        ]),
      );
    });

    test('instance refresh keeps watching its alarms for a bake time longer than their windows', () => {
      const { resource } = onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup');
      const bake = resource.UpdatePolicy.AutoScalingInstanceRefresh.Preferences.BakeTime;
      expect(bake).toBe(300);
      expect(bake).toBe(REFRESH_BAKE_TIME.toSeconds());
      // unhealthy-host alarm: 2 periods of 60 s; 5xx alarm: 1 period of 60 s.
      expect(bake).toBeGreaterThan(2 * 60);
    });

    test('scales by target tracking on average CPU at the configured target', () => {
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: logicalIdOf(fleet.autoScalingGroup) },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
          TargetValue: TUNED_ROLLOUT.targetCpuUtilizationPercent,
        },
      });
    });

    test('scales on CPU at the prod target of 45 %', () => {
      fleetOf({ rollout: { ...TUNED_ROLLOUT, targetCpuUtilizationPercent: 45 } }).template.hasResourceProperties(
        'AWS::AutoScaling::ScalingPolicy',
        { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 45 }) },
      );
    });

    test('is the only Auto Scaling group the construct creates', () => {
      template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
      template.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 1);
    });
  });

  describe('alarms', () => {
    test('5xx alarm counts target 5xx responses per minute against rollout.rollback5xxPerMinute', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'HTTPCode_Target_5XX_Count',
        Statistic: 'Sum',
        Period: 60,
        Threshold: TUNED_ROLLOUT.rollback5xxPerMinute,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: Match.arrayWith([
          {
            Name: 'TargetGroup',
            Value: { 'Fn::GetAtt': [logicalIdOf(fleet.targetGroup), 'TargetGroupFullName'] },
          },
        ]),
      });
    });

    test('unhealthy-host alarm watches UnHealthyHostCount of the target group', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'UnHealthyHostCount',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        Dimensions: Match.arrayWith([
          { Name: 'TargetGroup', Value: { 'Fn::GetAtt': [logicalIdOf(fleet.targetGroup), 'TargetGroupFullName'] } },
        ]),
      });
    });

    test.each([
      ['5xx', () => fleet.target5xxAlarm],
      ['unhealthy-host', () => fleet.unhealthyHostsAlarm],
    ])('%s alarm notifies the alarm topic', (_kind, alarm) => {
      const found = template.findResources('AWS::CloudWatch::Alarm')[logicalIdOf(alarm())];
      expect(found.Properties.AlarmActions).toEqual([{ Ref: logicalIdOf(topic) }]);
    });
  });

  describe('target group', () => {
    test("sends HTTP to instances on the service's port", () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: PORT,
        Protocol: 'HTTP',
        TargetType: 'instance',
      });
    });

    test("checks the service's health path at its interval and thresholds, with a timeout shorter than the interval", () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckPath: TUNED_HEALTH_CHECK.path,
        HealthCheckIntervalSeconds: TUNED_HEALTH_CHECK.intervalSeconds,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: TUNED_HEALTH_CHECK.healthyThresholdCount,
        UnhealthyThresholdCount: TUNED_HEALTH_CHECK.unhealthyThresholdCount,
        Matcher: { HttpCode: '200' },
      });
    });

    test('drains targets for the configured deregistration delay', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetGroupAttributes: Match.arrayWith([
          { Key: 'deregistration_delay.timeout_seconds', Value: String(TUNED_ROLLOUT.deregistrationDelaySeconds) },
        ]),
      });
    });

    test("is the target of the service's rule on the shared HTTPS listener, whose default stays the 404", () => {
      const https = template.findResources('AWS::ElasticLoadBalancingV2::Listener')[logicalIdOf(listener)];
      expect(https.Properties).toEqual(
        expect.objectContaining({
          Port: 443,
          Protocol: 'HTTPS',
          DefaultActions: [expect.objectContaining({ Type: 'fixed-response' })],
        }),
      );
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        ListenerArn: { Ref: logicalIdOf(listener) },
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(fleet.targetGroup) } }],
      });
      expect(logicalIdOf(fleet.listenerRule)).toBe(
        Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'))[0],
      );
    });
  });
});

describe("WebFleet's listener rule", () => {
  // Three services on one shared listener, one synthesis: each routing form once.
  const region = regionOf();
  const routings: Record<string, ServiceRouting> = {
    PathsOnly: ROUTING,
    HostsOnly: { priority: 7, hostHeaders: ['orders.example.com', '*.orders.example.com'] },
    Both: { priority: 50000, pathPatterns: ['/admin/*'], hostHeaders: ['admin.example.com'] },
  };
  const fleets = Object.fromEntries(
    Object.entries(routings).map(([id, routing], i) => [
      id,
      new WebFleet(region.stack, id, propsIn(region, { routing, autoScalingGroupName: `test-${i}` })),
    ]),
  );
  const template = templateOf(region.stack);
  /** The properties of the rule of fleet `id`. */
  const ruleOf = (id: string) =>
    template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')[logicalIdOf(fleets[id]!.listenerRule)]!
      .Properties;

  test('each fleet adds one rule to the shared listener, forwarding to its own target group', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 3);
    for (const id of Object.keys(routings)) {
      expect(ruleOf(id).ListenerArn).toEqual({ Ref: logicalIdOf(region.listener) });
      expect(ruleOf(id).Actions).toEqual([
        { Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(fleets[id]!.targetGroup) } },
      ]);
    }
  });

  test('path patterns only: the priority and one path-pattern condition', () => {
    expect(ruleOf('PathsOnly').Priority).toBe(123);
    expect(ruleOf('PathsOnly').Conditions).toEqual([
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/orders/*', '/orders'] } },
    ]);
  });

  test('host headers only: the priority and one host-header condition', () => {
    expect(ruleOf('HostsOnly').Priority).toBe(7);
    expect(ruleOf('HostsOnly').Conditions).toEqual([
      { Field: 'host-header', HostHeaderConfig: { Values: ['orders.example.com', '*.orders.example.com'] } },
    ]);
  });

  test('both: the priority and both conditions (a request must match each)', () => {
    expect(ruleOf('Both').Priority).toBe(50000);
    expect(ruleOf('Both').Conditions).toEqual(
      expect.arrayContaining([
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/admin/*'] } },
        { Field: 'host-header', HostHeaderConfig: { Values: ['admin.example.com'] } },
      ]),
    );
    expect(ruleOf('Both').Conditions).toHaveLength(2);
  });
});
