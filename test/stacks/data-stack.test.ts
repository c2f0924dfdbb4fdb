/**
 * The Data stacks of the synthesized environments: the settings and fixed names they pass from the environment
 * config to the global database and the session cache (whose own behaviour test/constructs covers on bare
 * stacks), and their wiring to the Network stack of their region and to the primary region's Data stack.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { DATABASE_PORT } from '../../lib/constructs/global-database';
import { CACHE_PORT } from '../../lib/constructs/session-cache';
import { physicalNames } from '../../lib/names';
import { stringValues } from '../harness';
import { onlyResource, subnetIdsOf } from '../helpers';
import { EnvironmentName, importedValue, Json, synthesized, SynthesizedStack } from '../synthesized';

type Role = 'primary' | 'secondary';
const ROLES: Role[] = ['primary', 'secondary'];

const demo = synthesized('demo');
const names = physicalNames(demo.config);
const dataPrimary = demo.stack('Data', 'primary');
const dataSecondary = demo.stack('Data', 'secondary');

/** Properties of every resource of a type. */
function propertiesOf(template: Template, type: string): Json[] {
  return Object.values(template.findResources(type)).map((r) => r.Properties as Json);
}

/** The resource behind a `{ Ref }` or `{ 'Fn::GetAtt' }` of a template. */
function referenced(stack: SynthesizedStack, ref: unknown): { id: string; resource: Json } {
  const id = (ref as { Ref?: string }).Ref ?? (ref as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const resource = stack.json.Resources[id];
  expect(resource).toBeDefined();
  return { id, resource };
}

/**
 * `{ 'Fn::GetAtt': [<the data key>, 'Arn'] }`: the region's data key (the stack's other key, `LogsKey`, encrypts the
 * database-roles function's log groups).
 */
function dataKeyArn(stack: SynthesizedStack): Json {
  const ids = Object.keys(stack.template.findResources('AWS::KMS::Key'));
  expect(ids.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['DataKey', 'LogsKey']);
  return { 'Fn::GetAtt': [ids.find((id) => id.startsWith('DataKey'))!, 'Arn'] };
}

/** The group ID of the Network stack's security group of the reference service's instances (demo's only service). */
function webSecurityGroupId(network: SynthesizedStack): Json {
  const groups = Object.keys(network.template.findResources('AWS::EC2::SecurityGroup')).filter((id) =>
    id.startsWith('ServiceWebSecurityGroup'),
  );
  expect(groups).toHaveLength(1);
  return { 'Fn::GetAtt': [groups[0], 'GroupId'] };
}

const cluster = (stack: SynthesizedStack) => onlyResource(stack.template, 'AWS::RDS::DBCluster');
const replicationGroup = (stack: SynthesizedStack) =>
  onlyResource(stack.template, 'AWS::ElastiCache::ReplicationGroup');
const secretNamed = (stack: SynthesizedStack, name: string) => {
  const found = Object.entries(
    stack.template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: name } }),
  );
  expect(found).toHaveLength(1);
  return { id: found[0][0], resource: found[0][1] };
};

describe('global database of the demo environment', () => {
  test('the global cluster is haweb-demo-global, in the primary region only', () => {
    expect(names.globalClusterIdentifier).toBe('haweb-demo-global');
    dataPrimary.template.resourceCountIs('AWS::RDS::GlobalCluster', 1);
    dataPrimary.template.hasResourceProperties('AWS::RDS::GlobalCluster', {
      GlobalClusterIdentifier: 'haweb-demo-global',
      SourceDBClusterIdentifier: { Ref: cluster(dataPrimary).id },
    });
    dataSecondary.template.resourceCountIs('AWS::RDS::GlobalCluster', 0);
  });

  test('the secondary cluster joins the global cluster haweb-demo-global', () => {
    expect(cluster(dataSecondary).resource.Properties.GlobalClusterIdentifier).toBe('haweb-demo-global');
  });

  test.each(ROLES)(
    `the %s cluster runs aurora-postgresql at the configured version (${demo.config.database.engineVersion})`,
    (role) => {
      expect(cluster(demo.stack('Data', role)).resource.Properties).toEqual(
        expect.objectContaining({ Engine: 'aurora-postgresql', EngineVersion: demo.config.database.engineVersion }),
      );
    },
  );

  test.each(ROLES)("the %s cluster encrypts storage with its region's data key", (role) => {
    const data = demo.stack('Data', role);
    expect(cluster(data).resource.Properties).toEqual(
      expect.objectContaining({ StorageEncrypted: true, KmsKeyId: dataKeyArn(data) }),
    );
  });

  test('the credentials secret is haweb/demo/database, replicated to the secondary region, under the data key', () => {
    const secret = secretNamed(dataPrimary, 'haweb/demo/database');
    expect(secret.resource.Properties).toEqual(
      expect.objectContaining({
        ReplicaRegions: [{ Region: demo.config.secondary.region }],
        KmsKeyId: dataKeyArn(dataPrimary),
      }),
    );
    expect(cluster(dataPrimary).resource.Properties.MasterUserPassword).toEqual({
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret.id }, ':SecretString:password::}}']],
    });
  });
});

