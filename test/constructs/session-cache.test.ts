import { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  CACHE_PORT,
  SessionCache,
  SessionCachePrimaryProps,
  SessionCacheProps,
  SessionCacheSecondaryProps,
} from '../../lib/constructs/session-cache';
import { RegionalStack } from '../../lib/regional-stack';
import {
  bareStack,
  expectOnlyIngressFrom,
  templateOf,
  testKey,
  testSecurityGroup,
  testVpc,
  stringValues,
} from '../harness';
import { onlyResource } from '../helpers';

type Properties = Record<string, any>;

const PRIMARY_REGION = 'us-east-1';
const SECONDARY_REGION = 'us-west-2';
const AUTH_SECRET_NAME = 'haweb/test/cache-auth';
const ENGINE_VERSION = '8.0';
const NODE_TYPE = 'cache.r7g.large';
const GLOBAL_DATASTORE_SUFFIX = 'haweb-test-sessions';
/** A Global Datastore ID as AWS forms it: a prefix it assigns, then the suffix. */
const GLOBAL_DATASTORE_ID = `ldgnf-${GLOBAL_DATASTORE_SUFFIX}`;

/** A bare regional stack with the inputs every role of the cache needs. */
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
    replicas: 1,
    authSecretName: AUTH_SECRET_NAME,
    replicationGroupId: 'haweb-test-cache',
  };
}

/** Properties of a primary {@link SessionCache} on a bare stack in us-east-1. */
function primaryInputs(overrides: Partial<SessionCachePrimaryProps> = {}) {
  const { stack, vpc, clients, key } = inputs(PRIMARY_REGION);
  const props: SessionCachePrimaryProps = {
    ...baseProps(vpc, clients, key),
    role: 'primary',
    engineVersion: ENGINE_VERSION,
    nodeType: NODE_TYPE,
    secondaryRegion: SECONDARY_REGION,
    globalDatastoreSuffix: GLOBAL_DATASTORE_SUFFIX,
    ...overrides,
  };
  return { stack, vpc, clients, key, props };
}

function primaryCache(overrides: Partial<SessionCachePrimaryProps> = {}) {
  const built = primaryInputs(overrides);
  const cache = new SessionCache(built.stack, 'Cache', built.props);
  return { ...built, cache, template: templateOf(built.stack) };
}

/** A secondary {@link SessionCache} on a bare stack in us-west-2. */
function secondaryCache(overrides: Partial<SessionCacheSecondaryProps> = {}) {
  const { stack, vpc, clients, key } = inputs(SECONDARY_REGION);
  const cache = new SessionCache(stack, 'Cache', {
    ...baseProps(vpc, clients, key),
    role: 'secondary',
    globalDatastoreId: GLOBAL_DATASTORE_ID,
    ...overrides,
  });
  return { stack, vpc, clients, key, cache, template: templateOf(stack) };
}

