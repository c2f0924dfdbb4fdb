/**
 * Differences between two CloudFormation templates of one stack, and which of them would replace or remove a
 * stateful resource. Used by the operator CLI's `check-deploy` (deployed against synthesized templates) and by
 * the tests that compare two syntheses (test/support/stack-diff.ts). No aws-cdk-lib import.
 */
import { isDeepStrictEqual } from 'node:util';

/** A CloudFormation resource as synthesized. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly [attribute: string]: unknown;
}

/** A synthesized CloudFormation template. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
  readonly [section: string]: unknown;
}

/** A resource by logical ID and type. */
export interface ResourceRef {
  readonly logicalId: string;
  readonly type: string;
}

/** A resource present in both templates, under the same logical ID and type, that differs. */
export interface ModifiedResource extends ResourceRef {
  /** Top-level keys of `Properties` that differ (added, removed or changed), sorted. */
  readonly properties: string[];
  /** Resource attributes that differ (`DeletionPolicy`, `UpdateReplacePolicy`, `DependsOn`, `Metadata`, ...), sorted. */
  readonly attributes: string[];
}

/** Names of the outputs that differ. */
export interface OutputsDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly modified: string[];
}

/** How one stack's template changes. */
export interface StackDiff {
  readonly stack: string;
  /** New logical IDs (a changed type at the same logical ID counts as removed and added: CloudFormation replaces). */
  readonly added: ResourceRef[];
  /** Logical IDs gone. */
  readonly removed: ResourceRef[];
  /** Resources whose properties or attributes (other than `Metadata` alone) differ. */
  readonly modified: ModifiedResource[];
  /** Resources whose `Metadata` alone differs (CloudFormation updates nothing for these). */
  readonly metadataOnly: ResourceRef[];
  readonly outputs: OutputsDiff;
  /** Other top-level sections that differ (`Parameters`, `Conditions`, `Mappings`, `Rules`, `Description`, ...). */
  readonly sections: string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byLogicalId = (a: ResourceRef, b: ResourceRef) => byName(a.logicalId, b.logicalId);

/** The keys whose values differ between two records (present in one only, or different), sorted. */
function changedKeys(before: Record<string, unknown> = {}, after: Record<string, unknown> = {}): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => !isDeepStrictEqual(normalize(key, before[key]), normalize(key, after[key])))
    .sort(byName);
}

/** A copy of `record` without `keys`. */
function without(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

/** `DependsOn` as CloudFormation reads it: a string or a list, in any order. */
function normalize(key: string, value: unknown): unknown {
  if (key !== 'DependsOn' || value === undefined) return value;
  return (Array.isArray(value) ? [...value] : [value]).sort();
}

/** How `after` differs from `before`, for the stack named `stack`. */
export function diffTemplates(stack: string, before: CfnTemplate, after: CfnTemplate): StackDiff {
  const oldResources = before.Resources ?? {};
  const newResources = after.Resources ?? {};
  const added: ResourceRef[] = [];
  const removed: ResourceRef[] = [];
  const modified: ModifiedResource[] = [];
  const metadataOnly: ResourceRef[] = [];
  for (const [logicalId, old] of Object.entries(oldResources)) {
    const next = newResources[logicalId];
    if (!next || next.Type !== old.Type) {
      removed.push({ logicalId, type: old.Type });
      if (next) added.push({ logicalId, type: next.Type });
      continue;
    }
    const properties = changedKeys(old.Properties, next.Properties);
    const attributes = changedKeys(without(old, ['Type', 'Properties']), without(next, ['Type', 'Properties']));
    if (properties.length === 0 && attributes.length === 1 && attributes[0] === 'Metadata') {
      metadataOnly.push({ logicalId, type: old.Type });
    } else if (properties.length > 0 || attributes.length > 0) {
      modified.push({ logicalId, type: old.Type, properties, attributes });
    }
  }
  for (const [logicalId, next] of Object.entries(newResources)) {
    if (!oldResources[logicalId]) added.push({ logicalId, type: next.Type });
  }

  const oldOutputs = before.Outputs ?? {};
  const newOutputs = after.Outputs ?? {};
  const outputs: OutputsDiff = {
    added: Object.keys(newOutputs)
      .filter((k) => !(k in oldOutputs))
      .sort(byName),
    removed: Object.keys(oldOutputs)
      .filter((k) => !(k in newOutputs))
      .sort(byName),
    modified: Object.keys(oldOutputs)
      .filter((k) => k in newOutputs && !isDeepStrictEqual(oldOutputs[k], newOutputs[k]))
      .sort(byName),
  };

  return {
    stack,
    added: added.sort(byLogicalId),
    removed: removed.sort(byLogicalId),
    modified: modified.sort(byLogicalId),
    metadataOnly: metadataOnly.sort(byLogicalId),
    outputs,
    sections: changedKeys(without(before, ['Resources', 'Outputs']), without(after, ['Resources', 'Outputs'])),
  };
}

/**
 * The paths at which two JSON values differ, for a closer look at a modified resource: object keys joined by
 * `.`, array items as `[i]` (arrays of different lengths differ as a whole), sorted. Empty when equal.
 */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => changedPaths(item, after[i], `${at}[${i}]`));
  }
  if (isObject(before) && isObject(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .sort(byName)
      .flatMap((key) => changedPaths(before[key], after[key], at ? `${at}.${key}` : key));
  }
  return [at];
}