describe('session cache of the demo environment', () => {
  test(`the primary runs Valkey ${demo.config.cache.engineVersion} on ${demo.config.cache.nodeType}`, () => {
    expect(replicationGroup(dataPrimary).resource.Properties).toEqual(
      expect.objectContaining({
        Engine: 'valkey',
        EngineVersion: demo.config.cache.engineVersion,
        CacheNodeType: demo.config.cache.nodeType,
      }),
    );
  });

  test.each(ROLES)("the %s replication group encrypts at rest with its region's data key", (role) => {
    const data = demo.stack('Data', role);
    expect(replicationGroup(data).resource.Properties.KmsKeyId).toEqual(dataKeyArn(data));
  });

  test('the AUTH secret is haweb/demo/cache-auth, replicated to the secondary region, under the data key', () => {
    const secret = secretNamed(dataPrimary, 'haweb/demo/cache-auth');
    expect(secret.resource.Properties).toEqual(
      expect.objectContaining({
        ReplicaRegions: [{ Region: demo.config.secondary.region }],
        KmsKeyId: dataKeyArn(dataPrimary),
      }),
    );
  });

  test('the secondary takes its AUTH token from the replica of haweb/demo/cache-auth, by name', () => {
    expect(replicationGroup(dataSecondary).resource.Properties.AuthToken).toBe(
      '{{resolve:secretsmanager:haweb/demo/cache-auth:SecretString:::}}',
    );
  });

  test('the primary leads the Global Datastore haweb-demo-sessions as its PRIMARY member, in the primary region', () => {
    dataPrimary.template.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 1);
    dataPrimary.template.hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', {
      GlobalReplicationGroupIdSuffix: 'haweb-demo-sessions',
      Members: [
        {
          ReplicationGroupId: { Ref: replicationGroup(dataPrimary).id },
          ReplicationGroupRegion: demo.config.primary.region,
          Role: 'PRIMARY',
        },
      ],
    });
  });

  test('the secondary joins the Global Datastore by the ID the primary data stack outputs, read in the primary region', () => {
    const ref = replicationGroup(dataSecondary).resource.Properties.GlobalReplicationGroupId;
    expect(ref).toEqual({ 'Fn::GetStackOutput': expect.objectContaining({ Region: demo.config.primary.region }) });
    expect(importedValue(ref, dataPrimary)).toEqual({
      'Fn::GetAtt': [
        onlyResource(dataPrimary.template, 'AWS::ElastiCache::GlobalReplicationGroup').id,
        'GlobalReplicationGroupId',
      ],
    });
  });
});

describe('secrets of the demo Data stacks', () => {
  test('the secondary creates no secret, Global Datastore or global cluster: it reads the replicas and joins', () => {
    dataSecondary.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    dataSecondary.template.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 0);
    dataSecondary.template.resourceCountIs('AWS::RDS::GlobalCluster', 0);
  });

  test('the data templates hold no 64-character token in clear', () => {
    for (const data of [dataPrimary, dataSecondary]) {
      // The CLI's version report (AWS::CDK::Metadata, a compressed list of construct types) is left out.
      const resources = Object.values(data.json.Resources as Json).filter((r) => r.Type !== 'AWS::CDK::Metadata');
      expect(resources.length).toBe(Object.keys(data.json.Resources).length - 1);
      // Asset hashes (SHA-256 in hex, the functions' code) and logical IDs are not secrets.
      const values = stringValues({ ...data.json, Resources: resources }).filter(
        (v) => !/^(asset\.)?[0-9a-f]{64}(\.zip)?$/.test(v) && !(v in data.json.Resources),
      );
      expect(values.filter((v) => /[A-Za-z0-9]{64}/.test(v))).toEqual([]);
    }
  });
});

