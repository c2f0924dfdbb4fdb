import { synthesized } from './synthesized';

// A changed logical ID makes CloudFormation replace the resource: for these
// types that means a new, empty database, file system, cache or key, or (for
// the Auto Scaling group) a new group ARN, which the Region switch plan holds
// until its fleets are read again. This test pins them; change an entry only
// together with a migration plan. The groups moved once, to Service<Name>/Fleet (issue 12: a group per
// service), before any environment was deployed; a service keeps its group's logical ID while its name stays.
const STATEFUL_TYPES = [
  'AWS::AutoScaling::AutoScalingGroup',
  'AWS::RDS::DBCluster',
  'AWS::RDS::GlobalCluster',
  'AWS::EFS::FileSystem',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::GlobalReplicationGroup',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
];

const EXPECTED: Record<string, string[]> = {
  'HaWeb-demo-Network-us-east-1': ['AWS::KMS::Key LogsKeyA6AB43B2'],
  'HaWeb-demo-Network-us-west-2': ['AWS::KMS::Key LogsKeyA6AB43B2'],
  'HaWeb-demo-Storage-us-west-2': ['AWS::EFS::FileSystem SharedFiles8683C99B', 'AWS::KMS::Key SharedFilesKeyD9C10E13'],
  'HaWeb-demo-Storage-us-east-1': ['AWS::EFS::FileSystem SharedFiles8683C99B', 'AWS::KMS::Key SharedFilesKeyD9C10E13'],
  'HaWeb-demo-Data-us-east-1': [
    'AWS::ElastiCache::GlobalReplicationGroup SessionCacheGlobalDatastoreFB8F4932',
    'AWS::ElastiCache::ReplicationGroup SessionCache9EEA23A0',
    'AWS::KMS::Key DataKey17AFBB84',
    // The database-roles function's log groups (added with it).
    'AWS::KMS::Key LogsKeyA6AB43B2',
    'AWS::RDS::DBCluster DatabaseCluster5B53A178',
    'AWS::RDS::GlobalCluster DatabaseGlobalCluster4A226354',
    'AWS::SecretsManager::Secret HaWebdemoDatauseast1DatabaseClusterSecret1EC2D6473fdaad7efa858a3daf9490cf0a702aeb',
    'AWS::SecretsManager::Secret SessionCacheAuthTokenA7672A42',
  ],
  'HaWeb-demo-Data-us-west-2': [
    'AWS::ElastiCache::ReplicationGroup SessionCache9EEA23A0',
    'AWS::KMS::Key DataKey17AFBB84',
    'AWS::KMS::Key LogsKeyA6AB43B2',
    'AWS::RDS::DBCluster DatabaseClusterC6094C50',
  ],
  'HaWeb-demo-App-us-east-1': [
    'AWS::AutoScaling::AutoScalingGroup ServiceWebFleetASG19606FDB',
    'AWS::KMS::Key AlertsKey9E1197AF',
    'AWS::KMS::Key LogsKeyA6AB43B2',
  ],
  'HaWeb-demo-App-us-west-2': [
    'AWS::AutoScaling::AutoScalingGroup ServiceWebFleetASG19606FDB',
    'AWS::KMS::Key AlertsKey9E1197AF',
    'AWS::KMS::Key LogsKeyA6AB43B2',
  ],
  'HaWeb-demo-Operations-us-west-2': ['AWS::KMS::Key LogsKeyA6AB43B2'],
  'HaWeb-demo-Operations-us-east-1': ['AWS::KMS::Key LogsKeyA6AB43B2'],
};

const demo = synthesized('demo');

describe('logical IDs of stateful resources', () => {
  test.each(demo.stacks.map((s) => [s.stackName, s] as const))('%s keeps its stateful logical IDs', (name, stack) => {
    const resources = stack.json.Resources as Record<string, { Type: string }>;
    const ids = Object.entries(resources)
      .filter(([, r]) => STATEFUL_TYPES.includes(r.Type))
      .map(([id, r]) => `${r.Type} ${id}`)
      .sort();
    expect(ids).toEqual(EXPECTED[name]);
  });

  test('every stack of the environment is pinned', () => {
    expect(demo.stacks.map((s) => s.stackName).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
});
