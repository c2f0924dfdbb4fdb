/**
 * The App stack as a whole and its wiring to the other stacks of its region, read from the environments the
 * CLI synthesized (test/synthesized.ts). What each construct does on its own is tested on a bare stack in
 * test/constructs/ (web-fleet, service-bootstrap, service-bundle, alerts, public-load-balancer, failover-dns).
 */
import * as fs from 'fs';
import * as path from 'path';
import { settingsVersion } from '../../lib/constructs/service-settings';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import { EnvironmentConfig } from '../../lib/config';
import { demo as demoConfig } from '../../lib/config/environments';
import { failoverTiming } from '../../lib/failover-timing';
import { physicalNames } from '../../lib/names';
import { AppStack } from '../../lib/stacks/app-stack';
import { bareStack, templateOf, testSecurityGroup, testVpc, recordNamed } from '../harness';
import { newApp, onlyResource, subnetIdsOf } from '../helpers';
import {
  exportedValue,
  Json,
  logicalIdAt,
  synthesized,
  SynthesizedEnvironment,
  SynthesizedStack,
} from '../synthesized';

/** The value behind an `Fn::ImportValue` of an export of `producer` (same region). */
function importedFrom(producer: SynthesizedStack, ref: unknown): unknown {
  expect(ref).toEqual({ 'Fn::ImportValue': expect.stringMatching(new RegExp(`^${producer.stackName}:`)) });
  return exportedValue(producer, (ref as { 'Fn::ImportValue': string })['Fn::ImportValue']);
}

/** The launch template's user data: its parts (literal text or a CloudFormation value) and its text. */
function userDataOf(app: SynthesizedStack): { parts: unknown[]; text: string } {
  const data = onlyResource(app.template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
  const [separator, parts] = data.UserData['Fn::Base64']['Fn::Join'] as [string, unknown[]];
  expect(separator).toBe('');
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const imported = (part as Record<string, string>)['Fn::ImportValue'];
      return imported ? `<${imported}>` : `<${JSON.stringify(part)}>`;
    })
    .join('');
  return { parts, text };
}

/** The first value in the user data after the literal text ending in `marker`. */
function tokenAfter(parts: unknown[], marker: string): unknown {
  const i = parts.findIndex((part) => typeof part === 'string' && part.endsWith(marker));
  if (i < 0) throw new Error(`no ${marker} in user data`);
  return parts[i + 1];
}

/** The launch template's image ID. */
function imageIdOf(app: SynthesizedStack): unknown {
  return onlyResource(app.template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData.ImageId;
}

/** Statements of the instance role's policies. */
function roleStatements(app: SynthesizedStack): { Action: string | string[]; Resource: unknown }[] {
  const roleId = logicalIdAt(app, 'ServiceWeb/Fleet/InstanceRole/Resource');
  return Object.values(
    app.template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } }),
  ).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Statements of every IAM policy of the stack. */
function allStatements(app: SynthesizedStack): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(app.template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement,
  );
}

const actionsOf = (s: { Action: string | string[] }) => ([] as string[]).concat(s.Action);

const demo: SynthesizedEnvironment = synthesized('demo');