/** A `Fn::Join` with an empty separator as text, each `{ Ref: X }` written as `${X}`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  expect(separator).toBe('');
  return parts.map((p) => (typeof p === 'string' ? p : '${' + (p as { Ref: string }).Ref + '}')).join('');
}

const replicationGroup = (template: Template) => onlyResource(template, 'AWS::ElastiCache::ReplicationGroup');

const primary = primaryCache();
const secondary = secondaryCache();

describe('SessionCache, primary role', () => {
  const { stack, key, template } = primary;
  const group = () => replicationGroup(template).resource.Properties as Properties;
  const keyArn = () => stack.resolve(key.keyArn);
  const authSecret = () => {
    const secrets = Object.entries(
      template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: AUTH_SECRET_NAME } }),
    );
    expect(secrets).toHaveLength(1);
    return { id: secrets[0][0], resource: secrets[0][1] };
  };

  test(`runs Valkey at the given version (${ENGINE_VERSION})`, () => {
    expect(group()).toEqual(expect.objectContaining({ Engine: 'valkey', EngineVersion: ENGINE_VERSION }));
  });

  test(`uses the given node type (${NODE_TYPE})`, () => {
    expect(group().CacheNodeType).toBe(NODE_TYPE);
  });

  test('has a primary node plus `replicas` replicas (1: 2 cache clusters)', () => {
    expect(group().NumCacheClusters).toBe(2);
  });

  test('3 replicas give 4 cache clusters', () => {
    expect(replicationGroup(primaryCache({ replicas: 3 }).template).resource.Properties.NumCacheClusters).toBe(4);
  });

  test('is Multi-AZ with automatic failover', () => {
    expect(group()).toEqual(expect.objectContaining({ MultiAZEnabled: true, AutomaticFailoverEnabled: true }));
  });

  test('encrypts in transit (TLS) and at rest', () => {
    expect(group()).toEqual(expect.objectContaining({ TransitEncryptionEnabled: true, AtRestEncryptionEnabled: true }));
  });

  test('encrypts at rest with the given key', () => {
    expect(keyArn()).toEqual({ 'Fn::GetAtt': [onlyResource(template, 'AWS::KMS::Key').id, 'Arn'] });
    expect(group().KmsKeyId).toEqual(keyArn());
  });

  test('takes its AUTH token from the AUTH secret by a Secrets Manager dynamic reference', () => {
    const token = joined(group().AuthToken);
    expect(token.startsWith('{{resolve:secretsmanager:')).toBe(true);
    expect(token).toBe(`{{resolve:secretsmanager:\${${authSecret().id}}:SecretString:::}}`);
  });

  test('the AUTH secret is generated by Secrets Manager, 64 characters without punctuation', () => {
    expect(authSecret().resource.Properties.GenerateSecretString).toEqual({
      PasswordLength: 64,
      ExcludePunctuation: true,
    });
    expect(authSecret().resource.Properties.SecretString).toBeUndefined();
  });

  test('the AUTH secret has the given name and is replicated to the secondary region', () => {
    expect(authSecret().resource.Properties).toEqual(
      expect.objectContaining({ Name: AUTH_SECRET_NAME, ReplicaRegions: [{ Region: SECONDARY_REGION }] }),
    );
  });

  test('the AUTH secret is encrypted with the given key', () => {
    expect(authSecret().resource.Properties.KmsKeyId).toEqual(keyArn());
  });

  test('leads a Global Datastore with the given suffix', () => {
    template.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 1);
    template.hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', {
      GlobalReplicationGroupIdSuffix: GLOBAL_DATASTORE_SUFFIX,
    });
  });

  test("is the one PRIMARY member of the Global Datastore, in its stack's region", () => {
    template.hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', {
      Members: [
        {
          ReplicationGroupId: { Ref: replicationGroup(template).id },
          ReplicationGroupRegion: PRIMARY_REGION,
          Role: 'PRIMARY',
        },
      ],
    });
  });

  test('the Global Datastore is retained when its stack removes it', () => {
    template.hasResource('AWS::ElastiCache::GlobalReplicationGroup', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('SessionCache, primary role: engine version and node type after creation', () => {
  const gds = (t: Template) => onlyResource(t, 'AWS::ElastiCache::GlobalReplicationGroup').resource.Properties;

  test("at creation the Global Datastore takes the member's values and sets neither itself", () => {
    expect(gds(primary.template).CacheNodeType).toBeUndefined();
    expect(gds(primary.template).EngineVersion).toBeUndefined();
  });

  test('a new node type goes to the Global Datastore; the member keeps what it was created with', () => {
    const { template } = primaryCache({
      nodeType: 'cache.r7g.xlarge',
      createdWith: { engineVersion: ENGINE_VERSION, nodeType: NODE_TYPE },
    });
    expect(replicationGroup(template).resource.Properties.CacheNodeType).toBe(NODE_TYPE);
    expect(gds(template).CacheNodeType).toBe('cache.r7g.xlarge');
    expect(gds(template).EngineVersion).toBeUndefined();
  });

  test('a new engine version goes to the Global Datastore; the member keeps what it was created with', () => {
    const { template } = primaryCache({
      engineVersion: '8.1',
      createdWith: { engineVersion: ENGINE_VERSION, nodeType: NODE_TYPE },
    });
    expect(replicationGroup(template).resource.Properties.EngineVersion).toBe(ENGINE_VERSION);
    expect(gds(template).EngineVersion).toBe('8.1');
    expect(gds(template).CacheNodeType).toBeUndefined();
  });

  test('recorded values equal to the config change nothing (the template is the same as at creation)', () => {
    const { template } = primaryCache({ createdWith: { engineVersion: ENGINE_VERSION, nodeType: NODE_TYPE } });
    expect(template.toJSON()).toEqual(primary.template.toJSON());
  });
});

describe('SessionCache, secondary role', () => {
  const { stack, key, template } = secondary;
  const group = () => replicationGroup(template).resource.Properties as Properties;

  test('joins the Global Datastore by the given ID', () => {
    expect(group().GlobalReplicationGroupId).toBe(GLOBAL_DATASTORE_ID);
  });

  test('inherits engine, version and node type from the Global Datastore', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: Match.absent(),
      EngineVersion: Match.absent(),
      CacheNodeType: Match.absent(),
    });
  });

  test('has a primary node plus `replicas` replicas (1: 2 cache clusters)', () => {
    expect(group().NumCacheClusters).toBe(2);
  });

  test('3 replicas give 4 cache clusters', () => {
    expect(replicationGroup(secondaryCache({ replicas: 3 }).template).resource.Properties.NumCacheClusters).toBe(4);
  });

  test("encrypts at rest with its own region's key", () => {
    const ownKey = stack.resolve(key.keyArn);
    expect(ownKey).toEqual({ 'Fn::GetAtt': [onlyResource(template, 'AWS::KMS::Key').id, 'Arn'] });
    expect(group().KmsKeyId).toEqual(ownKey);
  });

  test('is Multi-AZ with automatic failover', () => {
    expect(group()).toEqual(expect.objectContaining({ MultiAZEnabled: true, AutomaticFailoverEnabled: true }));
  });

  test('inherits TLS and at-rest encryption from the Global Datastore instead of setting them', () => {
    expect(group().TransitEncryptionEnabled).toBeUndefined();
    expect(group().AtRestEncryptionEnabled).toBeUndefined();
  });

  test('takes its AUTH token from the replica of the AUTH secret, by name', () => {
    expect(group().AuthToken).toBe(`{{resolve:secretsmanager:${AUTH_SECRET_NAME}:SecretString:::}}`);
  });

  test('creates no secret and no Global Datastore of its own', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 0);
  });
});

describe.each([
  { role: 'primary', built: primary },
  { role: 'secondary', built: secondary },
])('SessionCache network access and secrets, $role role', ({ built }) => {
  const { stack, vpc, clients, template } = built;
  const group = () => replicationGroup(template).resource.Properties as Properties;
  const securityGroupId = () => {
    const groups = group().SecurityGroupIds as { 'Fn::GetAtt': [string, string] }[];
    expect(groups).toHaveLength(1);
    return groups[0]['Fn::GetAtt'][0];
  };

  test('the nodes are in the isolated subnets', () => {
    const subnetGroup = (group().CacheSubnetGroupName as { Ref: string }).Ref;
    const resource = template.toJSON().Resources[subnetGroup];
    expect(resource.Type).toBe('AWS::ElastiCache::SubnetGroup');
    expect(resource.Properties.SubnetIds).toEqual(stack.resolve(vpc.isolatedSubnets.map((s) => s.subnetId)));
  });

  test(`admits only the clients security group, on TCP ${CACHE_PORT}`, () => {
    expect(group().Port).toBe(CACHE_PORT);
    expectOnlyIngressFrom(template, securityGroupId(), CACHE_PORT, stack.resolve(clients.securityGroupId));
  });

  test("the cache's resources hold no 64-character token in clear", () => {
    const resources = template.toJSON().Resources as Record<string, unknown>;
    const own = built.cache.node
      .findAll()
      .filter(CfnElement.isCfnElement)
      .map((e) => stack.resolve(e.logicalId) as string);
    expect(own).toContain(replicationGroup(template).id);
    const values = stringValues(own.map((id) => resources[id]));
    expect(values.filter((v) => /[A-Za-z0-9]{64}/.test(v))).toEqual([]);
  });
});

describe('SessionCache validation', () => {
  test('a complete primary is accepted', () => {
    const { stack, props } = primaryInputs();
    expect(() => new SessionCache(stack, 'Cache', props)).not.toThrow();
  });

  test('refuses zero replicas, because Multi-AZ needs at least one', () => {
    const { stack, props } = primaryInputs();
    expect(() => new SessionCache(stack, 'Cache', { ...props, replicas: 0 })).toThrow(
      'Test/Cache: replicas must be at least 1 for Multi-AZ (got 0).',
    );
  });

  test('refuses a primary without nodeType, naming the missing setting', () => {
    const { stack, props } = primaryInputs();
    // The types forbid it; JavaScript callers can still leave it out.
    const incomplete = { ...props, nodeType: undefined } as unknown as SessionCacheProps;
    expect(() => new SessionCache(stack, 'Cache', incomplete)).toThrow(
      'Test/Cache: a primary SessionCache needs nodeType.',
    );
  });
});
