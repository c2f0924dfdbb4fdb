import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { demo } from '../../lib/config/environments';
import { DATABASE_PORT, GlobalDatabaseSecondary } from '../../lib/constructs/global-database';
import { physicalNames } from '../../lib/names';
import { NetworkStack } from '../../lib/stacks/network-stack';
import {
  buildEnvironment,
  importedValue,
  newApp,
  onlyResource,
  templatesOf,
  withConfig,
  expectOnlyWebIngress,
} from '../helpers';

const { env } = buildEnvironment();
const templates = templatesOf(env);
const primary = templates.dataPrimary;
const secondary = templates.dataSecondary;

type Properties = Record<string, unknown>;

/** Properties of every resource of a type. */
function propertiesOf(template: Template, type: string): Properties[] {
  return Object.values(template.findResources(type)).map((r) => r.Properties as Properties);
}

const clusterId = (template: Template) => onlyResource(template, 'AWS::RDS::DBCluster').id;

describe('global cluster (primary region)', () => {
  test('there is exactly one, with the deterministic identifier haweb-demo-global', () => {
    expect(physicalNames(demo).globalClusterIdentifier).toBe('haweb-demo-global');
    primary.resourceCountIs('AWS::RDS::GlobalCluster', 1);
    primary.hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: 'haweb-demo-global' });
  });

  test('is created from the primary regional cluster', () => {
    primary.hasResourceProperties('AWS::RDS::GlobalCluster', {
      SourceDBClusterIdentifier: { Ref: clusterId(primary) },
    });
  });

  test('has deletion protection', () => {
    primary.hasResourceProperties('AWS::RDS::GlobalCluster', { DeletionProtection: true });
  });

  test('is retained when its stack removes it', () => {
    primary.hasResource('AWS::RDS::GlobalCluster', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('exists only in the primary region', () => {
    secondary.resourceCountIs('AWS::RDS::GlobalCluster', 0);
  });
});

describe('primary Aurora cluster', () => {
  const cluster = () => onlyResource(primary, 'AWS::RDS::DBCluster').resource;
  /** The secret attached to the cluster (the template also holds the cache AUTH secret). */
  const secret = () => {
    const attachment = onlyResource(primary, 'AWS::SecretsManager::SecretTargetAttachment').resource.Properties;
    expect(attachment.TargetId).toEqual({ Ref: clusterId(primary) });
    const id = (attachment.SecretId as { Ref: string }).Ref;
    return { id, resource: primary.toJSON().Resources[id] };
  };
  const dataKeyArn = () => env.primary.data.resolve(env.primary.data.key.keyArn);

  test(`runs aurora-postgresql at the configured version (${demo.database.engineVersion})`, () => {
    expect(cluster().Properties).toEqual(
      expect.objectContaining({ Engine: 'aurora-postgresql', EngineVersion: demo.database.engineVersion }),
    );
  });

  test("encrypts storage with the region's data key", () => {
    expect(dataKeyArn()).toEqual({ 'Fn::GetAtt': [onlyResource(primary, 'AWS::KMS::Key').id, 'Arn'] });
    expect(cluster().Properties).toEqual(expect.objectContaining({ StorageEncrypted: true, KmsKeyId: dataKeyArn() }));
  });

  test('has deletion protection', () => {
    expect(cluster().Properties.DeletionProtection).toBe(true);
  });

  test(`keeps backups for the configured days (${demo.database.backupRetentionDays})`, () => {
    expect(cluster().Properties.BackupRetentionPeriod).toBe(demo.database.backupRetentionDays);
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
    const template = secret().resource.Properties.GenerateSecretString.SecretStringTemplate as string;
    const stored = JSON.parse(template).username;
    const dynamic = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret().id }, ':SecretString:username::}}']],
    };
    expect([dynamic, stored]).toContainEqual(username);
  });

  test('its secret is named haweb/demo/database and replicated to the secondary region', () => {
    expect(secret().resource.Properties).toEqual(
      expect.objectContaining({
        Name: 'haweb/demo/database',
        ReplicaRegions: [{ Region: demo.secondary.region }],
      }),
    );
  });

  test('its secret is retained on delete, with the snapshot the cluster leaves', () => {
    expect(secret().resource.DeletionPolicy).toBe('RetainExceptOnCreate');
  });

  test("its secret is encrypted with the region's data key", () => {
    expect(secret().resource.Properties.KmsKeyId).toEqual(dataKeyArn());
  });

  test(`has a writer and primary.databaseReaders (${demo.primary.databaseReaders}) readers of the configured class`, () => {
    primary.resourceCountIs('AWS::RDS::DBInstance', 1 + demo.primary.databaseReaders);
    for (const instance of propertiesOf(primary, 'AWS::RDS::DBInstance')) {
      expect(instance).toEqual(
        expect.objectContaining({
          DBClusterIdentifier: { Ref: clusterId(primary) },
          DBInstanceClass: demo.database.instanceClass,
        }),
      );
    }
  });

  test('has exactly one writer (promotion tier 0); the readers take over from it', () => {
    const tiers = propertiesOf(primary, 'AWS::RDS::DBInstance').map((p) => p.PromotionTier);
    expect(tiers.filter((t) => t === 0)).toHaveLength(1);
  });

  test('no instance is publicly accessible', () => {
    for (const instance of propertiesOf(primary, 'AWS::RDS::DBInstance')) {
      expect(instance.PubliclyAccessible).toBe(false);
    }
  });
});