describe.each(['primary', 'secondary'] as const)('App stack of demo (%s region)', (role) => {
  const config = demo.config;
  const regionConfig = config[role];
  const region = regionConfig.region;
  const web = config.services[0]!;
  const app = demo.stack('App', role);
  const network = demo.stack('Network', role);
  const storage = demo.stack('Storage', role);
  const data = demo.stack('Data', role);
  const template = app.template;
  const fleetId = logicalIdAt(app, 'ServiceWeb/Fleet/Resource/ASG');
  const targetGroupId = logicalIdAt(app, 'ServiceWeb/Fleet/TargetGroup/Resource');
  const topicId = logicalIdAt(app, 'Alerts/Topic/Resource');

  test(`is bound to ${config.account} and ${region}`, () => {
    expect([app.account, app.region]).toEqual([config.account, region]);
  });

  test('reads nothing of the other region at deploy: no Fn::GetStackOutput, no stack of the other region', () => {
    const otherRegion = config[role === 'primary' ? 'secondary' : 'primary'].region;
    const json = JSON.stringify(app.json);
    expect(json).not.toContain('Fn::GetStackOutput');
    expect(json).not.toMatch(new RegExp(`HaWeb-${config.name}-[A-Za-z]+-${otherRegion}`));
    expect(app.dependencies.filter((d) => d.endsWith(otherRegion))).toEqual([]);
  });

  describe('web fleet', () => {
    test('is the only Auto Scaling group of the stack, launched from a launch template (no launch configuration)', () => {
      template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
      template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
      template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    });

    test(`launches the service's instance types (${web.instanceTypes.join(', ')}), the first first`, () => {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: { InstanceType: web.instanceTypes[0] },
      });
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MixedInstancesPolicy: Match.objectLike({
          LaunchTemplate: Match.objectLike({
            Overrides: web.instanceTypes.map((t) => ({ InstanceType: t })),
          }),
        }),
      });
    });

    test(`boots the region's pinned image (${regionConfig.machineImageId}), a literal: no deploy resolves a newer one`, () => {
      expect(imageIdOf(app)).toBe(regionConfig.machineImageId);
      // aws-cdk-lib's default image is an SSM parameter that every deploy resolves anew (the fleet then floated to
      // the newest Amazon Linux on any deploy).
      expect(JSON.stringify(app.json.Parameters ?? {})).not.toContain('AWS::EC2::Image::Id');
    });

    test("has the fixed name haweb-demo-web and names the region's three zones", () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        AutoScalingGroupName: 'haweb-demo-web',
        AvailabilityZones: regionConfig.availabilityZones,
      });
    });

    const { min, max } = web.capacity[role];
    test(`has min/max ${min}/${max} from the ${role} capacity and no desired capacity (runtime state)`, () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: String(min),
        MaxSize: String(max),
        DesiredCapacity: Match.absent(),
      });
    });

    test("spreads over the three private subnets of the region's network stack", () => {
      const privateSubnets = subnetIdsOf(network.template, 'Private');
      expect(privateSubnets).toHaveLength(3);
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        VPCZoneIdentifier: privateSubnets.map((id) => ({
          'Fn::ImportValue': Match.stringLikeRegexp(`^${network.stackName}:ExportsOutputRef${id}`),
        })),
      });
      const zones: unknown[] = template.toJSON().Resources[fleetId].Properties.VPCZoneIdentifier;
      expect(zones.map((ref) => importedFrom(network, ref))).toEqual(privateSubnets.map((id) => ({ Ref: id })));
    });

    test('its target group listens on the service port (8080) behind the HTTPS listener of the load balancer', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: web.port,
        Protocol: 'HTTP',
      });
      expect(web.port).toBe(8080);
      const listener = template.toJSON().Resources[logicalIdAt(app, 'LoadBalancer/Resource/Https/Resource')];
      expect(listener.Properties).toEqual(
        expect.objectContaining({
          Port: 443,
          Protocol: 'HTTPS',
          LoadBalancerArn: { Ref: logicalIdAt(app, 'LoadBalancer/Resource/Resource') },
          DefaultActions: [
            expect.objectContaining({
              Type: 'fixed-response',
              FixedResponseConfig: expect.objectContaining({ StatusCode: '404' }),
            }),
          ],
        }),
      );
      // The service's rule on the shared listener: every path (the reference service is the catch-all).
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        ListenerArn: { Ref: logicalIdAt(app, 'LoadBalancer/Resource/Https/Resource') },
        Priority: 1000,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: targetGroupId } }],
      });
    });

    test.each(['Target5xxAlarm', 'UnhealthyHostsAlarm'])(
      'the fleet %s notifies the alert topic of the region',
      (id) => {
        const alarm = template.toJSON().Resources[logicalIdAt(app, `ServiceWeb/Fleet/${id}/Resource`)];
        expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      },
    );

    test('the fleet sends its scaling notifications to the alert topic of the region', () => {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        NotificationConfigurations: [Match.objectLike({ TopicARN: { Ref: topicId } })],
      });
    });
  });

  describe('user data', () => {
    const { parts, text: userData } = userDataOf(app);
    const envFile = /cat > \/etc\/ha-web\/service\.env <<ENV\n([\s\S]*?)\nENV/.exec(userData)?.[1] ?? '';

    test('writes the service environment to /etc/ha-web/service.env', () => {
      expect(userData).toMatch(/^install -d -m 0755 \/etc\/ha-web$/m);
      expect(envFile).not.toBe('');
    });

    test("sets DATABASE_HOST to the region's cluster endpoint", () => {
      expect(envFile).toMatch(
        new RegExp(`^DATABASE_HOST=<${data.stackName}:\\w*DatabaseCluster\\w*EndpointAddress\\w*>$`, 'm'),
      );
      expect(envFile).not.toMatch(/^DATABASE_HOST=.*ReadEndpoint/m);
      const cluster = onlyResource(data.template, 'AWS::RDS::DBCluster').id;
      expect(importedFrom(data, tokenAfter(parts, 'DATABASE_HOST='))).toEqual({
        'Fn::GetAtt': [cluster, 'Endpoint.Address'],
      });
    });

    test("sets REDIS_HOST to the region's cache primary endpoint", () => {
      expect(envFile).toMatch(
        new RegExp(`^REDIS_HOST=<${data.stackName}:\\w*SessionCache\\w*PrimaryEndPointAddress\\w*>$`, 'm'),
      );
      const cache = onlyResource(data.template, 'AWS::ElastiCache::ReplicationGroup').id;
      expect(importedFrom(data, tokenAfter(parts, 'REDIS_HOST='))).toEqual({
        'Fn::GetAtt': [cache, 'PrimaryEndPoint.Address'],
      });
    });

    test("mounts the region's file system", () => {
      expect(userData).toMatch(
        new RegExp(`echo '<${storage.stackName}:ExportsOutputRefSharedFiles\\w+>:/ /mnt/shared efs `, 'm'),
      );
      const fileSystem = onlyResource(storage.template, 'AWS::EFS::FileSystem').id;
      expect(importedFrom(storage, tokenAfter(parts, "|| echo '"))).toEqual({ Ref: fileSystem });
    });

    test('reads the cache token by secret name at boot; signs in to the database with IAM, as svc_web', () => {
      expect(userData).not.toMatch(/--secret-id 'haweb\/demo\/database'/);
      expect(userData).toMatch(/--secret-id 'haweb\/demo\/cache-auth'/);
      expect(envFile).toMatch(/^DATABASE_USER=svc_web\nDATABASE_AUTH=iam\nDATABASE_REGION=\$REGION$/m);
      expect(envFile).not.toMatch(/DATABASE_PASSWORD/);
    });

    test('holds no secret value and no dynamic reference to one', () => {
      expect(userData).not.toMatch(/resolve:secretsmanager/i);
      expect(envFile).not.toMatch(/^(DATABASE_PASSWORD|REDIS_PASSWORD)=[A-Za-z0-9]{16,}$/m);
    });

    const drain = web.healthCheck.intervalSeconds * web.healthCheck.unhealthyThresholdCount;
    test(`drains for as long as the ALB needs to see the failing health check (${drain} s), and stops within drain + 60 s`, () => {
      expect(failoverTiming(config).targetDetectionSeconds).toBe(drain);
      expect(envFile).toMatch(new RegExp(`^SHUTDOWN_DRAIN_SECONDS=${drain}$`, 'm'));
      expect(userData).toContain(`\nTimeoutStopSec=${drain + 60}\n`);
      expect(userData).toContain('\nTimeoutStopSec=80\n');
    });

    test('ships its logs to the bootstrap log group, kept a year and encrypted with the stack logs key', () => {
      const logGroupId = logicalIdAt(app, 'ServiceWeb/Bootstrap/Logs/Resource');
      expect(tokenAfter(parts, '"file_path":"/var/log/ha-web/service.log","log_group_name":"')).toEqual({
        Ref: logGroupId,
      });
      const logGroup = template.toJSON().Resources[logGroupId];
      expect(logGroup.Properties).toEqual(
        expect.objectContaining({
          RetentionInDays: 365,
          KmsKeyId: { 'Fn::GetAtt': [logicalIdAt(app, 'LogsKey/Resource'), 'Arn'] },
        }),
      );
      expect(logicalIdAt(app, 'LogsKey/Resource')).toMatch(/^LogsKey/);
    });

    test("downloads the service bundle of the stack's assets from the region's asset bucket, and reports its hash", () => {
      const download = new RegExp(
        `aws s3 cp --region "\\$REGION" 's3://cdk-hnb659fds-assets-${config.account}-${region}/([0-9a-f]{64})\\.zip'`,
      ).exec(userData);
      expect(download).not.toBeNull();
      const hash = download![1];
      expect(envFile).toMatch(new RegExp(`^SERVICE_VERSION=${hash}$`, 'm'));
      // The asset is in the cloud assembly, published to that key, and holds the bundled service.
      const assets = JSON.parse(fs.readFileSync(path.join(demo.outdir, `${app.stackName}.assets.json`), 'utf8'));
      const asset = assets.files[hash];
      expect(asset.source.packaging).toBe('zip');
      expect(Object.values(asset.destinations as Record<string, Json>)[0]).toEqual(
        expect.objectContaining({
          bucketName: `cdk-hnb659fds-assets-${config.account}-${region}`,
          objectKey: `${hash}.zip`,
        }),
      );
      expect(fs.readdirSync(path.join(demo.outdir, asset.source.path)).sort()).toEqual(['server.js', 'server.js.map']);
    });
  });

  describe('instance role permissions', () => {
    const statements = roleStatements(app);
    const everyStatement = allStatements(app);
    const allowing = (action: string) => everyStatement.filter((s) => actionsOf(s).includes(action));

    test('reads the cache AUTH token secret by its name only, and no database secret', () => {
      const reads = allowing('secretsmanager:GetSecretValue');
      expect(reads.map((s) => s.Resource)).toEqual([
        `arn:aws:secretsmanager:${region}:${config.account}:secret:haweb/demo/cache-auth-??????`,
      ]);
    });

    test("connects to this region's cluster as svc_web only, with IAM database authentication", () => {
      const connects = allowing('rds-db:connect');
      expect(connects).toHaveLength(1);
      expect(connects[0]!.Resource).toEqual({
        'Fn::Join': [
          '',
          [
            `arn:aws:rds-db:${region}:${config.account}:dbuser:`,
            expect.objectContaining({ 'Fn::ImportValue': expect.stringContaining(`HaWeb-demo-Data-${region}:`) }),
            '/svc_web',
          ],
        ],
      });
    });

    test("can mount and write the region's EFS file system", () => {
      const mounts = statements.filter(
        (s) =>
          actionsOf(s).includes('elasticfilesystem:ClientMount') &&
          actionsOf(s).includes('elasticfilesystem:ClientWrite'),
      );
      expect(mounts).toHaveLength(1);
      const fileSystem = onlyResource(storage.template, 'AWS::EFS::FileSystem').id;
      expect(importedFrom(storage, mounts[0].Resource)).toEqual({ 'Fn::GetAtt': [fileSystem, 'Arn'] });
    });

    test('can read exactly its service bundle from the asset bucket, and nothing else of the stack can', () => {
      const reads = allowing('s3:GetObject');
      expect(reads).toHaveLength(1);
      expect(statements).toContainEqual(reads[0]);
      expect(JSON.stringify(reads[0].Resource)).toMatch(
        new RegExp(`cdk-hnb659fds-assets-${config.account}-${region}/[0-9a-f]{64}\\.zip`),
      );
    });

    test('can write its log streams, only to the service log group', () => {
      const writes = allowing('logs:PutLogEvents');
      expect(writes).toHaveLength(1);
      expect(writes[0].Resource).toEqual({
        'Fn::GetAtt': [logicalIdAt(app, 'ServiceWeb/Bootstrap/Logs/Resource'), 'Arn'],
      });
      expect(JSON.stringify(writes[0].Resource)).toContain('BootstrapLogs');
    });
  });
});

