import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  DATABASE_PORT,
  GlobalDatabasePrimary,
  GlobalDatabasePrimaryProps,
  GlobalDatabaseSecondary,
  GlobalDatabaseSecondaryProps,
} from '../../lib/constructs/global-database';
import { RegionalStack } from '../../lib/regional-stack';
import { bareStack, expectOnlyIngressFrom, templateOf, testKey, testSecurityGroup, testVpc } from '../harness';
import { onlyResource } from '../helpers';

type Properties = Record<string, any>;

const ENGINE_VERSION = '16.6';
const INSTANCE_CLASS = 'db.r6g.large';
const BACKUP_RETENTION_DAYS = 7;
const GLOBAL_CLUSTER_IDENTIFIER = 'haweb-test-global';
const SECRET_NAME = 'haweb/test/database';
const SECONDARY_REGION = 'us-west-2';

/** A bare regional stack with the inputs every role of the database needs. */
function inputs(region: string): { stack: RegionalStack; vpc: ec2.Vpc; clients: ec2.SecurityGroup; key: kms.Key } {
  const stack = bareStack({ region });
  const vpc = testVpc(stack);
  return { stack, vpc, clients: testSecurityGroup(stack, vpc), key: testKey(stack) };
}

function baseProps(vpc: ec2.IVpc, clients: ec2.ISecurityGroup, key: kms.IKey) {
  return {
    vpc,
    clients: [clients],
    key,
    engineVersion: ENGINE_VERSION,
    instanceClass: INSTANCE_CLASS,
    backupRetentionDays: BACKUP_RETENTION_DAYS,
    globalClusterIdentifier: GLOBAL_CLUSTER_IDENTIFIER,
    clusterIdentifier: 'haweb-test-aurora',
    monitoringInterval: Duration.seconds(60),
  };
}

/** A {@link GlobalDatabasePrimary} on a bare stack in us-east-1. */
function primaryDatabase(overrides: Partial<GlobalDatabasePrimaryProps> = {}) {
  const { stack, vpc, clients, key } = inputs('us-east-1');
  const database = new GlobalDatabasePrimary(stack, 'Database', {
    ...baseProps(vpc, clients, key),
    readers: 1,
    secretName: SECRET_NAME,
    secretReplicaRegion: SECONDARY_REGION,
    ...overrides,
  });
  return { stack, vpc, clients, key, database, template: templateOf(stack) };
}

/** A {@link GlobalDatabaseSecondary} on a bare stack in us-west-2. */
function secondaryDatabase(overrides: Partial<GlobalDatabaseSecondaryProps> = {}) {
  const { stack, vpc, clients, key } = inputs(SECONDARY_REGION);
  const database = new GlobalDatabaseSecondary(stack, 'Database', {
    ...baseProps(vpc, clients, key),
    instances: 1,
    ...overrides,
  });
  return { stack, vpc, clients, key, database, template: templateOf(stack) };
}

/** Properties of every resource of a type. */
function propertiesOf(template: Template, type: string): Properties[] {
  return Object.values(template.findResources(type)).map((r) => r.Properties as Properties);
}

const clusterOf = (template: Template) => onlyResource(template, 'AWS::RDS::DBCluster');

const primary = primaryDatabase();
const secondary = secondaryDatabase();

