import { CfnOutput, Duration, Fn } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config';
import { FailoverRecords } from '../constructs/failover-records';
import { FaultExperiments } from '../constructs/fault-experiments';
import { RegionSwitchPlan } from '../constructs/region-switch-plan';
import { SwitchFunctions, SwitchRegionResources } from '../constructs/switch-functions';
import { PhysicalNames } from '../names';
import { RegionAlarms } from '../constructs/region-alarms';
import { DashboardRegion, ServiceDashboard } from '../constructs/service-dashboard';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { AppStack } from './app-stack';
import { DataStack } from './data-stack';
import { StorageStack } from './storage-stack';

/** The stacks of one region an operations stack watches. */
export interface WatchedRegion {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Its EFS. */
  readonly storage: StorageStack;
  /** Its data tier. */
  readonly data: DataStack;
  /** Its serving layer. */
  readonly app: AppStack;
}

/** Properties of an {@link OperationsStack}. */
export interface OperationsStackProps extends RegionalStackProps {
  /** `primary` also holds the environment's dashboard. */
  readonly role: 'primary' | 'secondary';
  /** The environment. */
  readonly config: EnvironmentConfig;
  /** This region's stacks. */
  readonly local: WatchedRegion;
  /** The other region's stacks. */
  readonly remote: WatchedRegion;
  /** Fixed names shared by both regions. */
  readonly names: PhysicalNames;
  /**
   * The other region's switch functions, for the plan (primary only, when the plan is enabled).
   * @default - no plan
   */
  readonly remoteFunctions?: SwitchFunctions;
  /**
   * The other region's alarms, associated with the plan (primary only).
   * @default - only this region's alarms
   */
  readonly remoteAlarms?: RegionAlarms;
}

/** The Global Datastore secondary's node that reports replication lag. */
function cacheNodeId(data: DataStack): string {
  return Fn.join('', [data.cache.replicationGroup.ref, '-001']);
}

/**
 * Operations of one region: its alarms (fleet 5xx, latency, healthy hosts, and
 * the replication end it holds) to the region's alarm topic, and its AWS FIS
 * experiment templates stopped by those alarms, and its copies of the region
 * switch functions. The primary's also holds the environment's dashboard with
 * both regions side by side, the Region switch plan (when enabled) and the
 * failover records of the service's name, which the plan steers. Deploys after
 * both regions' app stacks.
 */
export class OperationsStack extends RegionalStack {
  /** The region's alarms. */
  public readonly alarms: RegionAlarms;
  /** The region's fault injection templates. */
  public readonly experiments: FaultExperiments;
  /** The dashboard (primary only). */
  public readonly dashboard?: ServiceDashboard;
  /** The region's copies of the region switch functions. */
  public readonly switchFunctions: SwitchFunctions;
  /** The Region switch plan (primary only, when enabled in config). */
  public readonly plan?: RegionSwitchPlan;
  /** The failover records of the service's name (primary only). */
  public readonly failoverRecords?: FailoverRecords;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { local, remote, config } = props;
    const primary = props.role === 'primary';
    const [primaryRegion, secondaryRegion] = primary ? [local, remote] : [remote, local];

    this.alarms = new RegionAlarms(this, 'Alarms', {
      targetGroup: local.app.fleet.targetGroup,
      topic: local.app.alerts.topic,
      secondaryDatabaseClusterId: primary ? undefined : local.data.secondaryDatabase!.cluster.ref,
      secondaryCacheNodeId: primary ? undefined : cacheNodeId(local.data),
      fileReplication: primary
        ? {
            sourceFileSystemId: local.storage.fileSystem.fileSystemId,
            destinationFileSystemId: remote.storage.fileSystem.fileSystemId,
          }
        : undefined,
    });

    this.experiments = new FaultExperiments(this, 'Experiments', {
      autoScalingGroup: local.app.fleet.autoScalingGroup,
      vpc: local.vpc,
      databaseClusterArn: primary ? local.data.primaryDatabase!.cluster.clusterArn : undefined,
      stopAlarms: [this.alarms.alarms.Target5xx, this.alarms.alarms.HealthyHosts],
    });

    const resources = (r: WatchedRegion): SwitchRegionResources => ({
      targetGroupArn: r.app.fleet.targetGroup.targetGroupArn,
      healthCheckId: r.app.dns.healthCheck.healthCheckId,
      dbClusterIdentifier: r.data.primaryDatabase
        ? r.data.primaryDatabase.cluster.clusterIdentifier
        : r.data.secondaryDatabase!.cluster.ref,
      dbClusterArn: r.data.primaryDatabase
        ? r.data.primaryDatabase.cluster.clusterArn
        : r.data.secondaryDatabase!.cluster.attrDbClusterArn,
      cacheReplicationGroupId: r.data.cache.replicationGroup.ref,
      fileSystemId: r.storage.fileSystem.fileSystemId,
      serviceUrl: `https://${r.app.region}.${config.dns.domainName}${config.dns.healthCheckPath}`,
    });
    const regionResources = {
      [config.primary.region]: resources(primaryRegion),
      [config.secondary.region]: resources(secondaryRegion),
    };
    this.switchFunctions = new SwitchFunctions(this, 'SwitchFunctions', {
      regions: regionResources,
      globalClusterIdentifier: props.names.globalClusterIdentifier,
      globalDatastoreId: primaryRegion.data.cache.globalDatastore!.attrGlobalReplicationGroupId,
      planSteps: config.regionSwitch.enabled,
    });