describe('App stack of prod (Graviton)', () => {
  const prod = synthesized('prod');
  const app = prod.stack('App', 'primary');

  test('boots its pinned image on m7g.large instances', () => {
    expect(prod.config.services[0]!.instanceTypes[0]).toBe('m7g.large');
    app.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'm7g.large', ImageId: prod.config.primary.machineImageId }),
    });
  });

  test('scales on CPU at the prod target of 45 %', () => {
    expect(prod.config.services[0]!.rollout.targetCpuUtilizationPercent).toBe(45);
    app.template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      AutoScalingGroupName: { Ref: logicalIdAt(app, 'ServiceWeb/Fleet/Resource/ASG') },
      TargetTrackingConfiguration: Match.objectLike({ TargetValue: 45 }),
    });
  });
});

describe("prod's central configuration (services[].environment, Parameter Store)", () => {
  const prod = synthesized('prod');
  const settings = prod.config.services[0]!.environment!;

  test.each(['primary', 'secondary'] as const)(
    'the %s App stack writes every setting under /haweb/prod/web/<version>',
    (role) => {
      const app = prod.stack('App', role);
      const version = settingsVersion(settings).slice(0, 16);
      const parameters = Object.values(app.template.findResources('AWS::SSM::Parameter'))
        .map((r) => r.Properties)
        .filter((p) => p.Name.startsWith('/haweb/prod/web/'));
      expect(Object.fromEntries(parameters.map((p) => [p.Name, p.Value]))).toEqual(
        Object.fromEntries(
          Object.entries(settings).map(([name, value]) => [`/haweb/prod/web/${version}/${name}`, value]),
        ),
      );
      // The region's instances read the service's versions, and no other parameter: the Deny overrides
      // AmazonSSMManagedInstanceCore's ssm:GetParameter(s) on every parameter.
      const versions = `arn:aws:ssm:${prod.config[role].region}:${prod.config.account}:parameter/haweb/prod/web/*`;
      const ssmStatements = roleStatements(app).filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:Get')));
      expect(ssmStatements).toEqual([
        expect.objectContaining({ Effect: 'Allow', Action: 'ssm:GetParametersByPath', Resource: versions }),
        expect.objectContaining({ Effect: 'Deny', Sid: 'NoOtherParameters', NotResource: versions }),
      ]);
      // The fleet waits for the parameters: a refresh's instances find the new set.
      const fleet = app.template.toJSON().Resources[logicalIdAt(app, 'ServiceWeb/Fleet/Resource/ASG')];
      for (const id of Object.keys(app.template.findResources('AWS::SSM::Parameter')).filter((i) =>
        i.startsWith('ServiceWeb'),
      )) {
        expect(fleet.DependsOn).toContain(id);
      }
    },
  );

  test("staging's too", () => {
    const staging = synthesized('staging');
    const parameters = Object.values(staging.stack('App', 'secondary').template.findResources('AWS::SSM::Parameter'));
    expect(parameters.map((r) => [r.Properties.Name.split('/')[3], r.Properties.Value])).toEqual([
      ['web', staging.config.services[0]!.environment!.LOG_LEVEL],
      ['catalog', staging.config.services[1]!.environment!.LOG_LEVEL],
    ]);
  });

  test("demo has no settings: no parameter, no read, and still no other parameter (another service's)", () => {
    const app = synthesized('demo').stack('App', 'primary');
    expect(Object.keys(app.template.findResources('AWS::SSM::Parameter'))).toEqual([]);
    const reads = allStatements(app).filter((s) => actionsOf(s).includes('ssm:GetParametersByPath'));
    expect(reads.map((s) => (s as { Effect?: string }).Effect)).toEqual(['Deny']);
  });
});

