import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CfnOutput } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config';
import { Alerts } from '../constructs/alerts';
import { FailoverDns } from '../constructs/failover-dns';
import { DATABASE_PORT } from '../constructs/global-database';
import { PublicLoadBalancer } from '../constructs/public-load-balancer';
import { RegionAlarms, ReplicationWatch } from '../constructs/region-alarms';
import { RegionDashboard } from '../constructs/service-dashboard';
import { ServiceBootstrap } from '../constructs/service-bootstrap';
import { ServiceBundle } from '../constructs/service-bundle';
import { ServiceSettings } from '../constructs/service-settings';
import { CACHE_PORT } from '../constructs/session-cache';
import { pinnedMachineImage, WebFleet } from '../constructs/web-fleet';
import { failoverTiming } from '../failover-timing';
import { PhysicalNames, regionAlarmName } from '../names';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { APP_OUTPUTS } from '../stack-outputs';

/** Where the instances find the data tier of their region. */
export interface DataEndpoints {
  /** Hostname of the cluster endpoint. */
  readonly databaseEndpoint: string;
  /** Hostname of the reader endpoint. */
  readonly databaseReadEndpoint: string;
  /** Name of the database credentials secret (read at boot). */
  readonly databaseSecretName: string;
  /** Hostname of the cache's primary endpoint. */
  readonly cacheEndpoint: string;
  /** Name of the cache AUTH token secret (read at boot). */
  readonly cacheAuthSecretName: string;
  /**
   * ARN of the key that encrypts both secrets in this region.
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
  /** Security group of the web instances. */
  readonly webSecurityGroup: ec2.ISecurityGroup;
  /** Security group of the load balancer. */
  readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  /** The region's shared file system. */
  readonly fileSystem: efs.IFileSystem;
  /** The region's data tier. */
  readonly data: DataEndpoints;
}

/**
 * Stateless serving layer of one region: the alarm topic, the public load
 * balancer with its certificate, the web fleet, the region's alarms and
 * dashboard (here, with what they watch, so they never hold a stale name), and
 * this region's input to the Route 53 failover (regional record and health
 * check; the failover record is in the region's operations stack). Can be
 * destroyed and redeployed without data loss. Reads only its own region's stacks (it deploys while the
 * other region is unreachable); its alarms and dashboard do not assume which region is active.
 */
