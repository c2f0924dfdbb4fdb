import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ServiceDefinition } from '../../lib/config';
import { catalogService, webService } from '../../lib/config/environments';
import { CacheEndpoints, DatabaseEndpoints } from '../../lib/constructs/service-bootstrap';
import { RegionData, ServiceFleet, serviceFleetId } from '../../lib/constructs/service-fleet';
import { bareStack, TEST_ACCOUNT, templateOf, testKey, testSecurityGroup, testVpc } from '../harness';
import { logicalIdOf } from '../helpers';

const DATABASE: DatabaseEndpoints = {
  host: 'writer.cluster.test',
  readHost: 'reader.cluster.test',
  port: 5432,
  name: 'app',
  clusterResourceId: 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0',
};
const CACHE: CacheEndpoints = { host: 'primary.cache.test', port: 6379, authSecretName: 'haweb/test/cache-auth' };
const FILE_SYSTEM_ID = 'fs-0123456789abcdef0';
const SECRETS_KEY_ARN = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const BASE_AMI = 'ami-0de00000000000001';
const IMAGES = { primary: 'ami-0aaaaaaaaaaaaaaa1', secondary: 'ami-0bbbbbbbbbbbbbbb2' };
const CAPACITY = { primary: { min: 2, max: 4 }, secondary: { min: 1, max: 3 } };
const TYPES = ['m7g.medium', 'c7g.medium'];

const WILDCARD_REASON = 'Reads the nightly price imports, one object per supplier under the bucket.';
/** Uses the database only; a secret of its own; a grant with wildcards (and a reason) and one without. */
const CATALOG: ServiceDefinition = catalogService(CAPACITY, TYPES, {
  secrets: { PARTNER_API_KEY: { secretName: 'catalog/partner-api', jsonKey: 'key' } },
  grants: [
    {
      actions: ['s3:ListBucket', 's3:Get*'],
      resources: ['arn:aws:s3:::catalog-imports', 'arn:aws:s3:::catalog-imports/*'],
      reason: WILDCARD_REASON,
    },
    { actions: ['sqs:SendMessage'], resources: [`arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:catalog-events`] },
  ],
});
/** An image artifact that uses the session cache and the shared files (not the database). */
const FILES: ServiceDefinition = webService(CAPACITY, TYPES, {
  name: 'files',
  artifact: { machineImageIds: IMAGES },
  routing: { priority: 1000, pathPatterns: ['/*'] },
  readiness: undefined,
  uses: ['sessionCache', 'sharedFiles'],
});

