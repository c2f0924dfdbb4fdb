import { Fn, Stack } from 'aws-cdk-lib';

/**
 * The values that may be read from the other region: immutable IDs of retained resources. Each is recorded
 * once in `cdk.context.json` after the first deploy, or read with `Fn::GetStackOutput` (resolved when the
 * reading stack deploys) until then; either is safe only
 * because the value cannot change while the resource exists, the resource outlives its stack, and no change of
 * the app replaces it. `test/compliance/deploy-safety.test.ts` (item 4) fails on any cross-region reference to
 * anything else, and on any change of a property that would replace a resource whose ID crosses.
 */
export const CROSS_REGION_IDS = {
  /**
   * `AWS::EFS::FileSystem` `Ref`: a file system ID never changes, and the file system is retained
   * (`RetainExceptOnCreate`) with a pinned logical ID. A file system has no name, so what keeps CloudFormation
   * from replacing it (and giving it a new ID) is that its create-only properties (`AvailabilityZoneName`,
   * `Encrypted`, `KmsKeyId`, `PerformanceMode`: the resource schema's `createOnlyProperties`) are pinned by
   * test, the key's logical ID with them. Read by the primary's replication configuration and by the switch
   * functions that flip the replication (the alarms and dashboards watch each region's own file system).
   */
  fileSystemId: 'AWS::EFS::FileSystem Ref',
  /**
   * `AWS::ElastiCache::GlobalReplicationGroup` `GlobalReplicationGroupId`: fixed suffix plus the prefix AWS
   * assigns at creation; the Global Datastore is retained with a pinned logical ID and its suffix is pinned by
   * test (the resource schema lists no create-only property). Read by the secondary's
   * member, which joins it, and by the switch functions.
   */
  globalDatastoreId: 'AWS::ElastiCache::GlobalReplicationGroup GlobalReplicationGroupId',
} as const;

/** One of {@link CROSS_REGION_IDS}. */
export type CrossRegionIdKind = keyof typeof CROSS_REGION_IDS;

/** An output of a stack of the other region that holds one of {@link CROSS_REGION_IDS}. */
export interface CrossRegionOutput {
  /** The producing stack. */
  readonly stack: Stack;
  /**
   * Name of its explicit output (`lib/stack-outputs.ts`): a name that stays while the stack exists, unlike the
   * outputs aws-cdk-lib generates for a weak reference, which vanish once nothing reads them (then a deployed
   * template's read could no longer be resolved, for example by `check-deploy`).
   */
  readonly outputName: string;
}

/**
 * An ID produced by a stack of the other region. `kind` names the entry of {@link CROSS_REGION_IDS} that allows
 * it, so the reason sits at the call site too.
 *
 * With `recorded` (the same ID, recorded once in `cdk.context.json`: see `recorded.ts`) the template holds that
 * literal and nothing is read from the other region when the stack deploys, so it deploys while the other region
 * is unreachable. Without it, `Fn::GetStackOutput` of the producer's output, resolved at deploy (the first
 * deploy, when both regions are up); the caller then makes the reading stack depend on the producer.
 */
export function crossRegionId(source: CrossRegionOutput, kind: CrossRegionIdKind, recorded?: string): string {
  void kind;
  return recorded ?? Fn.getStackOutput(source.stack.stackName, source.outputName, source.stack.region);
}