describe('secondary Aurora cluster', () => {
  const cluster = () => onlyResource(secondary, 'AWS::RDS::DBCluster').resource;

  test('joins the global cluster haweb-demo-global', () => {
    expect(cluster().Properties.GlobalClusterIdentifier).toBe('haweb-demo-global');
  });

  test('runs the same engine and version as the primary', () => {
    expect(cluster().Properties).toEqual(
      expect.objectContaining({ Engine: 'aurora-postgresql', EngineVersion: demo.database.engineVersion }),
    );
  });

  test('has no master user of its own: it inherits the credentials', () => {
    secondary.hasResourceProperties('AWS::RDS::DBCluster', {
      MasterUsername: Match.absent(),
      MasterUserPassword: Match.absent(),
      ManageMasterUserPassword: Match.absent(),
    });
  });

  test("encrypts storage with its own region's data key", () => {
    const ownKey = env.secondary.data.resolve(env.secondary.data.key.keyArn);
    expect(ownKey).toEqual({ 'Fn::GetAtt': [onlyResource(secondary, 'AWS::KMS::Key').id, 'Arn'] });
    expect(cluster().Properties).toEqual(expect.objectContaining({ StorageEncrypted: true, KmsKeyId: ownKey }));
  });

  test('has deletion protection', () => {
    expect(cluster().Properties.DeletionProtection).toBe(true);
  });

  test('is snapshotted when removed or replaced', () => {
    expect(cluster().DeletionPolicy).toBe('Snapshot');
    expect(cluster().UpdateReplacePolicy).toBe('Snapshot');
  });

  test(`has secondary.databaseReaders (${demo.secondary.databaseReaders}) instances of the configured class`, () => {
    secondary.resourceCountIs('AWS::RDS::DBInstance', demo.secondary.databaseReaders);
    for (const instance of propertiesOf(secondary, 'AWS::RDS::DBInstance')) {
      expect(instance).toEqual(
        expect.objectContaining({
          DBClusterIdentifier: { Ref: clusterId(secondary) },
          DBInstanceClass: demo.database.instanceClass,
          PubliclyAccessible: false,
        }),
      );
    }
  });

  test('creates no secret: it reads the replica of the primary one', () => {
    secondary.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

const regions: { role: string; template: Template; network: NetworkStack; networkTemplate: Template }[] = [
  { role: 'primary', template: primary, network: env.primary.network, networkTemplate: templates.networkPrimary },
  {
    role: 'secondary',
    template: secondary,
    network: env.secondary.network,
    networkTemplate: templates.networkSecondary,
  },
];

describe.each(regions)(
  'Aurora network access and parameters in the $role region',
  ({ template, network, networkTemplate }) => {
    const securityGroupId = () => {
      const groups = cluster().Properties.VpcSecurityGroupIds as { 'Fn::GetAtt': [string, string] }[];
      expect(groups).toHaveLength(1);
      return groups[0]['Fn::GetAtt'][0];
    };
    const cluster = () => onlyResource(template, 'AWS::RDS::DBCluster').resource;

    test(`admits only the web instances security group, on TCP ${DATABASE_PORT}; its group is not exported`, () => {
      expectOnlyWebIngress(template, securityGroupId(), DATABASE_PORT, network, networkTemplate);
    });

    test('the cluster lives in the isolated subnets', () => {
      const subnetGroup = (cluster().Properties.DBSubnetGroupName as { Ref: string }).Ref;
      const subnets = template.toJSON().Resources[subnetGroup].Properties.SubnetIds as unknown[];
      expect(subnets.map((s) => importedValue(s, network, networkTemplate))).toEqual(
        network.resolve(network.vpc.isolatedSubnets.map((s) => s.subnetId)),
      );
    });

    test('the cluster parameter group forces TLS (rds.force_ssl = 1)', () => {
      const group = (cluster().Properties.DBClusterParameterGroupName as { Ref: string }).Ref;
      const resource = template.toJSON().Resources[group];
      expect(resource.Type).toBe('AWS::RDS::DBClusterParameterGroup');
      expect(resource.Properties.Parameters).toEqual(expect.objectContaining({ 'rds.force_ssl': '1' }));
    });
  },
);

describe('instance counts follow config', () => {
  const config = withConfig({
    primary: { ...demo.primary, databaseReaders: 3 },
    secondary: { ...demo.secondary, databaseReaders: 2 },
  });
  let counts: { primary: number; secondary: number };
  beforeAll(() => {
    const built = buildEnvironment(config).env;
    const count = (s: Stack) => Object.keys(Template.fromStack(s).findResources('AWS::RDS::DBInstance')).length;
    counts = { primary: count(built.primary.data), secondary: count(built.secondary.data) };
  });

  test('the primary has a writer plus primary.databaseReaders readers (3 readers: 4 instances)', () => {
    expect(counts.primary).toBe(4);
  });

  test('the secondary has secondary.databaseReaders instances (2)', () => {
    expect(counts.secondary).toBe(2);
  });
});

describe('GlobalDatabaseSecondary validation', () => {
  test('refuses fewer than one instance, naming the setting and the value', () => {
    const stack = new Stack(newApp(), 'Test', { env: { account: '111111111111', region: 'us-west-2' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const props = {
      vpc,
      clients: new ec2.SecurityGroup(stack, 'Clients', { vpc }),
      key: new kms.Key(stack, 'Key'),
      engineVersion: demo.database.engineVersion,
      instanceClass: demo.database.instanceClass,
      backupRetentionDays: demo.database.backupRetentionDays,
      globalClusterIdentifier: 'haweb-test-global',
      clusterIdentifier: 'haweb-test-aurora',
      monitoringInterval: Duration.seconds(60),
    };
    expect(() => new GlobalDatabaseSecondary(stack, 'Database', { ...props, instances: 0 })).toThrow(
      'Test/Database: instances must be at least 1 (got 0).',
    );
    expect(() => new GlobalDatabaseSecondary(stack, 'ValidDatabase', { ...props, instances: 1 })).not.toThrow();
  });
});
