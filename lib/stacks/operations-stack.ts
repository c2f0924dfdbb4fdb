import { ArnFormat, CfnOutput, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
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
  stackName,
  SwitchFunctionName,
  switchFunctionName,
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
    const { config, names, app } = props;
    const primary = props.role === 'primary';
    const here = this.region;
    const [primaryRegion, secondaryRegion] = [config.primary.region, config.secondary.region];
    const regions = [primaryRegion, secondaryRegion];
    const arn = (service: string, region: string, resource: string, resourceName: string) =>
      Stack.of(this).formatArn({ service, region, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const alarmArn = (region: string, ref: RegionAlarmRef) =>
      arn('cloudwatch', region, 'alarm', regionAlarmName(config, ref));
    const functionArn = (region: string, fn: SwitchFunctionName) =>
      arn('lambda', region, 'function', switchFunctionName(config, fn, true));
    const database = hasDataComponent(config, 'database');
    const clusterArn = (region: string) =>
      database ? arn('rds', region, 'cluster', names.databaseClusterIdentifier) : undefined;
    const cache = props.globalDatastoreId !== undefined;
    const files = props.fileSystemId !== undefined && props.remoteFileSystemId !== undefined;

    const fileSystemIds: Record<string, string | undefined> = {
      [here]: props.fileSystemId,
      [regions.find((r) => r !== here)!]: props.remoteFileSystemId,
    };
    const resources = (region: string): SwitchRegionResources => ({
      appStackName: stackName(config, 'App', region),
      dbClusterIdentifier: database ? names.databaseClusterIdentifier : undefined,
      dbClusterArn: clusterArn(region),
      cacheReplicationGroupId: cache ? names.cacheReplicationGroupId : undefined,
      fileSystemId: fileSystemIds[region],
      regionalUrl: `https://${region}.${config.dns.domainName}`,
    });
    this.switchFunctions = new SwitchFunctions(this, 'SwitchFunctions', {
      regions: Object.fromEntries(regions.map((r) => [r, resources(r)])),
      services: config.services.map((svc) => ({
        name: svc.name,
        readinessPath: svc.readiness?.path ?? null,
        writablePointer: svc.readiness?.writablePointer ?? null,
      })),
      globalClusterIdentifier: database ? names.globalClusterIdentifier : undefined,
      globalDatastoreId: props.globalDatastoreId,
      planSteps: config.regionSwitch.enabled,
      functionName: (fn, planStep) => switchFunctionName(config, fn, planStep),
      logsKey,
    });

    // What stops an experiment or reports to the plan: a service's own 5xx and healthy hosts for its instance
    // experiment, and the region's composite of every service's for the rest (at most 5 stop conditions each).
    const serviceAlarms = (region: string, service: string) =>
      (['Target5xx', 'HealthyHosts'] as const).map((alarm) => alarmArn(region, { service, alarm }));
    const serviceHealth = (region: string) => alarmArn(region, { alarm: SERVICE_HEALTH_ALARM });
    const imported = (arnOf: string, id: string) => cloudwatch.Alarm.fromAlarmArn(this, id, arnOf);
    this.experiments = new FaultExperiments(this, 'Experiments', {
      fleets: config.services.map((svc) => ({
        service: svc.name,
        autoScalingGroupName: serviceNames(config, svc.name).autoScalingGroupName,
      })),
      vpc: props.vpc,
      logsKey,
      // In both regions: which one holds the writer (where the experiment applies) is runtime state.
      databaseClusterArn: clusterArn(here),
      stopAlarms: [imported(serviceHealth(here), 'StopAlarmServiceHealth')],
      serviceStopAlarms: Object.fromEntries(
        config.services.map((svc) => [
          svc.name,
          serviceAlarms(here, svc.name).map((a, i) => imported(a, `StopAlarm${servicePascalName(svc.name)}${i + 1}`)),
        ]),
      ),
    });

    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
      hostedZoneId: config.dns.hostedZoneId,
      zoneName: config.dns.hostedZoneName,
    });
    const setIdentifier = (region: string) => `${config.name}-${region}`;

    if (primary && config.regionSwitch.enabled) {
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
        databaseClusterArn: clusterArn(region),
        recordSetIdentifier: setIdentifier(region),
        functionArns: {
          preflight: functionArn(region, 'preflight'),
          cacheFailover: cache ? functionArn(region, 'cache-failover') : undefined,
          efsReplication: files ? functionArn(region, 'efs-replication') : undefined,
          postcheck: functionArn(region, 'postcheck'),
        },
      });
      this.plan = new RegionSwitchPlan(this, 'RegionSwitch', {
        planName: names.regionSwitchPlanName,
        regions: [planRegion(primaryRegion), planRegion(secondaryRegion)],
        globalClusterIdentifier: database ? names.globalClusterIdentifier : undefined,
        hostedZoneId: config.dns.hostedZoneId,
        recordName: config.dns.domainName,
        rto: Duration.minutes(config.regionSwitch.rtoMinutes),
        manualApproval: config.regionSwitch.manualApproval,
        alarmArns: regions.map(serviceHealth),
        fleetTags: { 'aws:ResourceTag/Project': 'ha-web-service', 'aws:ResourceTag/Environment': config.name },
      });
    }

    this.failoverRecord = new FailoverRecord(this, 'FailoverRecord', {
      hostedZone,
      domainName: config.dns.domainName,
      region: here,
      failover: primary ? route53.Failover.PRIMARY : route53.Failover.SECONDARY,
      loadBalancer: app.entry.loadBalancer,
      healthCheck: app.dns.healthCheck,
      setIdentifier: setIdentifier(here),
      planHealthChecks: this.plan?.plan.attrPlanHealthChecks,
    });
    const { gate, planHealthCheckId } = this.failoverRecord;
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

    if (primary) {
      // Every region has every alarm; the label names the role in the config, which is not the live one after a switch.
      const alarms = regionAlarms(config);
      const column = (region: string, role: string) => ({
        label: `${region} (created as ${role})`,
        region,
        alarmArns: alarms.map((ref) => alarmArn(region, ref)),
      });
      this.dashboard = new EnvironmentDashboard(this, 'Dashboard', {
        regions: [column(primaryRegion, 'primary'), column(secondaryRegion, 'secondary')],
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
}