describe('capacity is runtime state in every environment (issue 11)', () => {
  test.each(['demo', 'staging', 'prod'] as const)(
    "%s: no Auto Scaling group of any stack sets DesiredCapacity, so a deploy never undoes the plan's scale-up",
    (name) => {
      const env = synthesized(name);
      const groups = env.stacks.flatMap((st) =>
        Object.values(st.template.findResources('AWS::AutoScaling::AutoScalingGroup')).map((g) => ({
          stack: st.stackName,
          desired: (g as { Properties: Record<string, unknown> }).Properties.DesiredCapacity,
        })),
      );
      expect(groups.length).toBe(2 * env.config.services.length);
      expect(groups.filter((g) => g.desired !== undefined)).toEqual([]);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// The public load balancer and the failover DNS inputs of each region's App stack, and the config values they take.

const ROLES = ['primary', 'secondary'] as const;
type Role = (typeof ROLES)[number];

/** The value of one attribute of the one load balancer of a template. */
function loadBalancerAttribute(template: Template, key: string): unknown {
  const { resource } = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  return (resource.Properties.LoadBalancerAttributes as { Key: string; Value: unknown }[]).find((a) => a.Key === key)
    ?.Value;
}

describe.each(ROLES)('demo App stack, %s region: public load balancer', (role) => {
  const env = synthesized('demo');
  const { config } = env;
  const app = env.stack('App', role);
  const network = env.stack('Network', role);
  const { template } = app;
  const regionalName = `${config[role].region}.${config.dns.domainName}`;

  test(`is in the ${role} region, ${config[role].region}`, () => {
    expect(app.region).toBe(config[role].region);
  });

  test('is the only load balancer of the stack and is an internet-facing ALB', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'application',
      Scheme: 'internet-facing',
    });
  });

  test("sits in the three public subnets of the region's network stack", () => {
    const publicSubnets = subnetIdsOf(network.template, 'Public');
    expect(publicSubnets).toHaveLength(3);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Subnets: publicSubnets.map((id) => ({
        'Fn::ImportValue': Match.stringLikeRegexp(`^${network.stackName}:ExportsOutputRef${id}`),
      })),
    });
  });

  test('has exactly two listeners, HTTPS 443 with the certificate of the stack and HTTP 80', () => {
    const lbId = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').id;
    const certificateId = onlyResource(template, 'AWS::CertificateManager::Certificate').id;
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    const ports = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener'))
      .map((l) => `${l.Properties.Protocol} ${l.Properties.Port}`)
      .sort();
    expect(ports).toEqual(['HTTP 80', 'HTTPS 443']);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: { Ref: lbId },
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: certificateId } }],
    });
  });

  test('writes access logs to the only bucket of the stack, which is SSE-S3 (AES256)', () => {
    const { id, resource } = onlyResource(template, 'AWS::S3::Bucket');
    expect(resource.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(loadBalancerAttribute(template, 'access_logs.s3.enabled')).toBe('true');
    expect(loadBalancerAttribute(template, 'access_logs.s3.bucket')).toEqual({ Ref: id });
  });

  test('access logs expire after loadBalancer.accessLogRetentionDays and are retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Status: 'Enabled', ExpirationInDays: config.loadBalancer.accessLogRetentionDays }),
          ]),
        },
      }),
    });
  });

  test('is not deletion-protected in demo (production: false)', () => {
    expect(config.production).toBe(false);
    expect(loadBalancerAttribute(template, 'deletion_protection.enabled')).toBe('false');
  });

  test(`certificate is DNS-validated for the service name and ${regionalName} in the configured zone`, () => {
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      ValidationMethod: 'DNS',
      DomainName: config.dns.domainName,
      SubjectAlternativeNames: [regionalName],
      DomainValidationOptions: Match.arrayWith([
        { DomainName: config.dns.domainName, HostedZoneId: config.dns.hostedZoneId },
        { DomainName: regionalName, HostedZoneId: config.dns.hostedZoneId },
      ]),
    });
  });
});