export class AppStack extends RegionalStack {
  /** The load balancer and certificate. */
  public readonly entry: PublicLoadBalancer;
  /** The Auto Scaling group and its alarms. */
  public readonly fleet: WebFleet;
  /** Regional record and the health check the failover records use. */
  public readonly dns: FailoverDns;
  /** Alarm topic of the region. */
  public readonly alerts: Alerts;
  /** The region's alarms (fixed names): fleet health, and the replication of its own ends of the data tier. */
  public readonly alarms: RegionAlarms;
  /** The region's dashboard. */
  public readonly dashboard: RegionDashboard;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, props);
    const logsKey = this.encryptLogGroups();
    const { config, data, names } = props;
    const primary = props.role === 'primary';
    const regionConfig = primary ? config.primary : config.secondary;
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
      accessLogRetentionDays: config.service.accessLogRetentionDays,
    });

    // Imported by name and ARN so that the grants below land in the instance
    // role's policy, not in the data stack's resource policies (which would
    // make the data stack depend on this one).
    const databaseSecret = secretsmanager.Secret.fromSecretNameV2(this, 'DatabaseSecret', data.databaseSecretName);
    const cacheAuthSecret = secretsmanager.Secret.fromSecretNameV2(this, 'CacheAuthSecret', data.cacheAuthSecretName);
    const secretsKey = data.secretsKeyArn ? kms.Key.fromKeyArn(this, 'SecretsKey', data.secretsKeyArn) : undefined;

    const bundle = new ServiceBundle(this, 'Service');
    const settings = new ServiceSettings(this, 'Settings', {
      path: names.serviceSettingsPath,
      settings: config.service.settings ?? {},
    });
    const bootstrap = new ServiceBootstrap(this, 'Bootstrap', {
      bundle,
      port: config.service.port,
      // As long as the ALB needs to see the failing health check (interval x threshold).
      drainSeconds: failoverTiming(config).targetDetectionSeconds,
      endpoints: {
        databaseHost: data.databaseEndpoint,
        databaseReadHost: data.databaseReadEndpoint,
        databasePort: DATABASE_PORT,
        databaseSecretName: data.databaseSecretName,
        cacheHost: data.cacheEndpoint,
        cachePort: CACHE_PORT,
        cacheAuthSecretName: data.cacheAuthSecretName,
        fileSystemId: props.fileSystem.fileSystemId,
      },
      logsKey,
      settings,
    });

    this.fleet = new WebFleet(this, 'Fleet', {
      vpc: props.vpc,
      securityGroup: props.webSecurityGroup,
      listener: this.entry.httpsListener,
      autoScalingGroupName: names.autoScalingGroupName,
      instanceTypes: regionConfig.instanceTypes,
      machineImage: pinnedMachineImage(this, regionConfig.instanceTypes[0]!, regionConfig.machineImageId),
      capacity: regionConfig.capacity,
      service: config.service,
      alarmTopic: this.alerts.topic,
      userData: bootstrap.userData,
    });
    // A new set of settings exists before the instance refresh's instances boot and read it.
    if (!settings.isEmpty) this.fleet.autoScalingGroup.node.addDependency(settings);
    databaseSecret.grantRead(this.fleet.role);
    cacheAuthSecret.grantRead(this.fleet.role);
    secretsKey?.grantDecrypt(this.fleet.role);
    props.fileSystem.grantReadWrite(this.fleet.role);
    bootstrap.grantTo(this.fleet.role);

    this.dns = new FailoverDns(this, 'Dns', {
      hostedZone,
      loadBalancer: this.entry.loadBalancer,
      regionalDomainName,
      healthCheckPath: config.dns.healthCheckPath,
      failureThreshold: config.dns.healthCheckFailureThreshold,
    });

    // The region's own ends of every replication, whatever its role (which region is active is runtime state):
    // the cluster and cache group have the same fixed names in both regions (names.ts), the file system is this
    // region's. Nothing of the other region.
    const replication: ReplicationWatch = {
      databaseClusterId: names.databaseClusterIdentifier,
      // ElastiCache names the nodes of a group without cluster mode <group>-001, -002, ... (numbers stay continuous
      // while the replica count only grows; after a decrease and a later increase a new node may be numbered past
      // them, and its lag is not watched until the next deploy lists it).
      cacheNodeIds: Array.from(
        { length: config.cache.replicasPerRegion + 1 },
        (_, i) => `${names.cacheReplicationGroupId}-${String(i + 1).padStart(3, '0')}`,
      ),
      fileSystemId: props.fileSystem.fileSystemId,
    };
    this.alarms = new RegionAlarms(this, 'Alarms', {
      targetGroup: this.fleet.targetGroup,
      topic: this.alerts.topic,
      alarmName: (alarm) => regionAlarmName(config, alarm),
      replication,
    });
    this.dashboard = new RegionDashboard(this, 'Dashboard', {
      title: `HA web service (${config.name}): ${this.region}`,
      targetGroup: this.fleet.targetGroup,
      healthCheckId: this.dns.healthCheck.healthCheckId,
      replication,
    });

    // Read at run time by the operator CLI and the switch functions (lib/stack-outputs.ts).
    new CfnOutput(this, APP_OUTPUTS.regionalUrl, { value: `https://${regionalDomainName}/` });
    new CfnOutput(this, APP_OUTPUTS.loadBalancerDnsName, { value: this.entry.loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, APP_OUTPUTS.healthCheckId, { value: this.dns.healthCheck.healthCheckId });
    new CfnOutput(this, APP_OUTPUTS.targetGroupArn, { value: this.fleet.targetGroup.targetGroupArn });
  }
}