describe('GlobalDatabasePrimary: global cluster', () => {
  const { template } = primary;

  test('there is exactly one, with the given identifier', () => {
    template.resourceCountIs('AWS::RDS::GlobalCluster', 1);
    template.hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: GLOBAL_CLUSTER_IDENTIFIER });
  });

  test('is created from the regional cluster', () => {
    template.hasResourceProperties('AWS::RDS::GlobalCluster', {
      SourceDBClusterIdentifier: { Ref: clusterOf(template).id },
    });
  });

  test('has deletion protection', () => {
    template.hasResourceProperties('AWS::RDS::GlobalCluster', { DeletionProtection: true });
  });

  test('is retained when its stack removes it', () => {
    template.hasResource('AWS::RDS::GlobalCluster', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('GlobalDatabasePrimary: regional cluster', () => {
  const { stack, key, template } = primary;
  const cluster = () => clusterOf(template).resource;
  const keyArn = () => stack.resolve(key.keyArn);
  /** The secret attached to the cluster. */
  const secret = () => {
    const attachment = onlyResource(template, 'AWS::SecretsManager::SecretTargetAttachment').resource.Properties;
    expect(attachment.TargetId).toEqual({ Ref: clusterOf(template).id });
    const id = (attachment.SecretId as { Ref: string }).Ref;
    return { id, resource: template.toJSON().Resources[id] };
  };

  test(`runs aurora-postgresql at the given version (${ENGINE_VERSION})`, () => {
    expect(cluster().Properties).toEqual(
      expect.objectContaining({ Engine: 'aurora-postgresql', EngineVersion: ENGINE_VERSION }),
    );
  });

  test('encrypts storage with the given key', () => {
    expect(keyArn()).toEqual({ 'Fn::GetAtt': [onlyResource(template, 'AWS::KMS::Key').id, 'Arn'] });
    expect(cluster().Properties).toEqual(expect.objectContaining({ StorageEncrypted: true, KmsKeyId: keyArn() }));
  });

  test('has deletion protection', () => {
    expect(cluster().Properties.DeletionProtection).toBe(true);
  });

  test(`keeps backups for the given days (${BACKUP_RETENTION_DAYS})`, () => {
    expect(cluster().Properties.BackupRetentionPeriod).toBe(BACKUP_RETENTION_DAYS);
  });

  test('is snapshotted when removed or replaced', () => {
    expect(cluster().DeletionPolicy).toBe('Snapshot');
    expect(cluster().UpdateReplacePolicy).toBe('Snapshot');
  });

  test('has IAM database authentication on', () => {
    expect(cluster().Properties.EnableIAMDatabaseAuthentication).toBe(true);
  });

  test('takes its master password from the generated secret by dynamic reference, never a literal', () => {
    expect(cluster().Properties.MasterUserPassword).toEqual({
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret().id }, ':SecretString:password::}}']],
    });
    expect(secret().resource.Properties.GenerateSecretString).toEqual(
      expect.objectContaining({ GenerateStringKey: 'password' }),
    );
  });

  test('takes its master username from the secret (a dynamic reference or the username the secret holds)', () => {
    const username = cluster().Properties.MasterUsername;
    const secretTemplate = secret().resource.Properties.GenerateSecretString.SecretStringTemplate as string;
    const stored = JSON.parse(secretTemplate).username;
    const dynamic = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret().id }, ':SecretString:username::}}']],
    };
    expect([dynamic, stored]).toContainEqual(username);
  });

  test('its secret has the given name and is replicated to the given region', () => {
    expect(secret().resource.Properties).toEqual(
      expect.objectContaining({ Name: SECRET_NAME, ReplicaRegions: [{ Region: SECONDARY_REGION }] }),
    );
  });

  test('its secret is retained on delete, with the snapshot the cluster leaves', () => {
    expect(secret().resource.DeletionPolicy).toBe('RetainExceptOnCreate');
  });

  test('its secret is encrypted with the given key', () => {
    expect(secret().resource.Properties.KmsKeyId).toEqual(keyArn());
  });

  test('has a writer and `readers` readers (1: 2 instances) of the given class', () => {
    template.resourceCountIs('AWS::RDS::DBInstance', 2);
    for (const instance of propertiesOf(template, 'AWS::RDS::DBInstance')) {
      expect(instance).toEqual(
        expect.objectContaining({
          DBClusterIdentifier: { Ref: clusterOf(template).id },
          DBInstanceClass: INSTANCE_CLASS,
        }),
      );
    }
  });

  test('has exactly one writer (promotion tier 0); the readers take over from it', () => {
    const tiers = propertiesOf(template, 'AWS::RDS::DBInstance').map((p) => p.PromotionTier);
    expect(tiers.filter((t) => t === 0)).toHaveLength(1);
  });

  test('no instance is publicly accessible', () => {
    for (const instance of propertiesOf(template, 'AWS::RDS::DBInstance')) {
      expect(instance.PubliclyAccessible).toBe(false);
    }
  });

  test('3 readers give a writer plus 3 readers (4 instances)', () => {
    primaryDatabase({ readers: 3 }).template.resourceCountIs('AWS::RDS::DBInstance', 4);
  });
});