describe.each(ROLES)('demo App stack, %s region: failover DNS inputs', (role) => {
  const env = synthesized('demo');
  const { config } = env;
  const { template } = env.stack('App', role);
  const regionalName = `${config[role].region}.${config.dns.domainName}`;

  test('has one health check', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 1);
  });

  test(`health check requests https://${regionalName}:443 with SNI every 10 seconds`, () => {
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({
        Type: 'HTTPS',
        Port: 443,
        EnableSNI: true,
        FullyQualifiedDomainName: regionalName,
        RequestInterval: 10,
      }),
    });
  });

  test('health check requests dns.healthCheckPath, the deep readiness path', () => {
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({ ResourcePath: config.dns.healthCheckPath }),
    });
  });

  test('health check fails after dns.healthCheckFailureThreshold consecutive failures', () => {
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({ FailureThreshold: config.dns.healthCheckFailureThreshold }),
    });
  });

  test(`regional record is an A record for ${regionalName} in the configured hosted zone, without failover`, () => {
    const record = recordNamed(template, regionalName);
    expect(record.Properties).toMatchObject({ Type: 'A', HostedZoneId: config.dns.hostedZoneId });
    expect(record.Properties.Failover).toBeUndefined();
    expect(record.Properties.HealthCheckId).toBeUndefined();
  });

  test("regional record is an alias of this region's load balancer", () => {
    const lbId = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').id;
    const alias = recordNamed(template, regionalName).Properties.AliasTarget;
    expect(alias.HostedZoneId).toEqual({ 'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'] });
    expect(JSON.stringify(alias.DNSName)).toContain(JSON.stringify({ 'Fn::GetAtt': [lbId, 'DNSName'] }));
  });

  test('holds no failover record (they are in the primary operations stack)', () => {
    const failover = template.findResources('AWS::Route53::RecordSet', {
      Properties: { Failover: Match.anyValue() },
    });
    expect(Object.keys(failover)).toEqual([]);
  });
});

