import { ArnFormat, CfnOutput, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { regionSwitchPlanName, stackName, switchFunctionName, type SwitchFunctionName } from '../../contract';
import { EnvironmentConfig, hasDataComponent } from '../config';
import { FailoverRecord } from '../constructs/failover-records';
import { FaultExperiments } from '../constructs/fault-experiments';
import { FleetArnLookup } from '../constructs/fleet-arn-lookup';
import { PlanRegion, RegionSwitchPlan } from '../constructs/region-switch-plan';
import { EnvironmentDashboard } from '../constructs/service-dashboard';
import { SwitchFunctions, SwitchRegionResources } from '../constructs/switch-functions';
import {
  PhysicalNames,
  RegionAlarmRef,
  regionAlarmName,
  regionAlarms,
  SERVICE_HEALTH_ALARM,
  serviceNames,
} from '../names';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { DNS_OUTPUTS, PLAN_OUTPUTS, servicePascalName } from '../stack-outputs';
import { AppStack } from './app-stack';

/** Properties of an {@link OperationsStack}. */
export interface OperationsStackProps extends RegionalStackProps {
  /** `primary` also holds the environment's dashboard and, when enabled, the Region switch plan. */
  readonly role: 'primary' | 'secondary';
  /** The environment. */
  readonly config: EnvironmentConfig;
  /** Fixed names shared by both regions. */
  readonly names: PhysicalNames;
  /** The region's VPC (the fault injection templates cut one AZ's subnets). */
  readonly vpc: ec2.IVpc;
  /** The region's app stack: its load balancer and endpoint health check make the region's failover record. */
  readonly app: AppStack;
  /**
   * ID of the region's EFS file system (its storage stack, same region).
   * @default - no shared files in the environment
   */
  readonly fileSystemId?: string;
  /**
   * ID of the other region's EFS file system: the recorded literal, or a weak reference to that region's storage
   * stack (`crossRegionId`).
   * @default - no shared files in the environment
   */
  readonly remoteFileSystemId?: string;
  /**
   * ID of the Global Datastore: the recorded literal, or a reference to the primary's data stack (an export in
   * the primary region, `crossRegionId` in the secondary).
   * @default - no session cache in the environment
   */
  readonly globalDatastoreId?: string;
}

/**
 * Operations of one region: its copies of the region switch functions, its AWS FIS experiment templates
 * (stopped by the region's alarms) and its failover record of the service's name. The primary's also holds the
 * environment's dashboard and, when enabled, the Region switch plan, which gates the PRIMARY record.
 *
 * Nothing here reads a value of the other region's stacks but the immutable IDs of `cross-region.ts`: the
 * other region's functions, alarms and Aurora cluster are named by the ARNs their fixed names give
 * (`names.ts`), and the plan reads each fleet's ARN by name ({@link FleetArnLookup}). Deploys after both
 * regions' app stacks.
 */
export class OperationsStack extends RegionalStack {
  /** The region's fault injection templates. */
  public readonly experiments: FaultExperiments;
  /** The region's copies of the region switch functions. */
  public readonly switchFunctions: SwitchFunctions;
  /** The region's failover record of the service's name. */
  public readonly failoverRecord: FailoverRecord;
  /** The environment dashboard (primary only). */
  public readonly dashboard?: EnvironmentDashboard;
  /** The Region switch plan (primary only, when enabled in config). */
  public readonly plan?: RegionSwitchPlan;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const logsKey = this.encryptLogGroups();
    const { config } = props;
    this.switchFunctions = this.createSwitchFunctions(props, logsKey);
    this.experiments = this.createExperiments(props, logsKey);
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
      hostedZoneId: config.dns.hostedZoneId,
      zoneName: config.dns.hostedZoneName,
    });
    const primary = props.role === 'primary';
    this.plan = primary && config.regionSwitch.enabled ? this.createPlan(props) : undefined;
    this.failoverRecord = this.createFailoverRecord(props, hostedZone);
    this.dashboard = primary ? this.createDashboard(props) : undefined;
  }

  /** The ARN of a resource of this account with the name `resourceName` in `region`. */
  private arn(service: string, region: string, resource: string, resourceName: string): string {
    return Stack.of(this).formatArn({
      service,
      region,
      resource,
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The ARN of a region alarm by its fixed name (`names.ts`). */
  private alarmArn(config: EnvironmentConfig, region: string, ref: RegionAlarmRef): string {
    return this.arn('cloudwatch', region, 'alarm', regionAlarmName(config, ref));
  }

  /** The ARN of a region's Aurora cluster by its fixed identifier, when the environment has a database. */
  private clusterArn(props: OperationsStackProps, region: string): string | undefined {
    return hasDataComponent(props.config, 'database')
      ? this.arn('rds', region, 'cluster', props.names.databaseClusterIdentifier)
      : undefined;
  }

  /** The region's copies of the switch functions, knowing both regions by fixed names and immutable IDs. */
  private createSwitchFunctions(props: OperationsStackProps, logsKey: kms.IKey): SwitchFunctions {
    const { config, names } = props;
    const database = hasDataComponent(config, 'database');
    const regions = [config.primary.region, config.secondary.region];
    const fileSystemIds: Record<string, string | undefined> = {
      [this.region]: props.fileSystemId,
      [regions.find((r) => r !== this.region)!]: props.remoteFileSystemId,
    };
    const resources = (region: string): SwitchRegionResources => ({
      appStackName: stackName(config.name, 'App', region),
      dbClusterIdentifier: database ? names.databaseClusterIdentifier : undefined,
      dbClusterArn: this.clusterArn(props, region),
      cacheReplicationGroupId: props.globalDatastoreId !== undefined ? names.cacheReplicationGroupId : undefined,
      fileSystemId: fileSystemIds[region],
      regionalUrl: `https://${region}.${config.dns.domainName}`,
    });
    return new SwitchFunctions(this, 'SwitchFunctions', {
      regions: Object.fromEntries(regions.map((r) => [r, resources(r)])),
      services: config.services.map((svc) => ({
        name: svc.name,
        readinessPath: svc.readiness?.path ?? null,
        writablePointer: svc.readiness?.writablePointer ?? null,
      })),
      globalClusterIdentifier: database ? names.globalClusterIdentifier : undefined,
      globalDatastoreId: props.globalDatastoreId,
      planSteps: config.regionSwitch.enabled,
      functionName: (fn, planStep) => switchFunctionName(config.name, fn, planStep),
      logsKey,
    });
  }

  /**
   * The region's fault injection templates. What stops them: a service's own 5xx and healthy hosts for its instance
   * experiment, and the region's composite of every service's for the rest (at most 5 stop conditions each).
   */
  private createExperiments(props: OperationsStackProps, logsKey: kms.IKey): FaultExperiments {
    const { config } = props;
    const here = this.region;
    const imported = (arnOf: string, id: string) => cloudwatch.Alarm.fromAlarmArn(this, id, arnOf);
    return new FaultExperiments(this, 'Experiments', {
      fleets: config.services.map((svc) => ({
        service: svc.name,
        autoScalingGroupName: serviceNames(config, svc.name).autoScalingGroupName,
      })),
      vpc: props.vpc,
      logsKey,
      // In both regions: which one holds the writer (where the experiment applies) is runtime state.
      databaseClusterArn: this.clusterArn(props, here),
      stopAlarms: [imported(this.alarmArn(config, here, { alarm: SERVICE_HEALTH_ALARM }), 'StopAlarmServiceHealth')],
      serviceStopAlarms: Object.fromEntries(
        config.services.map((svc) => [
          svc.name,
          (['Target5xx', 'HealthyHosts'] as const).map((alarm, i) =>
            imported(
              this.alarmArn(config, here, { service: svc.name, alarm }),
              `StopAlarm${servicePascalName(svc.name)}${i + 1}`,
            ),
          ),
        ]),
      ),
    });
  }

  /**
   * The Region switch plan (primary only), naming the other region's functions, alarms and clusters by the ARNs
   * their fixed names give, and reading each service's group ARN in each region by name ({@link FleetArnLookup}).
   */
  private createPlan(props: OperationsStackProps): RegionSwitchPlan {
    const { config, names } = props;
    const regions = [config.primary.region, config.secondary.region];
    const cache = props.globalDatastoreId !== undefined;
    const files = props.fileSystemId !== undefined && props.remoteFileSystemId !== undefined;
    const functionArn = (region: string, fn: SwitchFunctionName) =>
      this.arn('lambda', region, 'function', switchFunctionName(config.name, fn, true));
    const refresh = new CfnParameter(this, 'PlanFleetLookup', {
      type: 'String',
      default: 'initial',
      description:
        "Change this value to read the web fleets' ARNs again (after an app stack was deleted and created " +
        'again): see docs/runbooks/first-deploy.md.',
    });
    const planRegion = (region: string): PlanRegion => ({
      region,
      fleets: config.services.map((svc) => {
        const fleet = new FleetArnLookup(this, `Fleet${region.replace(/-/g, '')}${servicePascalName(svc.name)}`, {
          region,
          autoScalingGroupName: serviceNames(config, svc.name).autoScalingGroupName,
          refreshToken: refresh.valueAsString,
        });
        new CfnOutput(this, PLAN_OUTPUTS.fleetArn(region, svc.name), {
          value: fleet.autoScalingGroupArn,
          description: `The ${svc.name} group of ${region} as the Region switch plan scales it`,
        });
        return { service: svc.name, autoScalingGroupArn: fleet.autoScalingGroupArn };
      }),
      databaseClusterArn: this.clusterArn(props, region),
      recordSetIdentifier: setIdentifier(config, region),
      functionArns: {
        preflight: functionArn(region, 'preflight'),
        cacheFailover: cache ? functionArn(region, 'cache-failover') : undefined,
        efsReplication: files ? functionArn(region, 'efs-replication') : undefined,
        postcheck: functionArn(region, 'postcheck'),
      },
    });
    return new RegionSwitchPlan(this, 'RegionSwitch', {
      planName: regionSwitchPlanName(config.name),
      regions: [planRegion(regions[0]!), planRegion(regions[1]!)],
      globalClusterIdentifier: hasDataComponent(config, 'database') ? names.globalClusterIdentifier : undefined,
      hostedZoneId: config.dns.hostedZoneId,
      recordName: config.dns.domainName,
      rto: Duration.minutes(config.regionSwitch.rtoMinutes),
      manualApproval: config.regionSwitch.manualApproval,
      alarmArns: regions.map((r) => this.alarmArn(config, r, { alarm: SERVICE_HEALTH_ALARM })),
      fleetTags: { 'aws:ResourceTag/Project': 'ha-web-service', 'aws:ResourceTag/Environment': config.name },
    });
  }

  /** The region's failover record of the service's name, gated by the plan's check in the primary. */
  private createFailoverRecord(props: OperationsStackProps, hostedZone: route53.IHostedZone): FailoverRecord {
    const { config, app } = props;
    const record = new FailoverRecord(this, 'FailoverRecord', {
      hostedZone,
      domainName: config.dns.domainName,
      region: this.region,
      failover: props.role === 'primary' ? route53.Failover.PRIMARY : route53.Failover.SECONDARY,
      loadBalancer: app.entry.loadBalancer,
      healthCheck: app.dns.healthCheck,
      setIdentifier: setIdentifier(config, this.region),
      planHealthChecks: this.plan?.plan.attrPlanHealthChecks,
    });
    const { gate, planHealthCheckId } = record;
    if (gate && planHealthCheckId) {
      new CfnOutput(this, DNS_OUTPUTS.planPrimaryHealthCheckId, {
        value: planHealthCheckId,
        description: "The Region switch plan's health check of the primary region, gating the PRIMARY record",
      });
      new CfnOutput(this, DNS_OUTPUTS.primaryGateHealthCheckId, {
        value: gate.healthCheckId,
        description: "The PRIMARY record's calculated health check (endpoint check AND the plan's primary check)",
      });
    }
    return record;
  }

  /** The environment dashboard (primary only): both regions' alarms side by side, and the DNS steering row. */
  private createDashboard(props: OperationsStackProps): EnvironmentDashboard {
    const { config, app } = props;
    const { gate, planHealthCheckId } = this.failoverRecord;
    // Every region has every alarm; the label names the role in the config, which is not the live one after a switch.
    const alarms = regionAlarms(config);
    const column = (region: string, role: string) => ({
      label: `${region} (created as ${role})`,
      region,
      alarmArns: alarms.map((ref) => this.alarmArn(config, region, ref)),
    });
    return new EnvironmentDashboard(this, 'Dashboard', {
      regions: [column(config.primary.region, 'primary'), column(config.secondary.region, 'secondary')],
      alarms,
      dnsSteering:
        gate && planHealthCheckId
          ? {
              primaryGateHealthCheckId: gate.healthCheckId,
              planPrimaryHealthCheckId: planHealthCheckId,
              primaryEndpointHealthCheckId: app.dns.healthCheck.healthCheckId,
            }
          : undefined,
    });
  }
}

/** Set identifier of a region's failover record: `<env>-<region>` (the plan maps records to regions by it). */
function setIdentifier(config: EnvironmentConfig, region: string): string {
  return `${config.name}-${region}`;
}