describe('GlobalDatabaseSecondary', () => {
  const { stack, key, template } = secondary;
  const cluster = () => clusterOf(template).resource;

  test('joins the global cluster by the given identifier', () => {
    expect(cluster().Properties.GlobalClusterIdentifier).toBe(GLOBAL_CLUSTER_IDENTIFIER);
  });

  test('creates no global cluster of its own', () => {
    template.resourceCountIs('AWS::RDS::GlobalCluster', 0);
  });

  test('runs the given engine and version, as the primary does', () => {
    expect(cluster().Properties).toEqual(
      expect.objectContaining({ Engine: 'aurora-postgresql', EngineVersion: ENGINE_VERSION }),
    );
  });

  test('has no master user of its own: it inherits the credentials', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      MasterUsername: Match.absent(),
      MasterUserPassword: Match.absent(),
      ManageMasterUserPassword: Match.absent(),
    });
  });

  test("encrypts storage with its own region's key", () => {
    const ownKey = stack.resolve(key.keyArn);
    expect(ownKey).toEqual({ 'Fn::GetAtt': [onlyResource(template, 'AWS::KMS::Key').id, 'Arn'] });
    expect(cluster().Properties).toEqual(expect.objectContaining({ StorageEncrypted: true, KmsKeyId: ownKey }));
  });

  test('has deletion protection', () => {
    expect(cluster().Properties.DeletionProtection).toBe(true);
  });

  test('is snapshotted when removed or replaced', () => {
    expect(cluster().DeletionPolicy).toBe('Snapshot');
    expect(cluster().UpdateReplacePolicy).toBe('Snapshot');
  });

  test('has `instances` instances (1) of the given class, none publicly accessible', () => {
    template.resourceCountIs('AWS::RDS::DBInstance', 1);
    for (const instance of propertiesOf(template, 'AWS::RDS::DBInstance')) {
      expect(instance).toEqual(
        expect.objectContaining({
          DBClusterIdentifier: { Ref: clusterOf(template).id },
          DBInstanceClass: INSTANCE_CLASS,
          PubliclyAccessible: false,
        }),
      );
    }
  });

  test('2 instances give 2 instances', () => {
    secondaryDatabase({ instances: 2 }).template.resourceCountIs('AWS::RDS::DBInstance', 2);
  });

  test('creates no secret: it reads the replica of the primary one', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe.each([
  { role: 'primary', built: primary },
  { role: 'secondary', built: secondary },
])('network access and parameters of the $role cluster', ({ built }) => {
  const { stack, vpc, clients, template } = built;
  const cluster = () => clusterOf(template).resource;
  const securityGroupId = () => {
    const groups = cluster().Properties.VpcSecurityGroupIds as { 'Fn::GetAtt': [string, string] }[];
    expect(groups).toHaveLength(1);
    return groups[0]['Fn::GetAtt'][0];
  };

  test(`admits only the clients security group, on TCP ${DATABASE_PORT}`, () => {
    expectOnlyIngressFrom(template, securityGroupId(), DATABASE_PORT, stack.resolve(clients.securityGroupId));
  });

  test('the cluster lives in the isolated subnets', () => {
    const subnetGroup = (cluster().Properties.DBSubnetGroupName as { Ref: string }).Ref;
    const resource = template.toJSON().Resources[subnetGroup];
    expect(resource.Type).toBe('AWS::RDS::DBSubnetGroup');
    expect(resource.Properties.SubnetIds).toEqual(stack.resolve(vpc.isolatedSubnets.map((s) => s.subnetId)));
  });

  test('the cluster parameter group forces TLS (rds.force_ssl = 1)', () => {
    const group = (cluster().Properties.DBClusterParameterGroupName as { Ref: string }).Ref;
    const resource = template.toJSON().Resources[group];
    expect(resource.Type).toBe('AWS::RDS::DBClusterParameterGroup');
    expect(resource.Properties.Parameters).toEqual(expect.objectContaining({ 'rds.force_ssl': '1' }));
  });
});

describe('GlobalDatabaseSecondary validation', () => {
  test('refuses fewer than one instance, naming the setting and the value', () => {
    const { stack, vpc, clients, key } = inputs(SECONDARY_REGION);
    const props = { ...baseProps(vpc, clients, key), instances: 1 };
    expect(() => new GlobalDatabaseSecondary(stack, 'Database', { ...props, instances: 0 })).toThrow(
      'Test/Database: instances must be at least 1 (got 0).',
    );
    expect(() => new GlobalDatabaseSecondary(stack, 'ValidDatabase', props)).not.toThrow();
  });
});