/** Whether a stack diff holds no change at all. */
export function isEmptyDiff(diff: StackDiff): boolean {
  return (
    diff.added.length + diff.removed.length + diff.modified.length + diff.metadataOnly.length === 0 &&
    diff.outputs.added.length + diff.outputs.removed.length + diff.outputs.modified.length === 0 &&
    diff.sections.length === 0
  );
}

/** The properties of a stateful resource type whose change makes CloudFormation replace the resource. */
export interface ReplacementProperties {
  /** `createOnlyProperties`: a change always replaces. */
  readonly createOnly: readonly string[];
  /** `conditionalCreateOnlyProperties`: a change replaces in some cases (engine, restore, membership, ...). */
  readonly conditionalCreateOnly: readonly string[];
}

/**
 * The replacement-causing properties of every stateful resource type these templates hold, as top-level
 * property names (a schema path `/properties/X` is property `X`).
 *
 * Copied from the CloudFormation resource provider schemas that cfn-lint 1.51.0 bundles (the CI's cfn-lint,
 * scripts/lint-templates.ts): `cfnlint/data/schemas/resources/<file>.json`, where `<file>` is the type's entry
 * in `cfnlint/data/schemas/providers/us_east_1.py` (named per type below; eu-west-1, eu-central-1 and us-west-2
 * use the same files, but for eu-central-1's GlobalReplicationGroup, whose file differs only in its `tagging`
 * section). Kept here rather than read at test time because cfn-lint is a Python package that `npm test` does
 * not need (only `npm run lint:templates` runs it, after `pip install cfn-lint`); test/stack-diff.test.ts checks
 * this table against the installed cfn-lint's schemas when there is one.
 *
 * The schemas of AWS::KMS::Key and AWS::ElastiCache::GlobalReplicationGroup list no create-only property: only
 * their removal (or a changed logical ID) counts for them.
 */