/** A region (bare stack) with every data component, and `services` deployed in it in `role`. */
function regionWith(role: 'primary' | 'secondary', region: string, services: readonly ServiceDefinition[]) {
  const stack = bareStack({ region });
  const vpc = testVpc(stack);
  const securityGroup = testSecurityGroup(stack, vpc, 'WebInstances');
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
  const listener = loadBalancer.addListener('Https', {
    port: 443,
    protocol: elbv2.ApplicationProtocol.HTTPS,
    certificates: [elbv2.ListenerCertificate.fromArn(`arn:aws:acm:${region}:${TEST_ACCOUNT}:certificate/test`)],
    open: true,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  const data: RegionData = {
    endpoints: { database: DATABASE, cache: CACHE, fileSystemId: FILE_SYSTEM_ID },
    fileSystem: efs.FileSystem.fromFileSystemAttributes(stack, 'Files', {
      fileSystemId: FILE_SYSTEM_ID,
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(stack, 'FilesGroup', 'sg-0123456789abcdef0'),
    }),
    secretsKeyArn: SECRETS_KEY_ARN,
  };
  const alarmTopic = new sns.Topic(stack, 'AlarmTopic');
  const logsKey = testKey(stack, 'LogsKey');
  const fleets = Object.fromEntries(
    services.map((service) => [
      service.name,
      new ServiceFleet(stack, serviceFleetId(service.name), {
        service,
        role,
        names: { autoScalingGroupName: `haweb-test-${service.name}`, settingsPath: `/haweb/test/${service.name}` },
        baseMachineImageId: BASE_AMI,
        vpc,
        securityGroup,
        listener,
        alarmTopic,
        logsKey,
        data,
      }),
    ]),
  );
  return { stack, fleets, template: templateOf(stack) };
}

// Two syntheses for the whole file: the primary region with both services, the secondary with the image one.
const primary = regionWith('primary', 'us-east-1', [CATALOG, FILES]);
const secondary = regionWith('secondary', 'us-west-2', [FILES]);

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
}

/** The allow statements of the instance role of `service` in `region`. */
function statementsOf(region: typeof primary, service: string): Statement[] {
  const role = logicalIdOf(region.fleets[service]!.fleet.role);
  return Object.values(region.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow');
}

/** A resource as one string: `Fn::Join` joined, the partition written `aws`, any other token as its JSON. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(separator);
  }
  return `<${JSON.stringify(value)}>`;
}

/** Every action of `statements`. */
const actionsOf = (statements: Statement[]) => statements.flatMap((s) => ([] as string[]).concat(s.Action));
/** Every resource of `statements`, each {@link flat}, sorted. */
const resourcesOf = (statements: Statement[]) =>
  statements
    .flatMap((s) => ([] as unknown[]).concat(s.Resource ?? []))
    .map(flat)
    .sort();
/** The resources of the statements of `statements` that allow `action`. */
const resourcesAllowing = (statements: Statement[], action: string) =>
  resourcesOf(statements.filter((s) => actionsOf([s]).includes(action)));

const secretArn = (name: string, region = 'us-east-1') =>
  `arn:aws:secretsmanager:${region}:${TEST_ACCOUNT}:secret:${name}-??????`;

/** The user data of a launch template, its tokens written `<token>`. */
function userDataOf(template: Template, fleet: ServiceFleet): string {
  const data =
    template.findResources('AWS::EC2::LaunchTemplate')[logicalIdOf(fleet.fleet.launchTemplate)]!.Properties
      .LaunchTemplateData;
  const joined = data.UserData['Fn::Base64'];
  return typeof joined === 'string'
    ? joined
    : (joined['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
}

const imageIdOf = (template: Template, fleet: ServiceFleet): unknown =>
  template.findResources('AWS::EC2::LaunchTemplate')[logicalIdOf(fleet.fleet.launchTemplate)]!.Properties
    .LaunchTemplateData.ImageId;

describe('ServiceFleet: what the instance role may reach', () => {
  const catalog = statementsOf(primary, 'catalog');
  const files = statementsOf(primary, 'files');

  test('a service using only the database connects as its own role on this cluster, reads no data secret nor the file system', () => {
    expect(resourcesAllowing(catalog, 'rds-db:connect')).toEqual([
      `arn:aws:rds-db:us-east-1:${TEST_ACCOUNT}:dbuser:${DATABASE.clusterResourceId}/svc_catalog`,
    ]);
    expect(resourcesAllowing(catalog, 'kms:Decrypt')).toEqual([]);
    expect(resourcesOf(catalog).join('\n')).not.toMatch(/secret:haweb/);
    const everything = resourcesOf(catalog).join('\n');
    expect(everything).not.toContain(CACHE.authSecretName);
    expect(everything).not.toContain(FILE_SYSTEM_ID);
    expect(actionsOf(catalog).filter((a) => a.startsWith('elasticfilesystem:'))).toEqual([]);
  });

  test('a service using the cache and the files reads the cache secret and mounts the file system, not the database secret', () => {
    expect(resourcesAllowing(files, 'secretsmanager:GetSecretValue')).toEqual([secretArn(CACHE.authSecretName)]);
    expect(resourcesAllowing(files, 'elasticfilesystem:ClientMount')).toEqual([
      `arn:aws:elasticfilesystem:us-east-1:${TEST_ACCOUNT}:file-system/${FILE_SYSTEM_ID}`,
    ]);
    expect(actionsOf(files)).not.toContain('rds-db:connect');
  });

  test("its own secret: exactly that secret's name (the ARN's random suffix as -??????), no other secret", () => {
    expect(resourcesAllowing(catalog, 'secretsmanager:GetSecretValue')).toEqual([secretArn('catalog/partner-api')]);
  });

  test('its grants, as given: one statement each', () => {
    const grants = catalog.filter((s) => s.Sid?.startsWith('Grant'));
    expect(grants).toEqual([
      {
        Sid: 'Grant1',
        Effect: 'Allow',
        Action: ['s3:Get*', 's3:ListBucket'],
        Resource: ['arn:aws:s3:::catalog-imports', 'arn:aws:s3:::catalog-imports/*'],
      },
      {
        Sid: 'Grant2',
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:catalog-events`,
      },
    ]);
  });

  test("a grant's wildcards are acknowledged for cdk-nag (AwsSolutions-IAM5) on the role's policy, with its reason", () => {
    const policy = primary.fleets.catalog!.fleet.role.node.findChild('DefaultPolicy');
    const acknowledged: Record<string, string> = Object.assign(
      {},
      ...policy.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .map((m) => m.data as Record<string, string>),
    );
    const reason = `Service catalog's grant: ${WILDCARD_REASON}`;
    expect(acknowledged).toMatchObject({
      'AwsSolutions::AwsSolutions-IAM5[Action::s3:Get*]': reason,
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::catalog-imports/*]': reason,
    });
    // Only the wildcards: not the exact action and resource of the same grant, nothing of the grant without one.
    const keys = Object.keys(acknowledged).join('\n');
    expect(keys).not.toContain('s3:ListBucket');
    expect(keys).not.toMatch(/catalog-imports\]/);
    expect(keys).not.toContain('sqs');
  });

  test('a service without grants has no acknowledgement of its own on its policy', () => {
    const policy = primary.fleets.files!.fleet.role.node.findChild('DefaultPolicy');
    const reasons = policy.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.values(m.data as Record<string, string>));
    expect(reasons.filter((r) => r.startsWith('Service '))).toEqual([]);
  });
});

describe('ServiceFleet: the artifact', () => {
  test('a directory artifact: the region base image, the bundle downloaded, and the role may get exactly its object', () => {
    const catalog = primary.fleets.catalog!;
    expect(imageIdOf(primary.template, catalog)).toBe(BASE_AMI);
    expect(catalog.bundle).toBeDefined();
    expect(resourcesAllowing(statementsOf(primary, 'catalog'), 's3:GetObject')).toEqual([
      `arn:aws:s3:::cdk-hnb659fds-assets-${TEST_ACCOUNT}-us-east-1/${catalog.bundle!.asset.assetHash}.zip`,
    ]);
    expect(userDataOf(primary.template, catalog)).toContain(`\nSERVICE_VERSION=${catalog.bundle!.version}\n`);
  });

  test("an image artifact: the region's image by its role, nothing downloaded, no S3 GetObject", () => {
    for (const [region, image] of [
      [primary, IMAGES.primary],
      [secondary, IMAGES.secondary],
    ] as const) {
      const fleet = region.fleets.files!;
      expect(fleet.bundle).toBeUndefined();
      expect(imageIdOf(region.template, fleet)).toBe(image);
      const userData = userDataOf(region.template, fleet);
      expect(userData).toContain(`\nSERVICE_VERSION=${image}\n`);
      expect(userData).not.toContain('aws s3 cp');
      expect(actionsOf(statementsOf(region, 'files')).filter((a) => a.startsWith('s3:'))).toEqual([]);
    }
  });

  test('the group takes the capacity of its role', () => {
    const sizes = (region: typeof primary) => {
      const group = region.template.findResources('AWS::AutoScaling::AutoScalingGroup')[
        logicalIdOf(region.fleets.files!.fleet.autoScalingGroup)
      ]!.Properties;
      return { min: Number(group.MinSize), max: Number(group.MaxSize) };
    };
    expect(sizes(primary)).toEqual(CAPACITY.primary);
    expect(sizes(secondary)).toEqual(CAPACITY.secondary);
  });
});

describe('ServiceFleet: the boot script has only the data components the service uses', () => {
  test('the database only: DATABASE_*, no REDIS_*, no FILES_DIR', () => {
    const userData = userDataOf(primary.template, primary.fleets.catalog!);
    expect(userData).toContain(`\nDATABASE_HOST=${DATABASE.host}\n`);
    expect(userData).not.toContain('REDIS_HOST=');
    expect(userData).not.toContain('FILES_DIR=');
  });

  test('the cache and the files: REDIS_* and FILES_DIR=/mnt/shared/<service>, no DATABASE_*', () => {
    const userData = userDataOf(primary.template, primary.fleets.files!);
    expect(userData).toContain(`\nREDIS_HOST=${CACHE.host}\n`);
    expect(userData).toContain('\nFILES_DIR=/mnt/shared/files\n');
    expect(userData).not.toContain('DATABASE_HOST=');
  });
});
