import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config';
import { GlobalDatabasePrimary, GlobalDatabaseSecondary } from '../constructs/global-database';
import { SessionCache } from '../constructs/session-cache';
import { createKey } from '../defaults';
import { PhysicalNames } from '../names';
import { RecordedFacts } from '../recorded';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { DATA_OUTPUTS } from '../stack-outputs';

/** Properties of a {@link DataStack}. */
export interface DataStackProps extends RegionalStackProps {
  /** `primary` creates the global resources (the first writers); `secondary` joins them. Creation-time roles. */
  readonly role: 'primary' | 'secondary';
  /** The environment. */
  readonly config: EnvironmentConfig;
  /** Fixed names shared by both regions. */
  readonly names: PhysicalNames;
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Security group of the web instances, the only clients admitted. */
  readonly webSecurityGroup: ec2.ISecurityGroup;
  /**
   * ID of the primary's Global Datastore: the recorded literal, or a weak reference to the primary's data stack
   * (`crossRegionId`, see `cross-region.ts`). Required when `role` is `secondary`.
   * @default - none (primary)
   */
  readonly globalDatastoreId?: string;
  /**
   * Facts recorded after the first deploy (`lib/recorded.ts`): the cache members' creation values.
   * @default - none recorded
   */
  readonly recorded?: RecordedFacts;
}

/**
 * Data tier of one region: the region's customer-managed key, its Aurora
 * cluster of the Global Database and its member of the session cache's Global
 * Datastore. The secondary's deploys after the primary's, whose global
 * cluster and Global Datastore it joins.
 */
export class DataStack extends RegionalStack {
  /** Customer-managed key of the region's data stores. */
  public readonly key: kms.Key;
  /** Hostname of the region's cluster endpoint. */
  public readonly databaseEndpoint: string;
  /** Hostname of the region's reader endpoint. */
  public readonly databaseReadEndpoint: string;
  /** The database credentials as seen from this region (the replica in the secondary). */
  public readonly databaseSecret: secretsmanager.ISecret;
  /** Hostname of the cache's primary endpoint. */
  public readonly cacheEndpoint: string;
  /** The cache AUTH token as seen from this region. */
  public readonly cacheAuthSecret: secretsmanager.ISecret;
  /** The session cache. */
  public readonly cache: SessionCache;
  /** The writer side of the database (primary only). */
  public readonly primaryDatabase?: GlobalDatabasePrimary;
  /** The reader side of the database (secondary only). */
  public readonly secondaryDatabase?: GlobalDatabaseSecondary;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config, names } = props;
    const regionConfig = props.role === 'primary' ? config.primary : config.secondary;

    this.key = createKey(this, 'DataKey', {
      description: 'Encrypts the Aurora cluster, the session cache and their secrets in this region',
    });

    const dbBase = {
      vpc: props.vpc,
      clients: props.webSecurityGroup,
      key: this.key,
      engineVersion: config.database.engineVersion,
      instanceClass: config.database.instanceClass,
      backupRetentionDays: config.database.backupRetentionDays,
      globalClusterIdentifier: names.globalClusterIdentifier,
      clusterIdentifier: names.databaseClusterIdentifier,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
    };
    if (props.role === 'primary') {
      this.primaryDatabase = new GlobalDatabasePrimary(this, 'Database', {
        ...dbBase,
        readers: regionConfig.databaseReaders,
        secretName: names.databaseSecretName,
        secretReplicaRegion: config.secondary.region,
      });
      this.databaseEndpoint = this.primaryDatabase.cluster.clusterEndpoint.hostname;
      this.databaseReadEndpoint = this.primaryDatabase.cluster.clusterReadEndpoint.hostname;
      this.databaseSecret = this.primaryDatabase.secret;
    } else {
      this.secondaryDatabase = new GlobalDatabaseSecondary(this, 'Database', {
        ...dbBase,
        instances: regionConfig.databaseReaders,
      });
      this.databaseEndpoint = this.secondaryDatabase.endpointAddress;
      this.databaseReadEndpoint = this.secondaryDatabase.readEndpointAddress;
      this.databaseSecret = secretsmanager.Secret.fromSecretNameV2(
        this,
        'DatabaseSecretReplica',
        names.databaseSecretName,
      );
    }

    const cacheBase = {
      vpc: props.vpc,
      clients: props.webSecurityGroup,
      key: this.key,
      replicas: config.cache.replicasPerRegion,
      authSecretName: names.cacheAuthSecretName,
      replicationGroupId: names.cacheReplicationGroupId,
    };
    if (props.role === 'primary') {
      this.cache = new SessionCache(this, 'SessionCache', {
        ...cacheBase,
        role: 'primary',
        engineVersion: config.cache.engineVersion,
        nodeType: config.cache.nodeType,
        createdWith: props.recorded?.cacheMembers,
        secondaryRegion: config.secondary.region,
        globalDatastoreSuffix: names.globalDatastoreSuffix,
      });
    } else {
      if (!props.globalDatastoreId) {
        throw new Error(
          `${this.node.path}: a secondary DataStack needs globalDatastoreId (the primary's Global Datastore).`,
        );
      }
      this.cache = new SessionCache(this, 'SessionCache', {
        ...cacheBase,
        role: 'secondary',
        globalDatastoreId: props.globalDatastoreId,
      });
    }
    if (this.cache.globalDatastore) {
      // Read by `npm run region -- record-ids` (lib/recorded.ts).
      new CfnOutput(this, DATA_OUTPUTS.globalDatastoreId, {
        value: this.cache.globalDatastore.attrGlobalReplicationGroupId,
        description: 'The Global Datastore both regions belong to',
      });
    }
    this.cacheEndpoint = this.cache.primaryEndpointAddress;
    this.cacheAuthSecret = this.cache.authSecret;
  }
}
