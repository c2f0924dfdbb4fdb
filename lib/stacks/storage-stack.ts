import { CfnOutput } from 'aws-cdk-lib';
import * as efs from 'aws-cdk-lib/aws-efs';
import { Construct } from 'constructs';
import { SharedFileSystem, SharedFileSystemProps } from '../constructs/shared-file-system';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { STORAGE_OUTPUTS } from '../stack-outputs';

/** Properties of a {@link StorageStack}: the region's, and those of its {@link SharedFileSystem}. */
export interface StorageStackProps extends RegionalStackProps, SharedFileSystemProps {}

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
