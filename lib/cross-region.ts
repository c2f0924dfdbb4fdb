import { ReferenceStrength, Stack } from 'aws-cdk-lib';

/**
 * The values that may be read from the other region: immutable IDs of retained resources. Each is read with
 * a weak reference (`Fn::GetStackOutput`, resolved when the reading stack deploys), which is safe only
 * because the value cannot change while the resource exists and the resource outlives its stack.
 * `test/compliance/cross-region.test.ts` fails on any cross-region reference to anything else.
 */
export const CROSS_REGION_IDS = {
  /**
   * `AWS::EFS::FileSystem` `Ref`: a file system ID never changes, and the file system is retained
   * (`RetainExceptOnCreate`) with a pinned logical ID. Read by the primary's replication configuration and
   * by the alarms, dashboards and switch functions that watch or flip the replication.
   */
  fileSystemId: 'AWS::EFS::FileSystem Ref',
  /**
   * `AWS::ElastiCache::GlobalReplicationGroup` `GlobalReplicationGroupId`: fixed suffix plus the prefix AWS
   * assigns at creation; the Global Datastore is retained with a pinned logical ID. Read by the secondary's
   * member, which joins it, and by the switch functions.
   */
  globalDatastoreId: 'AWS::ElastiCache::GlobalReplicationGroup GlobalReplicationGroupId',
} as const;

/** One of {@link CROSS_REGION_IDS}. */
export type CrossRegionIdKind = keyof typeof CROSS_REGION_IDS;

/**
 * Reads `value`, an ID produced by a stack of the other region, as a weak reference. `kind` names the entry of
 * {@link CROSS_REGION_IDS} that allows it, so the reason sits at the call site too.
 */
export function crossRegionId(value: string, kind: CrossRegionIdKind): string {
  void kind;
  return Stack.consumeReference(value, ReferenceStrength.WEAK);
}
