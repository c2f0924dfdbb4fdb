import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CfnOutput } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config';
import { Alerts } from '../constructs/alerts';
import { FailoverDns } from '../constructs/failover-dns';
import { DATABASE_PORT } from '../constructs/global-database';
import { PublicLoadBalancer } from '../constructs/public-load-balancer';
import { RegionAlarms, ReplicationWatch } from '../constructs/region-alarms';
import { RegionDashboard } from '../constructs/service-dashboard';
import { RegionData, ServiceFleet, serviceFleetId } from '../constructs/service-fleet';
import { CACHE_PORT } from '../constructs/session-cache';
import { PhysicalNames, regionAlarmName, serviceNames } from '../names';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { APP_OUTPUTS } from '../stack-outputs';

/** Where the instances find the data tier of their region: only the components the environment has. */
export interface DataEndpoints {
  /** The Aurora cluster, when a service uses the database. */
  readonly database?: {
    /** Hostname of the cluster endpoint. */
    readonly endpoint: string;
    /** Hostname of the reader endpoint. */
    readonly readEndpoint: string;
    /** The cluster's resource ID, which IAM database authentication policies name. */
    readonly clusterResourceId: string;
    /** The application database. */
    readonly name: string;
  };
  /** The session cache, when a service uses it. */
  readonly cache?: {
    /** Hostname of the cache's primary endpoint. */
    readonly endpoint: string;
    /** Name of the cache AUTH token secret (read at boot). */
    readonly authSecretName: string;
  };
  /**
   * ARN of the key that encrypts the session cache's AUTH token secret in this region.
   * @default - secrets use the AWS managed key (the secondary's replicas)
   */
  readonly secretsKeyArn?: string;
}

/** Properties of an {@link AppStack}. */
export interface AppStackProps extends RegionalStackProps {
  /** `primary` or `secondary`: which of the config's regions this stack serves. */
  readonly role: 'primary' | 'secondary';
  /** The environment. */
  readonly config: EnvironmentConfig;
  /** Fixed names shared by both regions. */
  readonly names: PhysicalNames;
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Security group of a service's instances (its region's network stack). */
  readonly securityGroupFor: (service: string) => ec2.ISecurityGroup;
  /** Security group of the load balancer. */
  readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  /**
   * The region's shared file system, when a service uses shared files.
   * @default - none
   */
  readonly fileSystem?: efs.IFileSystem;
  /** The region's data tier. */
  readonly data: DataEndpoints;
}

/**
 * Stateless serving layer of one region: the alarm topic, the public load balancer with its certificate and
 * shared HTTPS listener, one {@link ServiceFleet} per service of the config (each its own Auto Scaling group,
 * target group and listener rule), the region's alarms and dashboard (here, with what they watch, so they never
 * hold a stale name), and this region's input to the Route 53 failover (regional record and health check; the
 * failover record is in the region's operations stack). Can be destroyed and redeployed without data loss.
 * Reads only its own region's stacks (it deploys while the other region is unreachable); its alarms and
 * dashboard do not assume which region is active.
 */
