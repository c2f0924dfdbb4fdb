import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RETAINED } from '../defaults';
import { acknowledgeNag } from '../nag';

/** PostgreSQL port of both clusters. */
export const DATABASE_PORT = 5432;

/** The application database both clusters hold, where each service has its own role and schema. */
export const APP_DATABASE_NAME = 'app';

/**
 * Master user of the global database. Not `postgres` or `admin`, the defaults that AWS Control Tower
 * CT.RDS.PR.21 rejects (a guessable admin name halves the work of a password attack), and only letters and
 * digits: CreateDBCluster's MasterUsername takes "1 to 16 letters or numbers", the first a letter (Amazon RDS
 * API reference; the Aurora user guide says "alphanumeric"). Fixed here, not in the environment config,
 * because changing it after the first deploy replaces the primary cluster.
 */
export const DATABASE_ADMIN_USERNAME = 'hawebadmin';

/** Settings both halves of the global database share. */
export interface GlobalDatabaseBaseProps {
  /** VPC whose isolated subnets hold the cluster. */
  readonly vpc: ec2.IVpc;
  /** Security groups of the instances of the services that use the database: the only clients allowed to connect. */
  readonly clients: readonly ec2.ISecurityGroup[];
  /** Customer-managed key of this region that encrypts storage and Performance Insights. */
  readonly key: kms.IKey;
  /** Full Aurora PostgreSQL version, for example `16.6`. */
  readonly engineVersion: string;
  /** DB instance class, for example `db.r6g.large`. */
  readonly instanceClass: string;
  /** Days of automated backups. */
  readonly backupRetentionDays: number;
  /** Identifier of the global cluster both regions join; the same string in both regions. */
  readonly globalClusterIdentifier: string;
  /**
   * Identifier of this region's cluster; the same string in both regions (`names.ts`), so the other region,
   * the Region switch plan and the CLI find it by name.
   */
  readonly clusterIdentifier: string;
  /** Seconds between Enhanced Monitoring samples of every instance (1, 5, 10, 15, 30 or 60). */
  readonly monitoringInterval: Duration;
}

/** Properties of a {@link GlobalDatabasePrimary}. */
export interface GlobalDatabasePrimaryProps extends GlobalDatabaseBaseProps {
  /** Readers besides the writer, in other AZs. */
  readonly readers: number;
  /**
   * Name of the credentials secret. Fixed so the other region finds its replica
   * by name, with no cross-region reference.
   */
  readonly secretName: string;
  /** Region the credentials secret is replicated to (the secondary). */
  readonly secretReplicaRegion: string;
}

function engine(version: string): rds.IClusterEngine {
  return rds.DatabaseClusterEngine.auroraPostgres({
    version: rds.AuroraPostgresEngineVersion.of(version, version.split('.')[0]),
  });
}

function parameterGroup(scope: Construct, version: string): rds.ParameterGroup {
  return new rds.ParameterGroup(scope, 'ParameterGroup', {
    engine: engine(version),
    description: 'Aurora PostgreSQL cluster parameters: TLS only, slow statement logging',
    parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000' },
  });
}

function securityGroup(scope: Construct, vpc: ec2.IVpc, clients: readonly ec2.ISecurityGroup[]): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: 'Aurora PostgreSQL: reachable from the services that use it and the database-roles function only',
    allowAllOutbound: false,
  });
  for (const client of clients) {
    sg.connections.allowFrom(
      client,
      ec2.Port.tcp(DATABASE_PORT),
      'PostgreSQL from a service that uses it, or the function that makes their roles',
    );
  }
  return sg;
}

function instanceType(instanceClass: string): ec2.InstanceType {
  return new ec2.InstanceType(instanceClass.replace(/^db\./, ''));
}

/** The role RDS Enhanced Monitoring publishes OS metrics to CloudWatch Logs with. */
function enhancedMonitoringRole(scope: Construct): iam.Role {
  const role = new iam.Role(scope, 'MonitoringRole', {
    assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
    description: 'RDS Enhanced Monitoring of the Aurora instances',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonRDSEnhancedMonitoringRole')],
  });
  acknowledgeNag(
    role,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
    'AmazonRDSEnhancedMonitoringRole is the policy the RDS user guide prescribes for Enhanced Monitoring: it lets ' +
      'RDS write only to the RDSOSMetrics log group, and AWS keeps it in step with the agent.',
  );
  return role;
}

/**
 * The writer side of an Aurora PostgreSQL Global Database: the primary cluster
 * (a writer and readers spread over the AZs) and the global cluster created
 * from it. Credentials are generated into Secrets Manager and replicated to
 * the secondary region; storage is encrypted with this region's key; every
 * instance has Enhanced Monitoring; the cluster has deletion protection and is
 * snapshotted when removed.
 */