    const recordSetIdentifier = (r: WatchedRegion) => `${config.name}-${r.app.region}`;
    if (primary && config.regionSwitch.enabled) {
      if (!props.remoteFunctions) {
        throw new Error(`${this.node.path}: the Region switch plan needs the secondary region's switch functions.`);
      }
      const planRegion = (r: WatchedRegion, functions: SwitchFunctions) => ({
        region: r.app.region,
        autoScalingGroupArn: r.app.fleet.autoScalingGroupFullArn,
        databaseClusterArn: regionResources[r.app.region].dbClusterArn,
        recordSetIdentifier: recordSetIdentifier(r),
        functions: {
          preflight: functions.planStepFunctions!.preflight,
          cacheFailover: functions.planStepFunctions!['cache-failover'],
          efsReplication: functions.planStepFunctions!['efs-replication'],
          postcheck: functions.planStepFunctions!.postcheck,
        },
      });
      this.plan = new RegionSwitchPlan(this, 'RegionSwitch', {
        planName: props.names.regionSwitchPlanName,
        regions: [planRegion(local, this.switchFunctions), planRegion(remote, props.remoteFunctions)],
        globalClusterIdentifier: props.names.globalClusterIdentifier,
        hostedZoneId: config.dns.hostedZoneId,
        recordName: config.dns.domainName,
        rto: Duration.minutes(config.regionSwitch.rtoMinutes),
        manualApproval: config.regionSwitch.manualApproval,
        alarms: [this.alarms, props.remoteAlarms]
          .filter((a): a is RegionAlarms => a !== undefined)
          .flatMap((a) => [a.alarms.Target5xx, a.alarms.HealthyHosts]),
        fleetTags: { 'aws:ResourceTag/Project': 'ha-web-service', 'aws:ResourceTag/Environment': config.name },
      });
    }

    if (primary) {
      // Here rather than in the app stacks: with a plan, the PRIMARY record depends on the plan's health checks.
      const failoverRegion = (r: WatchedRegion) => ({
        region: r.app.region,
        loadBalancer: r.app.entry.loadBalancer,
        healthCheck: r.app.dns.healthCheck,
        setIdentifier: recordSetIdentifier(r),
      });
      this.failoverRecords = new FailoverRecords(this, 'FailoverRecords', {
        hostedZone: route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
          hostedZoneId: config.dns.hostedZoneId,
          zoneName: config.dns.hostedZoneName,
        }),
        domainName: config.dns.domainName,
        regions: [failoverRegion(primaryRegion), failoverRegion(secondaryRegion)],
        planHealthChecks: this.plan?.plan.attrPlanHealthChecks,
      });
      if (this.failoverRecords.planPrimaryHealthCheckId && this.failoverRecords.primaryGate) {
        new CfnOutput(this, 'PlanPrimaryHealthCheckId', {
          value: this.failoverRecords.planPrimaryHealthCheckId,
          description: "The Region switch plan's health check of the primary region, gating the PRIMARY record",
        });
        new CfnOutput(this, 'PrimaryGateHealthCheckId', {
          value: this.failoverRecords.primaryGate.healthCheckId,
          description: "The PRIMARY record's calculated health check (endpoint check AND the plan's primary check)",
        });
      }

      const view = (r: WatchedRegion, label: string, isPrimary: boolean): DashboardRegion => ({
        label,
        region: r.app.region,
        targetGroup: r.app.fleet.targetGroup,
        healthCheckId: r.app.dns.healthCheck.healthCheckId,
        secondaryDatabaseClusterId: isPrimary ? undefined : r.data.secondaryDatabase!.cluster.ref,
        secondaryCacheNodeId: isPrimary ? undefined : cacheNodeId(r.data),
        fileReplication: isPrimary
          ? {
              sourceFileSystemId: r.storage.fileSystem.fileSystemId,
              destinationFileSystemId: secondaryRegion.storage.fileSystem.fileSystemId,
            }
          : undefined,
      });
      this.dashboard = new ServiceDashboard(this, 'Dashboard', {
        regions: [
          view(primaryRegion, `Primary: ${config.primary.region}`, true),
          view(secondaryRegion, `Secondary: ${config.secondary.region}`, false),
        ],
        dnsSteering:
          this.failoverRecords.primaryGate && this.failoverRecords.planPrimaryHealthCheckId
            ? {
                primaryGateHealthCheckId: this.failoverRecords.primaryGate.healthCheckId,
                planPrimaryHealthCheckId: this.failoverRecords.planPrimaryHealthCheckId,
              }
            : undefined,
      });
    }
  }
}
