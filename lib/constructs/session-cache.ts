import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RETAINED } from '../defaults';
import { acknowledgeNag } from '../nag';

/** Valkey port of both replication groups. */
export const CACHE_PORT = 6379;

/** Settings both regions' replication groups share. */
export interface SessionCacheBaseProps {
  /** VPC whose isolated subnets hold the nodes. */
  readonly vpc: ec2.IVpc;
  /** Security groups of the instances of the services that use the cache: the only clients allowed to connect. */
  readonly clients: readonly ec2.ISecurityGroup[];
  /** Customer-managed key of this region for encryption at rest. */
  readonly key: kms.IKey;
  /** Replicas besides the primary node (1 or more for Multi-AZ). */
  readonly replicas: number;
  /**
   * Name of the AUTH token secret. Fixed so the secondary region reads its
   * replica by name, with no cross-region reference.
   */
  readonly authSecretName: string;
  /**
   * ID of this region's replication group; the same string in both regions (`names.ts`), so the switch
   * functions and the CLI find each member by name.
   */
  readonly replicationGroupId: string;
}

/** Properties of the primary region's {@link SessionCache}: it creates the Global Datastore. */
export interface SessionCachePrimaryProps extends SessionCacheBaseProps {
  /** Creates the AUTH secret, the replication group and the Global Datastore. */
  readonly role: 'primary';
  /** Valkey version the Global Datastore runs, for example `8.0` (the secondary inherits it). */
  readonly engineVersion: string;
  /** Cache node type of the Global Datastore (the secondary inherits it). */
  readonly nodeType: string;
  /**
   * The engine version and node type this region's replication group was created with (recorded after the first
   * deploy: `lib/recorded.ts`). ElastiCache refuses to modify either on a member of a Global Datastore, so the
   * member keeps these; where `engineVersion` or `nodeType` differs from them, the Global Datastore carries the
   * new value and AWS applies it to every member (ModifyGlobalReplicationGroup).
   * @default - `engineVersion` and `nodeType` (the first deploy)
   */
  readonly createdWith?: { readonly engineVersion: string; readonly nodeType: string };
  /** Region the AUTH secret is replicated to. */
  readonly secondaryRegion: string;
  /** Suffix of the Global Datastore's ID; AWS prefixes it per region. */
  readonly globalDatastoreSuffix: string;
}

/** Properties of the secondary region's {@link SessionCache}: it joins the Global Datastore. */
export interface SessionCacheSecondaryProps extends SessionCacheBaseProps {
  /** Joins the Global Datastore named by `globalDatastoreId`. */
  readonly role: 'secondary';
  /** Full ID of the Global Datastore to join. */
  readonly globalDatastoreId: string;
}

/** Properties of a {@link SessionCache}, by region role. */
export type SessionCacheProps = SessionCachePrimaryProps | SessionCacheSecondaryProps;

/**
 * Session store: a Valkey replication group (Multi-AZ, automatic failover,
 * TLS in transit, encryption at rest with this region's key, AUTH token from
 * Secrets Manager) in isolated subnets, reachable only from the instances.
 * The primary region's group leads a Global Datastore that the secondary's
 * group joins.
 */
export class SessionCache extends Construct {
  /** The regional replication group. */
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The Global Datastore (primary region only). */
  public readonly globalDatastore?: elasticache.CfnGlobalReplicationGroup;
  /** The AUTH token secret (created in the primary region, a replica in the secondary). */
  public readonly authSecret: secretsmanager.ISecret;
  /** Security group of the nodes. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SessionCacheProps) {
    super(scope, id);
    this.checkProps(props);
    this.securityGroup = this.createSecurityGroup(props);
    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Isolated subnets of the session cache',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const auth = this.createAuthToken(props);
    this.authSecret = auth.secret;
    this.replicationGroup = this.createReplicationGroup(props, subnets, auth.token);
    if (props.role === 'primary') this.globalDatastore = this.createGlobalDatastore(props);
  }

  /** The props the types require, checked for callers from JavaScript; at least one replica (Multi-AZ). */
  private checkProps(props: SessionCacheProps): void {
    const missing = (
      props.role === 'primary'
        ? (['engineVersion', 'nodeType', 'secondaryRegion', 'globalDatastoreSuffix'] as const).filter((k) => !props[k])
        : (['globalDatastoreId'] as const).filter((k) => !props[k])
    ) as string[];
    if (missing.length > 0) {
      throw new Error(`${this.node.path}: a ${props.role} SessionCache needs ${missing.join(', ')}.`);
    }
    if (props.replicas < 1) {
      throw new Error(`${this.node.path}: replicas must be at least 1 for Multi-AZ (got ${props.replicas}).`);
    }
  }

