import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { createKey, RETAINED } from '../defaults';

/** A file system in another region that this one replicates to. */
export interface ReplicationTarget {
  /** Region of the destination file system. */
  readonly region: string;
  /** ID of the destination file system (read from the other region: see `crossRegionId`). */
  readonly fileSystemId: string;
}

/** Properties of a {@link SharedFileSystem}. */
export interface SharedFileSystemProps {
  /** VPC whose private subnets get a mount target each. */
  readonly vpc: ec2.IVpc;
  /** Security groups of the instances of the services that mount the file system: the only NFS clients allowed. */
  readonly clients: readonly ec2.ISecurityGroup[];
  /**
   * File system in the other region that this one replicates to.
   * @default - no replication from this file system
   */
  readonly replicateTo?: ReplicationTarget;
  /**
   * Whether this file system is the destination of another region's
   * replication. A destination turns replication overwrite protection off, as
   * EFS requires, and becomes read-only once replication starts.
   * @default false
   */
  readonly replicationDestination?: boolean;
}

/**
 * The service's shared directory: an encrypted EFS file system (customer
 * managed KMS key) with a mount target in every private subnet, NFS open only
 * to the instances, TLS required, automatic backups, retained on delete (and
 * deleted when a failed first create rolls back, see `RETAINED`).
 */
export class SharedFileSystem extends Construct {
  /** The file system. */
  public readonly fileSystem: efs.FileSystem;
  /** Customer-managed key that encrypts it. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: SharedFileSystemProps) {
    super(scope, id);
    if (props.replicateTo && props.replicationDestination) {
      throw new Error(
        `${this.node.path}: a file system cannot both replicate (replicateTo) and be a replication destination ` +
          '(replicationDestination); set only one.',
      );
    }
    this.key = createKey(this, 'Key', { description: 'Encrypts the shared EFS file system' });
    this.fileSystem = new efs.FileSystem(this, 'Resource', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      encrypted: true,
      kmsKey: this.key,
      enableAutomaticBackups: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      outOfInfrequentAccessPolicy: efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
      removalPolicy: RETAINED,
      allowAnonymousAccess: false,
      replicationOverwriteProtection: props.replicationDestination
        ? efs.ReplicationOverwriteProtection.DISABLED
        : efs.ReplicationOverwriteProtection.ENABLED,
    });
    if (props.replicateTo) {
      // The L1 property: the L2's existingFileSystem() takes the destination's region from the construct's
      // stack, and the destination here is an ID read from the other region, not a construct.
      (this.fileSystem.node.defaultChild as efs.CfnFileSystem).replicationConfiguration = {
        destinations: [{ fileSystemId: props.replicateTo.fileSystemId, region: props.replicateTo.region }],
      };
    }
    for (const client of props.clients) {
      this.fileSystem.connections.allowDefaultPortFrom(client, 'NFS from the instances of a service that uses it');
    }
    this.fileSystem.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyWithoutTls',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['*'],
        conditions: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  }
}
