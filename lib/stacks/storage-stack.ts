import { CfnOutput } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import { Construct } from 'constructs';
import { ReplicationTarget, SharedFileSystem } from '../constructs/shared-file-system';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { STORAGE_OUTPUTS } from '../stack-outputs';

/** Properties of a {@link StorageStack}. */
export interface StorageStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Security groups of the instances of the services that use shared files. */
  readonly clients: readonly ec2.ISecurityGroup[];
  /**
   * The other region's file system to replicate to (primary region only).
   * @default - no replication from here
   */
  readonly replicateTo?: ReplicationTarget;
  /**
   * Whether this region's file system receives the other region's replication.
   * @default false
   */
  readonly replicationDestination?: boolean;
}

/**
 * Shared files of one region: the EFS file system and its key. A stack of its
 * own because the primary's replication needs the secondary's file system ID:
 * the secondary's storage stack deploys first, the primary's after it.
 */
export class StorageStack extends RegionalStack {
  /** The file system. */
  public readonly fileSystem: efs.FileSystem;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    this.fileSystem = new SharedFileSystem(this, 'SharedFiles', {
      vpc: props.vpc,
      clients: props.clients,
      replicateTo: props.replicateTo,
      replicationDestination: props.replicationDestination,
    }).fileSystem;
    // Read by the operator CLI's `status`.
    new CfnOutput(this, STORAGE_OUTPUTS.fileSystemId, { value: this.fileSystem.fileSystemId });
  }
}