  /** The nodes' security group: the clients on the Valkey port, no egress. */
  private createSecurityGroup(props: SessionCacheProps): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Valkey session cache: reachable from the web instances only',
      allowAllOutbound: false,
    });
    for (const client of props.clients) {
      group.connections.allowFrom(
        client,
        ec2.Port.tcp(CACHE_PORT),
        'Valkey from the instances of a service that uses it',
      );
    }
    return group;
  }

  /**
   * The AUTH token: generated into a secret replicated to the secondary (primary), or that replica read by name
   * (secondary); the token as a dynamic reference, never its value.
   */
  private createAuthToken(props: SessionCacheProps): { secret: secretsmanager.ISecret; token: SecretValue } {
    if (props.role !== 'primary') {
      return {
        secret: secretsmanager.Secret.fromSecretNameV2(this, 'AuthToken', props.authSecretName),
        token: SecretValue.secretsManager(props.authSecretName),
      };
    }
    const secret = new secretsmanager.Secret(this, 'AuthToken', {
      secretName: props.authSecretName,
      description: 'AUTH token of the Valkey session cache',
      encryptionKey: props.key,
      replicaRegions: [{ region: props.secondaryRegion }],
      // Valkey AUTH tokens: 16 to 128 printable characters without @, " or /.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RETAINED,
    });
    acknowledgeNag(
      secret,
      'AwsSolutions-SMG4',
      'ElastiCache has no managed rotation for AUTH tokens: rotation is a ModifyReplicationGroup ROTATE then SET ' +
        'on the Global Datastore, run as an operation while both tokens are accepted, not on a schedule.',
    );
    return { secret, token: secret.secretValue };
  }

  /** The region's replication group: Multi-AZ with automatic failover, TLS and KMS at rest (inherited on a secondary). */
  private createReplicationGroup(
    props: SessionCacheProps,
    subnets: elasticache.CfnSubnetGroup,
    authToken: SecretValue,
  ): elasticache.CfnReplicationGroup {
    const primary = props.role === 'primary';
    const group = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: `Session cache (${props.role})`,
      globalReplicationGroupId: props.role === 'secondary' ? props.globalDatastoreId : undefined,
      engine: primary ? 'valkey' : undefined,
      engineVersion: props.role === 'primary' ? (props.createdWith?.engineVersion ?? props.engineVersion) : undefined,
      cacheNodeType: props.role === 'primary' ? (props.createdWith?.nodeType ?? props.nodeType) : undefined,
      numCacheClusters: 1 + props.replicas,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      // A Global Datastore member inherits both encryption settings from the
      // primary; ElastiCache rejects them on a secondary's create request.
      transitEncryptionEnabled: primary ? true : undefined,
      atRestEncryptionEnabled: primary ? true : undefined,
      kmsKeyId: props.key.keyArn,
      // A dynamic reference: the template holds {{resolve:secretsmanager:...}}, never the token.
      authToken: authToken.unsafeUnwrap(),
      port: CACHE_PORT,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: primary ? 7 : undefined,
      snapshotWindow: primary ? '02:00-03:00' : undefined,
      preferredMaintenanceWindow: 'sun:06:00-sun:07:00',
      autoMinorVersionUpgrade: true,
    });
    group.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    if (!primary) {
      acknowledgeNag(
        group,
        'AwsSolutions-AEC3',
        'A Global Datastore member inherits TLS in transit and encryption at rest from the primary, which sets both ' +
          '(and this member encrypts with its own region key); ElastiCache rejects the two settings on a secondary.',
      );
      acknowledgeNag(
        group,
        'AwsSolutions-AEC5',
        'The default port is kept on purpose in both regions: only the web instances security group reaches it, ' +
          'and a non-default port adds no control. (The primary passes only because the rule skips the valkey engine.)',
      );
    }
    return group;
  }

  /** The Global Datastore the secondary joins (primary only), retained. */
  private createGlobalDatastore(props: SessionCachePrimaryProps): elasticache.CfnGlobalReplicationGroup {
    const created = props.createdWith ?? { engineVersion: props.engineVersion, nodeType: props.nodeType };
    const datastore = new elasticache.CfnGlobalReplicationGroup(this, 'GlobalDatastore', {
      globalReplicationGroupIdSuffix: props.globalDatastoreSuffix,
      globalReplicationGroupDescription: 'Sessions shared by both regions',
      automaticFailoverEnabled: true,
      // Only a change: CloudFormation's create of a Global Datastore takes the member's values (its create
      // calls CreateGlobalReplicationGroup only), and an update calls ModifyGlobalReplicationGroup, which scales
      // or upgrades every member at once (ElastiCache user guide, "Modifying a global datastore").
      engineVersion: props.engineVersion !== created.engineVersion ? props.engineVersion : undefined,
      cacheNodeType: props.nodeType !== created.nodeType ? props.nodeType : undefined,
      members: [
        {
          replicationGroupId: this.replicationGroup.ref,
          replicationGroupRegion: this.replicationGroup.stack.region,
          role: 'PRIMARY',
        },
      ],
    });
    datastore.applyRemovalPolicy(RETAINED);
    return datastore;
  }

  /** Hostname that takes writes (the primary endpoint). */
  public get primaryEndpointAddress(): string {
    return this.replicationGroup.attrPrimaryEndPointAddress;
  }
}
