import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { DataComponent, databaseRoles, EnvironmentConfig, hasDataComponent } from '../config';
import { DatabaseRoles } from '../constructs/database-roles';
import {
  APP_DATABASE_NAME,
  DATABASE_PORT,
  GlobalDatabasePrimary,
  GlobalDatabaseSecondary,
} from '../constructs/global-database';
import { SessionCache } from '../constructs/session-cache';
import { createKey } from '../defaults';
import { PhysicalNames } from '../names';
import { RecordedFacts } from '../recorded';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { DATA_OUTPUTS } from '../stack-outputs';

/** A region's Aurora cluster as the other stacks see it. */
export interface RegionDatabase {
  /** Hostname of the cluster endpoint. */
  readonly endpoint: string;
  /** Hostname of the reader endpoint. */
  readonly readEndpoint: string;
  /**
   * The cluster's resource ID (`cluster-...`), which IAM database authentication policies name
   * (`arn:aws:rds-db:<region>:<account>:dbuser:<resource ID>/<user>`).
   */
  readonly clusterResourceId: string;
  /** The application database. */
  readonly name: string;
  /** The administrator's credentials as seen from this region (the replica in the secondary); the roles function's. */
  readonly secret: secretsmanager.ISecret;
  /** The services' database roles, made (or, on the read-only cluster, verified) at deploy. */
  readonly roles: DatabaseRoles;
  /** The writer side (the primary region's). */
  readonly primary?: GlobalDatabasePrimary;
  /** The reader side (the secondary region's). */
  readonly secondary?: GlobalDatabaseSecondary;
}

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
  /**
   * Security groups of the instances of the services that use each component, the only clients each admits
   * (`database`, `sessionCache`).
   */
  readonly clients: Readonly<Partial<Record<DataComponent, readonly ec2.ISecurityGroup[]>>>;
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
 * Datastore, each only when a service of the environment uses it. The secondary's deploys after the primary's, whose global
 * cluster and Global Datastore it joins.
 */
export class DataStack extends RegionalStack {
  /** Customer-managed key of the region's data stores. */
  public readonly key: kms.Key;
  /** The region's Aurora cluster of the Global Database, when a service uses the database. */
  public readonly database?: RegionDatabase;
  /** The session cache, when a service uses it. */
  public readonly cache?: SessionCache;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.key = createKey(this, 'DataKey', {
      description: 'Encrypts the Aurora cluster, the session cache and their secrets in this region',
    });
    this.database = hasDataComponent(config, 'database') ? this.createDatabase(props) : undefined;
    this.cache = hasDataComponent(config, 'sessionCache') ? this.createCache(props) : undefined;
  }

  private createDatabase(props: DataStackProps): RegionDatabase {
    const { config, names } = props;
    const regionConfig = props.role === 'primary' ? config.primary : config.secondary;

    // The roles function's, made first so that the cluster admits it.
    const rolesSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseRolesSecurityGroup', {
      vpc: props.vpc,
      description: 'The function that makes the database roles of the services at deploy',
      allowAllOutbound: false,
    });
    const dbBase = {
      vpc: props.vpc,
      clients: [...(props.clients.database ?? []), rolesSecurityGroup],
      key: this.key,
      engineVersion: config.database.engineVersion,
      instanceClass: config.database.instanceClass,
      backupRetentionDays: config.database.backupRetentionDays,
      globalClusterIdentifier: names.globalClusterIdentifier,
      clusterIdentifier: names.databaseClusterIdentifier,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
    };
    if (props.role === 'primary') {
      const primary = new GlobalDatabasePrimary(this, 'Database', {
        ...dbBase,
        readers: regionConfig.databaseReaders,
        secretName: names.databaseSecretName,
        secretReplicaRegion: config.secondary.region,
      });
      const writer = primary.cluster.node.findChild('Writer');
      return this.withRoles(props, rolesSecurityGroup, [primary.cluster.node.defaultChild!, writer], {
        primary,
        endpoint: primary.cluster.clusterEndpoint.hostname,
        readEndpoint: primary.cluster.clusterReadEndpoint.hostname,
        clusterResourceId: primary.cluster.clusterResourceIdentifier,
        name: APP_DATABASE_NAME,
        secret: primary.secret,
      });
    }
    const secondary = new GlobalDatabaseSecondary(this, 'Database', {
      ...dbBase,
      instances: regionConfig.databaseReaders,
    });
    return this.withRoles(props, rolesSecurityGroup, [secondary.cluster, secondary.instances[0]!], {
      secondary,
      endpoint: secondary.endpointAddress,
      readEndpoint: secondary.readEndpointAddress,
      clusterResourceId: secondary.cluster.attrDbClusterResourceId,
      name: APP_DATABASE_NAME,
      secret: secretsmanager.Secret.fromSecretNameV2(this, 'DatabaseSecretReplica', names.databaseSecretName),
    });
  }

  /** The region's database with its {@link DatabaseRoles}, in both regions (either may be the writer). */
  private withRoles(
    props: DataStackProps,
    securityGroup: ec2.SecurityGroup,
    dependsOn: readonly IConstruct[],
    database: Omit<RegionDatabase, 'roles'>,
  ): RegionDatabase {
    const roles = new DatabaseRoles(this, 'DatabaseRoles', {
      vpc: props.vpc,
      securityGroup,
      adminSecret: database.secret,
      writerHost: database.endpoint,
      readerHost: database.readEndpoint,
      port: DATABASE_PORT,
      databaseName: database.name,
      roles: databaseRoles(props.config),
      logsKey: this.encryptLogGroups(),
      dependsOn,
    });
    return { ...database, roles };
  }

  private createCache(props: DataStackProps): SessionCache {
    const { config, names } = props;
    const cacheBase = {
      vpc: props.vpc,
      clients: props.clients.sessionCache ?? [],
      key: this.key,
      replicas: config.cache.replicasPerRegion,
      authSecretName: names.cacheAuthSecretName,
      replicationGroupId: names.cacheReplicationGroupId,
    };
    let cache: SessionCache;
    if (props.role === 'primary') {
      cache = new SessionCache(this, 'SessionCache', {
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
      cache = new SessionCache(this, 'SessionCache', {
        ...cacheBase,
        role: 'secondary',
        globalDatastoreId: props.globalDatastoreId,
      });
    }
    if (cache.globalDatastore) {
      // Read by `npm run region -- record-ids` (lib/recorded.ts).
      new CfnOutput(this, DATA_OUTPUTS.globalDatastoreId, {
        value: cache.globalDatastore.attrGlobalReplicationGroupId,
        description: 'The Global Datastore both regions belong to',
      });
    }
    return cache;
  }
}