describe('prod App stacks', () => {
  test.each(ROLES)('the load balancer is deletion-protected (production: true), %s region', (role) => {
    const env = synthesized('prod');
    expect(env.config.production).toBe(true);
    expect(loadBalancerAttribute(env.stack('App', role).template, 'deletion_protection.enabled')).toBe('true');
  });
});

/**
 * The App stacks of both roles for a config no shipped environment has, each on its own (no whole environment):
 * the inputs from the other stacks are made on bare stacks in the same app.
 */
function appStacksFor(config: EnvironmentConfig): Record<Role, Template> {
  const app = newApp();
  const names = physicalNames(config);
  const inputs = (role: Role) => {
    const base = bareStack({ app, id: `${role}Inputs`, region: config[role].region });
    const vpc: ec2.IVpc = testVpc(base);
    const web = testSecurityGroup(base, vpc, 'Web');
    return {
      vpc,
      securityGroupFor: () => web,
      loadBalancerSecurityGroup: testSecurityGroup(base, vpc, 'LoadBalancer'),
      fileSystem: new efs.FileSystem(base, 'FileSystem', { vpc }),
    };
  };
  const primary = inputs('primary');
  const secondary = inputs('secondary');
  const data = {
    database: {
      endpoint: 'database.example.com',
      readEndpoint: 'database-ro.example.com',
      clusterResourceId: 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0',
      name: 'app',
    },
    cache: { endpoint: 'cache.example.com', authSecretName: names.cacheAuthSecretName },
  };
  const stack = (role: Role, props: ReturnType<typeof inputs>) =>
    new AppStack(app, `${role}App`, {
      env: { account: config.account, region: config[role].region },
      availabilityZones: config[role].availabilityZones,
      role,
      config,
      names,
      ...props,
      data,
    });
  const stacks = {
    primary: stack('primary', primary),
    secondary: stack('secondary', secondary),
  };
  return { primary: templateOf(stacks.primary), secondary: templateOf(stacks.secondary) };
}

describe('App stack configuration', () => {
  const variant = appStacksFor({
    ...demoConfig,
    dns: { ...demoConfig.dns, healthCheckFailureThreshold: 5 },
    loadBalancer: { accessLogRetentionDays: 33 },
  });

  test.each(ROLES)('a dns.healthCheckFailureThreshold of 5 reaches the %s health check', (role) => {
    const { resource } = onlyResource(variant[role], 'AWS::Route53::HealthCheck');
    expect(resource.Properties.HealthCheckConfig.FailureThreshold).toBe(5);
  });

  test.each(ROLES)('a loadBalancer.accessLogRetentionDays of 33 reaches the %s access log expiration', (role) => {
    variant[role].hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 33 })]) },
    });
  });
});