export class AppStack extends RegionalStack {
  /** The load balancer and certificate. */
  public readonly entry: PublicLoadBalancer;
  /** Regional record and the health check the failover records use. */
  public readonly dns: FailoverDns;
  /** Alarm topic of the region. */
  public readonly alerts: Alerts;
  /** The region's alarms (fixed names): each service's, and the replication of its own ends of the data tier. */
  public readonly alarms: RegionAlarms;
  /** The region's dashboard. */
  public readonly dashboard: RegionDashboard;
  private readonly fleets = new Map<string, ServiceFleet>();

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, props);
    const logsKey = this.encryptLogGroups();
    const { config } = props;
    const regionalDomainName = `${this.region}.${config.dns.domainName}`;
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
      hostedZoneId: config.dns.hostedZoneId,
      zoneName: config.dns.hostedZoneName,
    });
    this.alerts = new Alerts(this, 'Alerts', { email: config.alarmEmail });
    this.entry = new PublicLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      securityGroup: props.loadBalancerSecurityGroup,
      hostedZone,
      domainName: config.dns.domainName,
      regionalDomainName,
      deletionProtection: config.production,
      accessLogRetentionDays: config.loadBalancer.accessLogRetentionDays,
    });
    this.createFleets(props, logsKey);
    this.dns = new FailoverDns(this, 'Dns', {
      hostedZone,
      loadBalancer: this.entry.loadBalancer,
      regionalDomainName,
      healthCheckPath: config.dns.healthCheckPath,
      failureThreshold: config.dns.healthCheckFailureThreshold,
    });
    [this.alarms, this.dashboard] = this.createMonitoring(props);
    // Read at run time by the operator CLI and the switch functions (lib/stack-outputs.ts).
    new CfnOutput(this, APP_OUTPUTS.regionalUrl, { value: `https://${regionalDomainName}/` });
    new CfnOutput(this, APP_OUTPUTS.loadBalancerDnsName, { value: this.entry.loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, APP_OUTPUTS.healthCheckId, { value: this.dns.healthCheck.healthCheckId });
  }

  /** One {@link ServiceFleet} per service of the config, each with its target group output. */
  private createFleets(props: AppStackProps, logsKey: kms.IKey): void {
    const { config } = props;
    const regionConfig = props.role === 'primary' ? config.primary : config.secondary;
    const data = regionData(props);
    for (const service of config.services) {
      const fleet = new ServiceFleet(this, serviceFleetId(service.name), {
        service,
        role: props.role,
        names: serviceNames(config, service.name),
        baseMachineImageId: regionConfig.machineImageId,
        vpc: props.vpc,
        securityGroup: props.securityGroupFor(service.name),
        listener: this.entry.httpsListener,
        alarmTopic: this.alerts.topic,
        logsKey,
        data,
      });
      this.fleets.set(service.name, fleet);
      // Read at run time by pre-flight (lib/stack-outputs.ts).
      new CfnOutput(this, APP_OUTPUTS.targetGroupArn(service.name), {
        value: fleet.fleet.targetGroup.targetGroupArn,
        description: `Target group of the service ${service.name}`,
      });
    }
  }

  /** The region's alarms and dashboard, over every service and the region's own ends of the replications. */
  private createMonitoring(props: AppStackProps): [RegionAlarms, RegionDashboard] {
    const { config } = props;
    const replication = replicationWatch(props);
    const watched = config.services.map((s) => ({ name: s.name, targetGroup: this.service(s.name).fleet.targetGroup }));
    const alarms = new RegionAlarms(this, 'Alarms', {
      services: watched,
      topic: this.alerts.topic,
      alarmName: (ref) => regionAlarmName(config, ref),
      replication,
    });
    const dashboard = new RegionDashboard(this, 'Dashboard', {
      title: `HA web service (${config.name}): ${this.region}`,
      services: watched,
      healthCheckId: this.dns.healthCheck.healthCheckId,
      replication,
    });
    return [alarms, dashboard];
  }

  /** The fleet of `service` in this region. Throws for a service the config does not have. */
  public service(service: string): ServiceFleet {
    const fleet = this.fleets.get(service);
    if (!fleet)
      throw new Error(`${this.node.path}: no service "${service}" (have ${[...this.fleets.keys()].join(', ')})`);
    return fleet;
  }

  /** Every service's fleet in this region, in config order. */
  public get services(): readonly ServiceFleet[] {
    return [...this.fleets.values()];
  }
}

/** The region's data components as the services reach them. */
function regionData(props: AppStackProps): RegionData {
  const { data } = props;
  return {
    endpoints: {
      database: data.database && {
        host: data.database.endpoint,
        readHost: data.database.readEndpoint,
        port: DATABASE_PORT,
        name: data.database.name,
        clusterResourceId: data.database.clusterResourceId,
      },
      cache: data.cache && { host: data.cache.endpoint, port: CACHE_PORT, authSecretName: data.cache.authSecretName },
      fileSystemId: props.fileSystem?.fileSystemId,
    },
    fileSystem: props.fileSystem,
    secretsKeyArn: data.secretsKeyArn,
  };
}

/**
 * The region's own ends of every replication the environment has, whatever its role (which region is active is
 * runtime state): the cluster and cache group have the same fixed names in both regions (names.ts), the file system
 * is this region's. Nothing of the other region.
 */
function replicationWatch(props: AppStackProps): ReplicationWatch {
  const { config, data, names } = props;
  return {
    databaseClusterId: data.database ? names.databaseClusterIdentifier : undefined,
    // ElastiCache names the nodes of a group without cluster mode <group>-001, -002, ... (numbers stay continuous
    // while the replica count only grows; after a decrease and a later increase a new node may be numbered past
    // them, and its lag is not watched until the next deploy lists it).
    cacheNodeIds: data.cache
      ? Array.from(
          { length: config.cache.replicasPerRegion + 1 },
          (_, i) => `${names.cacheReplicationGroupId}-${String(i + 1).padStart(3, '0')}`,
        )
      : undefined,
    fileSystemId: props.fileSystem?.fileSystemId,
  };
}