export class GlobalDatabasePrimary extends Construct {
  /** The regional cluster. */
  public readonly cluster: rds.DatabaseCluster;
  /** The global cluster the secondary joins. */
  public readonly globalCluster: rds.CfnGlobalCluster;
  /** The generated master credentials. */
  public readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: GlobalDatabasePrimaryProps) {
    super(scope, id);
    const writerAndReaders = {
      instanceType: instanceType(props.instanceClass),
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.key,
      publiclyAccessible: false,
    };
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: engine(props.engineVersion),
      clusterIdentifier: props.clusterIdentifier,
      parameterGroup: parameterGroup(this, props.engineVersion),
      monitoringInterval: props.monitoringInterval,
      monitoringRole: enhancedMonitoringRole(this),
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_ADMIN_USERNAME, {
        secretName: props.secretName,
        encryptionKey: props.key,
        replicaRegions: [{ region: props.secretReplicaRegion }],
      }),
      writer: rds.ClusterInstance.provisioned('Writer', writerAndReaders),
      readers: Array.from({ length: props.readers }, (_, i) =>
        rds.ClusterInstance.provisioned(`Reader${i + 1}`, { ...writerAndReaders, promotionTier: 1 }),
      ),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup(this, props.vpc, props.clients)],
      port: DATABASE_PORT,
      defaultDatabaseName: APP_DATABASE_NAME,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      iamAuthentication: true,
      deletionProtection: true,
      copyTagsToSnapshot: true,
      backup: { retention: Duration.days(props.backupRetentionDays), preferredWindow: '03:00-04:00' },
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      cloudwatchLogsExports: ['postgresql'],
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.secret = this.cluster.secret!;
    const generatedSecret = this.cluster.node.findChild('Secret') as secretsmanager.Secret;
    // Keep the credentials with the snapshot the cluster leaves behind on delete.
    generatedSecret.applyRemovalPolicy(RETAINED);
    acknowledgeNag(
      generatedSecret,
      'AwsSolutions-SMG4',
      'The administrator secret is read only by the database-roles custom resource, at deploy; the services sign ' +
        'in as their own roles with IAM database authentication (15-minute tokens, nothing to rotate). Rotating ' +
        'this one would need a rotation function with network access to the writer, which after a region switch ' +
        'is in the other region.',
    );

    this.globalCluster = new rds.CfnGlobalCluster(this, 'GlobalCluster', {
      globalClusterIdentifier: props.globalClusterIdentifier,
      sourceDbClusterIdentifier: this.cluster.clusterIdentifier,
      deletionProtection: true,
    });
    // Deleting the global cluster while a region still belongs to it fails, and
    // losing it would drop the secondary's replication: keep it on stack delete.
    this.globalCluster.applyRemovalPolicy(RETAINED);
  }
}

/** Properties of a {@link GlobalDatabaseSecondary}. */
export interface GlobalDatabaseSecondaryProps extends GlobalDatabaseBaseProps {
  /** Reader instances of the secondary cluster (all are readers until promotion). */
  readonly instances: number;
}

/**
 * The read-only side of the Aurora Global Database: a cluster in the secondary
 * region that joins the global cluster by its identifier, encrypted with this
 * region's key. It inherits credentials and data from the primary, so it has
 * no master user of its own. Written with the L1 resources because the L2
 * cluster always sets a master user, which a secondary must not have.
 */
export class GlobalDatabaseSecondary extends Construct {
  /** The regional cluster. */
  public readonly cluster: rds.CfnDBCluster;
  /** Instances of the cluster. */
  public readonly instances: rds.CfnDBInstance[];
  /** Security group of the cluster. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: GlobalDatabaseSecondaryProps) {
    super(scope, id);
    if (props.instances < 1) {
      throw new Error(`${this.node.path}: instances must be at least 1 (got ${props.instances}).`);
    }
    this.securityGroup = securityGroup(this, props.vpc, props.clients);
    const subnets = new rds.SubnetGroup(this, 'Subnets', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      description: 'Isolated subnets of the secondary Aurora cluster',
      removalPolicy: RETAINED,
    });
    const params = parameterGroup(this, props.engineVersion);
    const bound = params.bindToCluster({});

    this.cluster = new rds.CfnDBCluster(this, 'Cluster', {
      dbClusterIdentifier: props.clusterIdentifier,
      engine: 'aurora-postgresql',
      engineVersion: props.engineVersion,
      globalClusterIdentifier: props.globalClusterIdentifier,
      dbSubnetGroupName: subnets.subnetGroupName,
      vpcSecurityGroupIds: [this.securityGroup.securityGroupId],
      dbClusterParameterGroupName: bound.parameterGroupName,
      port: DATABASE_PORT,
      storageEncrypted: true,
      kmsKeyId: props.key.keyArn,
      enableIamDatabaseAuthentication: true,
      deletionProtection: true,
      copyTagsToSnapshot: true,
      backupRetentionPeriod: props.backupRetentionDays,
      preferredBackupWindow: '03:00-04:00',
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      enableCloudwatchLogsExports: ['postgresql'],
    });
    this.cluster.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);

    const monitoringRole = enhancedMonitoringRole(this);
    this.instances = Array.from({ length: props.instances }, (_, i) => {
      const instance = new rds.CfnDBInstance(this, `Instance${i + 1}`, {
        dbClusterIdentifier: this.cluster.ref,
        dbInstanceClass: props.instanceClass,
        engine: 'aurora-postgresql',
        publiclyAccessible: false,
        enablePerformanceInsights: true,
        performanceInsightsKmsKeyId: props.key.keyArn,
        monitoringInterval: props.monitoringInterval.toSeconds(),
        monitoringRoleArn: monitoringRole.roleArn,
        promotionTier: 1,
      });
      instance.applyRemovalPolicy(RemovalPolicy.DESTROY);
      return instance;
    });
  }

  /** Hostname of the cluster endpoint (the writer once promoted). */
  public get endpointAddress(): string {
    return this.cluster.attrEndpointAddress;
  }

  /** Hostname of the reader endpoint. */
  public get readEndpointAddress(): string {
    return this.cluster.attrReadEndpointAddress;
  }
}