export const STATEFUL_REPLACEMENT_PROPERTIES: Readonly<Record<string, ReplacementProperties>> = {
  // 5e117b7fe69ccef8.json
  'AWS::RDS::DBCluster': {
    createOnly: [
      'AvailabilityZones',
      'ClusterScalabilityType',
      'DBClusterIdentifier',
      'DBSubnetGroupName',
      'DBSystemId',
      'DatabaseName',
      'EngineMode',
      'KmsKeyId',
      'PubliclyAccessible',
      'RestoreToTime',
      'RestoreType',
      'SnapshotIdentifier',
      'SourceDBClusterIdentifier',
      'SourceDbClusterResourceId',
      'SourceRegion',
      'StorageEncrypted',
      'UseLatestRestorableTime',
    ],
    conditionalCreateOnly: ['Engine', 'GlobalClusterIdentifier', 'MasterUsername'],
  },
  // 15538af4493bb54a.json
  'AWS::RDS::DBInstance': {
    createOnly: [
      'BackupTarget',
      'CharacterSetName',
      'CustomIAMInstanceProfile',
      'DBClusterIdentifier',
      'DBInstanceIdentifier',
      'DBName',
      'DBSubnetGroupName',
      'DBSystemId',
      'KmsKeyId',
      'MasterUsername',
      'NcharCharacterSetName',
      'SourceRegion',
      'StorageEncrypted',
      'Timezone',
    ],
    conditionalCreateOnly: [
      'AutoMinorVersionUpgrade',
      'AvailabilityZone',
      'BackupRetentionPeriod',
      'DBClusterSnapshotIdentifier',
      'DBParameterGroupName',
      'DBSnapshotIdentifier',
      'Engine',
      'MultiAZ',
      'PerformanceInsightsKMSKeyId',
      'PreferredMaintenanceWindow',
      'RestoreTime',
      'SourceDBClusterIdentifier',
      'SourceDBInstanceAutomatedBackupsArn',
      'SourceDBInstanceIdentifier',
      'SourceDbiResourceId',
      'StorageType',
      'UseLatestRestorableTime',
    ],
  },
  // a87d030f06c19d47.json
  'AWS::RDS::GlobalCluster': {
    createOnly: ['GlobalClusterIdentifier', 'SourceDBClusterIdentifier', 'StorageEncrypted', 'Engine'],
    conditionalCreateOnly: [],
  },
  // 71d523a764055ea7.json
  'AWS::ElastiCache::ReplicationGroup': {
    createOnly: [
      'AtRestEncryptionEnabled',
      'CacheSubnetGroupName',
      'DataTieringEnabled',
      'GlobalReplicationGroupId',
      'KmsKeyId',
      'NetworkType',
      'Port',
      'PreferredCacheClusterAZs',
      'ReplicasPerNodeGroup',
      'ReplicationGroupId',
      'SnapshotArns',
      'SnapshotName',
    ],
    conditionalCreateOnly: ['AuthToken', 'NodeGroupConfiguration'],
  },
  // 2af3062bf5b2cf7f.json (eu-central-1: 29fd7ea65acf9fb8.json)
  'AWS::ElastiCache::GlobalReplicationGroup': { createOnly: [], conditionalCreateOnly: [] },
  // 382cbaa77c85c1f5.json
  'AWS::EFS::FileSystem': {
    createOnly: ['AvailabilityZoneName', 'Encrypted', 'KmsKeyId', 'PerformanceMode'],
    conditionalCreateOnly: [],
  },
  // 2b447c471bc70388.json
  'AWS::KMS::Key': { createOnly: [], conditionalCreateOnly: [] },
  // c85175a4ebcce361.json
  'AWS::SecretsManager::Secret': { createOnly: ['Name'], conditionalCreateOnly: [] },
  // 48d4aec56c00d69f.json
  'AWS::S3::Bucket': { createOnly: ['BucketName', 'BucketNamePrefix', 'BucketNamespace'], conditionalCreateOnly: [] },
  // c0ece63f58ef831f.json
  'AWS::Logs::LogGroup': { createOnly: ['LogGroupName'], conditionalCreateOnly: [] },
  // 4a2ab41cbcc2adb8.json
  'AWS::RDS::DBSubnetGroup': { createOnly: ['DBSubnetGroupName'], conditionalCreateOnly: [] },
  // b331f1d336ff42bf.json
  'AWS::ElastiCache::SubnetGroup': { createOnly: ['CacheSubnetGroupName'], conditionalCreateOnly: [] },
};

/** Whether resources of `type` hold data (or guard it) and must never be replaced by an update. */
export function isStateful(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(STATEFUL_REPLACEMENT_PROPERTIES, type);
}

/** What could replace, remove or unprotect a stateful resource. */
export interface StatefulRisk extends ResourceRef {
  /** The stack. */
  readonly stack: string;
  /**
   * `removed`: the logical ID is gone (or changed type, or its stack is gone); `create-only`: a create-only
   * property changed (CloudFormation replaces); `conditional-create-only`: a conditionally create-only one
   * changed (replaces in some cases); `retention`: `DeletionPolicy` or `UpdateReplacePolicy` changed.
   */
  readonly kind: 'removed' | 'create-only' | 'conditional-create-only' | 'retention';
  /** The properties or attributes concerned (none for `removed`). */
  readonly keys: string[];
}

/** Every change of one stack's diff that could replace, remove or unprotect a stateful resource. */
export function stackStatefulRisks(diff: StackDiff): StatefulRisk[] {
  const risks: StatefulRisk[] = [];
  for (const r of diff.removed.filter((x) => isStateful(x.type))) {
    risks.push({ stack: diff.stack, logicalId: r.logicalId, type: r.type, kind: 'removed', keys: [] });
  }
  for (const m of diff.modified.filter((x) => isStateful(x.type))) {
    const table = STATEFUL_REPLACEMENT_PROPERTIES[m.type]!;
    const add = (kind: StatefulRisk['kind'], keys: string[]) => {
      if (keys.length > 0) risks.push({ stack: diff.stack, logicalId: m.logicalId, type: m.type, kind, keys });
    };
    add(
      'create-only',
      m.properties.filter((p) => table.createOnly.includes(p)),
    );
    add(
      'conditional-create-only',
      m.properties.filter((p) => table.conditionalCreateOnly.includes(p)),
    );
    add(
      'retention',
      m.attributes.filter((a) => a === 'DeletionPolicy' || a === 'UpdateReplacePolicy'),
    );
  }
  return risks;
}