describe.each(ROLES)('wiring of the demo %s Data stack to its Network stack', (role) => {
  const data = demo.stack('Data', role);
  const network = demo.stack('Network', role);
  const isolatedSubnets = () => {
    const ids = subnetIdsOf(network.template, 'Isolated');
    expect(ids).toHaveLength(demo.config[role].availabilityZones.length);
    return ids.map((id) => ({ Ref: id }));
  };

  /**
   * Checks that the security group `securityGroupId` has no inline ingress, exactly one ingress rule (TCP
   * `port`, from the Network stack's web instances security group, no CIDR), and is not exported, so no other
   * stack can add ingress to it.
   */
  function expectOnlyWebIngress(securityGroupId: string, port: number, alsoFrom: string[] = []): void {
    const sg = data.json.Resources[securityGroupId];
    expect(sg.Type).toBe('AWS::EC2::SecurityGroup');
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    const all = propertiesOf(data.template, 'AWS::EC2::SecurityGroupIngress').filter(
      (r) => JSON.stringify(r.GroupId) === JSON.stringify({ 'Fn::GetAtt': [securityGroupId, 'GroupId'] }),
    );
    const local = (r: Json) => r.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] as string | undefined;
    expect(all.map(local).filter((id) => id !== undefined)).toEqual(alsoFrom);
    for (const rule of all.filter((r) => local(r) !== undefined)) {
      expect(rule).toEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: port, ToPort: port }));
    }
    const rules = all.filter((r) => local(r) === undefined);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: port, ToPort: port }));
    expect(rules[0]).not.toHaveProperty('CidrIp');
    expect(importedValue(rules[0].SourceSecurityGroupId, network)).toEqual(webSecurityGroupId(network));
    for (const output of Object.values(data.json.Outputs ?? {})) {
      expect(JSON.stringify(output)).not.toContain(securityGroupId);
    }
  }

  test(`the database admits only the web instances and the database-roles function, on TCP ${DATABASE_PORT}; its group is not exported`, () => {
    const groups = cluster(data).resource.Properties.VpcSecurityGroupIds as unknown[];
    expect(groups).toHaveLength(1);
    const rolesGroup = Object.keys(data.template.findResources('AWS::EC2::SecurityGroup')).filter((id) =>
      id.startsWith('DatabaseRolesSecurityGroup'),
    );
    expect(rolesGroup).toHaveLength(1);
    expectOnlyWebIngress(referenced(data, groups[0]).id, DATABASE_PORT, rolesGroup);
  });

  test(`the cache admits only the web instances security group, on TCP ${CACHE_PORT}; its group is not exported`, () => {
    const properties = replicationGroup(data).resource.Properties;
    expect(properties.Port).toBe(CACHE_PORT);
    expect(properties.SecurityGroupIds).toHaveLength(1);
    expectOnlyWebIngress(referenced(data, properties.SecurityGroupIds[0]).id, CACHE_PORT);
  });

  test("the database cluster lives in the Network stack's isolated subnets", () => {
    const group = referenced(data, cluster(data).resource.Properties.DBSubnetGroupName).resource;
    expect(group.Type).toBe('AWS::RDS::DBSubnetGroup');
    expect((group.Properties.SubnetIds as unknown[]).map((s) => importedValue(s, network))).toEqual(isolatedSubnets());
  });

  test("the cache nodes are in the Network stack's isolated subnets", () => {
    const group = referenced(data, replicationGroup(data).resource.Properties.CacheSubnetGroupName).resource;
    expect(group.Type).toBe('AWS::ElastiCache::SubnetGroup');
    expect((group.Properties.SubnetIds as unknown[]).map((s) => importedValue(s, network))).toEqual(isolatedSubnets());
  });
});

/** demo (1 primary reader, 1 secondary instance, 1 cache replica) and prod (2, 1, 2), whose sizes differ. */
describe.each<EnvironmentName>(['demo', 'prod'])('sizes of the %s Data stacks follow its config', (name) => {
  const { config } = synthesized(name);
  const data = (role: Role) => synthesized(name).stack('Data', role);

  test('the primary has a writer plus primary.databaseReaders readers of the configured class', () => {
    const instances = propertiesOf(data('primary').template, 'AWS::RDS::DBInstance');
    expect(instances).toHaveLength(1 + config.primary.databaseReaders);
    for (const instance of instances) expect(instance.DBInstanceClass).toBe(config.database.instanceClass);
  });

  test('the secondary has secondary.databaseReaders instances of the configured class', () => {
    const instances = propertiesOf(data('secondary').template, 'AWS::RDS::DBInstance');
    expect(instances).toHaveLength(config.secondary.databaseReaders);
    for (const instance of instances) expect(instance.DBInstanceClass).toBe(config.database.instanceClass);
  });

  test('each region has a cache primary node plus cache.replicasPerRegion replicas', () => {
    expect(ROLES.map((role) => replicationGroup(data(role)).resource.Properties.NumCacheClusters)).toEqual([
      1 + config.cache.replicasPerRegion,
      1 + config.cache.replicasPerRegion,
    ]);
  });

  test('the primary keeps backups for database.backupRetentionDays', () => {
    expect(cluster(data('primary')).resource.Properties.BackupRetentionPeriod).toBe(
      config.database.backupRetentionDays,
    );
  });
});
