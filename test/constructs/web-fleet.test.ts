import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { EnvironmentConfig, ServiceConfig } from '../../lib/config';
import { demo, prod } from '../../lib/config/environments';
import { cpuTypeOf } from '../../lib/constructs/web-fleet';
import { HaEnvironment, RegionStacks } from '../../lib/ha-environment';
import {
  Templates,
  buildEnvironment,
  logicalIdOf,
  onlyResource,
  subnetIdsOf,
  templatesOf,
  withConfig,
} from '../helpers';

/**
 * The launch template's user data as text: literal parts joined, each value
 * imported from another stack of the region written `<export name>`
 * (`<stack name>:<export>`).
 */
function userDataOf(template: Template): string {
  const data = onlyResource(template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
  const [separator, parts] = data.UserData['Fn::Base64']['Fn::Join'] as [string, unknown[]];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const imported = (part as Record<string, string>)['Fn::ImportValue'];
      return imported ? `<${imported}>` : `<${JSON.stringify(part)}>`;
    })
    .join(separator);
}

/** The SSM parameter path behind the launch template's image ID. */
function amiParameterOf(template: Template): string {
  const data = onlyResource(template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
  const parameterName: string = data.ImageId.Ref;
  return template.toJSON().Parameters[parameterName].Default;
}

/** Every service setting different from the others and from the defaults, so each shows where it lands. */
const TUNED_SERVICE: ServiceConfig = {
  ...demo.service,
  healthCheckIntervalSeconds: 7,
  unhealthyThresholdCount: 4,
  healthyThresholdCount: 3,
  deregistrationDelaySeconds: 41,
  healthCheckGracePeriodSeconds: 97,
  instanceWarmupSeconds: 143,
  targetCpuUtilizationPercent: 61,
  refreshRollback5xxPerMinute: 17,
};
const TUNED: EnvironmentConfig = withConfig({ service: TUNED_SERVICE });

const demoEnv = buildEnvironment().env;
const demoTemplates = templatesOf(demoEnv);
const tunedEnv = buildEnvironment(TUNED).env;
const tunedTemplates = templatesOf(tunedEnv);
const prodTemplates = templatesOf(buildEnvironment(prod).env);

interface Region {
  readonly name: 'primary' | 'secondary';
  readonly region: string;
  readonly stacks: (env: HaEnvironment) => RegionStacks;
  readonly app: (t: Templates) => Template;
  readonly network: (t: Templates) => Template;
}

const REGIONS: Region[] = [
  {
    name: 'primary',
    region: demo.primary.region,
    stacks: (e) => e.primary,
    app: (t) => t.appPrimary,
    network: (t) => t.networkPrimary,
  },
  {
    name: 'secondary',
    region: demo.secondary.region,
    stacks: (e) => e.secondary,
    app: (t) => t.appSecondary,
    network: (t) => t.networkSecondary,
  },
];

describe('cpuTypeOf', () => {
  test.each(['m7g.large', 'c7gn.xlarge', 't4g.small'])('%s (Graviton) is ARM_64', (instanceType) => {
    expect(cpuTypeOf(instanceType)).toBe(ec2.AmazonLinuxCpuType.ARM_64);
  });

  test.each(['t3.small', 'g5.xlarge', 'm5.large'])('%s is X86_64', (instanceType) => {
    expect(cpuTypeOf(instanceType)).toBe(ec2.AmazonLinuxCpuType.X86_64);
  });
});

describe.each(REGIONS)('web fleet ($name, $region)', ({ name, region, stacks, app, network }) => {
  const template = app(demoTemplates);
  const tuned = app(tunedTemplates);
  const fleet = stacks(demoEnv).app.fleet;
  const tunedFleet = stacks(tunedEnv).app.fleet;
  const capacity = demo[name].capacity;

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

    test('gives instances no public IP address', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: {
          NetworkInterfaces: [Match.objectLike({ DeviceIndex: 0, AssociatePublicIpAddress: false })],
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
        LaunchTemplateData: { InstanceType: demo[name].instanceTypes[0] },
      });
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MixedInstancesPolicy: {
          InstancesDistribution: {
            OnDemandAllocationStrategy: 'prioritized',
            OnDemandBaseCapacity: 0,
            OnDemandPercentageAboveBaseCapacity: 100,
          },
          LaunchTemplate: {
            Overrides: demo[name].instanceTypes.map((t) => ({ InstanceType: t })),
          },
        },
      });
    });

    test('has the fixed name and names the three zones of its subnets', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        AutoScalingGroupName: 'haweb-demo-web',
        AvailabilityZones: demo[name].availabilityZones,
      });
    });

    test('has no SSH key pair', () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { KeyName: Match.absent() },
      });
    });

    test('launches with the instance profile of the fleet role', () => {
      const roleId = logicalIdOf(fleet.role);
      const profiles = template.findResources('AWS::IAM::InstanceProfile', {
        Properties: { Roles: [{ Ref: roleId }] },
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
      expect(role.Properties.ManagedPolicyArns).toContainEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']],
      });
    });

    test(`boots the arm64 Amazon Linux 2023 image for ${demo[name].instanceTypes.join(' and ')} instances`, () => {
      expect(amiParameterOf(template)).toMatch(/^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-.*-arm64$/);
    });
  });

  describe('user data', () => {
    const userData = userDataOf(template);
    const envFile = /cat > \/etc\/ha-web\/service\.env <<ENV\n([\s\S]*?)\nENV/.exec(userData)?.[1] ?? '';
    const data = stacks(demoEnv).data.stackName;
    const storage = stacks(demoEnv).storage.stackName;

    test('writes the service environment to /etc/ha-web/service.env', () => {
      expect(userData).toMatch(/^install -d -m 0755 \/etc\/ha-web$/m);
      expect(envFile).not.toBe('');
    });

    test("sets DATABASE_HOST to the region's cluster endpoint", () => {
      expect(envFile).toMatch(new RegExp(`^DATABASE_HOST=<${data}:\\w*DatabaseCluster\\w*EndpointAddress\\w*>$`, 'm'));
      expect(envFile).not.toMatch(/^DATABASE_HOST=.*ReadEndpoint/m);
    });

    test("sets REDIS_HOST to the region's cache primary endpoint", () => {
      expect(envFile).toMatch(new RegExp(`^REDIS_HOST=<${data}:\\w*SessionCache\\w*PrimaryEndPointAddress\\w*>$`, 'm'));
    });

    test("mounts the region's file system", () => {
      expect(userData).toMatch(
        new RegExp(`echo '<${storage}:ExportsOutputRefSharedFiles\\w+>:/ /mnt/shared efs `, 'm'),
      );
    });

    test('reads the database credentials by secret name at boot', () => {
      expect(userData).toMatch(/--secret-id 'haweb\/demo\/database'/);
      expect(envFile).toMatch(/^DATABASE_PASSWORD=\$\(jq -r \.password <<<"\$DB_SECRET"\)$/m);
    });

    test('holds no secret value and no dynamic reference to one', () => {
      expect(userData).not.toMatch(/resolve:secretsmanager/i);
      expect(envFile).not.toMatch(/^(DATABASE_PASSWORD|REDIS_PASSWORD)=[A-Za-z0-9]{16,}$/m);
    });
  });

  describe('Auto Scaling group', () => {
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

    test("spreads over the three private subnets of the region's network stack", () => {
      const privateSubnets = subnetIdsOf(network(demoTemplates), 'Private');
      expect(privateSubnets).toHaveLength(3);
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        VPCZoneIdentifier: privateSubnets.map((id) => ({
          'Fn::ImportValue': Match.stringLikeRegexp(`^${stacks(demoEnv).network.stackName}:ExportsOutputRef${id}`),
        })),
      });
    });

    test(`has min/desired/max ${capacity.min}/${capacity.desired}/${capacity.max} from the ${name} capacity`, () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: String(capacity.min),
        DesiredCapacity: String(capacity.desired),
        MaxSize: String(capacity.max),
      });
    });

    test('replaces instances that fail the ELB health check, after the configured grace period', () => {
      tuned.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: TUNED_SERVICE.healthCheckGracePeriodSeconds,
      });
    });

    test('uses the configured default instance warm-up', () => {
      tuned.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        DefaultInstanceWarmup: TUNED_SERVICE.instanceWarmupSeconds,
      });
    });

    test('registers its instances with the target group', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        TargetGroupARNs: [{ Ref: logicalIdOf(fleet.targetGroup) }],
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
      tuned.hasResource('AWS::AutoScaling::AutoScalingGroup', {
        UpdatePolicy: {
          AutoScalingInstanceRefresh: Match.objectLike({
            Preferences: Match.objectLike({ InstanceWarmup: TUNED_SERVICE.instanceWarmupSeconds }),
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
      // unhealthy-host alarm: 2 periods of 60 s; 5xx alarm: 1 period of 60 s.
      expect(bake).toBeGreaterThan(2 * 60);
    });

    test('scales by target tracking on average CPU at the configured target', () => {
      tuned.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: logicalIdOf(tunedFleet.autoScalingGroup) },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
          TargetValue: TUNED_SERVICE.targetCpuUtilizationPercent,
        },
      });
    });

    test('is the only Auto Scaling group of the stack', () => {
      template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    });
  });

  describe('alarms', () => {
    test('5xx alarm counts target 5xx responses per minute against service.refreshRollback5xxPerMinute', () => {
      tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'HTTPCode_Target_5XX_Count',
        Statistic: 'Sum',
        Period: 60,
        Threshold: TUNED_SERVICE.refreshRollback5xxPerMinute,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: Match.arrayWith([
          {
            Name: 'TargetGroup',
            Value: { 'Fn::GetAtt': [logicalIdOf(tunedFleet.targetGroup), 'TargetGroupFullName'] },
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
      const topicId = logicalIdOf(stacks(demoEnv).app.alerts.topic);
      const found = template.findResources('AWS::CloudWatch::Alarm')[logicalIdOf(alarm())];
      expect(found.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    });
  });

  describe('target group', () => {
    test('sends HTTP to instances on port 8080', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: 8080,
        Protocol: 'HTTP',
        TargetType: 'instance',
      });
    });

    test('checks /health at the configured interval and thresholds', () => {
      tuned.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckPath: '/health',
        HealthCheckIntervalSeconds: TUNED_SERVICE.healthCheckIntervalSeconds,
        HealthyThresholdCount: TUNED_SERVICE.healthyThresholdCount,
        UnhealthyThresholdCount: TUNED_SERVICE.unhealthyThresholdCount,
      });
    });

    test('drains targets for the configured deregistration delay', () => {
      tuned.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetGroupAttributes: Match.arrayWith([
          { Key: 'deregistration_delay.timeout_seconds', Value: String(TUNED_SERVICE.deregistrationDelaySeconds) },
        ]),
      });
    });

    test('is the target of the HTTPS listener', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'HTTPS',
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalIdOf(fleet.targetGroup) } }],
      });
    });
  });

  describe('instance role permissions', () => {
    const roleId = logicalIdOf(fleet.role);

    test.each(['haweb/demo/database', 'haweb/demo/cache-auth'])('can read the secret named %s', (secretName) => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: Match.arrayWith([{ Ref: roleId }]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
              Resource: Match.arrayWith([
                Match.stringLikeRegexp(`^arn:aws:secretsmanager:${region}:${demo.account}:secret:${secretName}-`),
              ]),
            }),
          ]),
        },
      });
    });

    test("can mount and write the region's EFS file system", () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: Match.arrayWith([{ Ref: roleId }]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: Match.arrayWith(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']),
              Resource: {
                'Fn::ImportValue': Match.stringLikeRegexp(`^${stacks(demoEnv).storage.stackName}:`),
              },
            }),
          ]),
        },
      });
    });
  });
});

describe('web fleet in prod (Graviton)', () => {
  test('boots the arm64 Amazon Linux 2023 image for m7g.large instances', () => {
    prodTemplates.appPrimary.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { InstanceType: 'm7g.large' },
    });
    expect(amiParameterOf(prodTemplates.appPrimary)).toMatch(
      /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-.*-arm64$/,
    );
  });

  test('scales on CPU at the prod target of 45 %', () => {
    prodTemplates.appPrimary.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ TargetValue: prod.service.targetCpuUtilizationPercent }),
    });
  });
});
