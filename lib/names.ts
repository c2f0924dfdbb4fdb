import { EnvironmentConfig } from './config';

/** The region switch functions, by folder name under lambda/. */
export type SwitchFunctionName = 'preflight' | 'cache-failover' | 'efs-replication' | 'postcheck' | 'rejoin';

/**
 * The alarms of a region that other stacks and the other region refer to by name. Every region has all of them,
 * whatever its role in the config (`region-alarms.ts`).
 */
export const REGION_ALARM_IDS = [
  'Target5xx',
  'LatencyP99',
  'HealthyHosts',
  'DatabaseReplicationLag',
  'CacheReplicationLag',
  'FilesSinceLastSync',
] as const;

/** One of {@link REGION_ALARM_IDS}. */
export type RegionAlarmId = (typeof REGION_ALARM_IDS)[number];

/**
 * The physical names the app fixes. Each is fixed for one of two reasons:
 *
 * - the other region, the Region switch plan or the operator CLI must find the resource without a
 *   cross-region reference (a reference would go stale when the resource is replaced, and would need
 *   the other region at deploy time);
 * - a stateful resource must never be replaced by accident: CloudFormation cannot create a
 *   replacement under a name that is still taken, so a change that would replace it fails the deploy
 *   instead of creating an empty database or cache.
 *
 * Every name is the same in both regions (names of these resource types are unique per region), so the
 * two regions' templates differ only where the region itself differs. Everything else is named by
 * CloudFormation. The first-deploy runbook (docs/runbooks/first-deploy.md) uses these names in its
 * recovery commands.
 */
export interface PhysicalNames {
  /** Prefix of every stack name: `HaWeb-<env>`. */
  readonly stackPrefix: string;
  /** Identifier of the Aurora global cluster that the secondary joins: `haweb-<env>-global`. */
  readonly globalClusterIdentifier: string;
  /** Identifier of each region's Aurora cluster (a member of the global cluster): `haweb-<env>-aurora`. */
  readonly databaseClusterIdentifier: string;
  /** Secrets Manager name of the database credentials (replicated to the secondary): `haweb/<env>/database`. */
  readonly databaseSecretName: string;
  /** Secrets Manager name of the cache AUTH token (replicated to the secondary): `haweb/<env>/cache-auth`. */
  readonly cacheAuthSecretName: string;
  /** ID of each region's ElastiCache replication group (a member of the Global Datastore): `haweb-<env>-cache`. */
  readonly cacheReplicationGroupId: string;
  /** Suffix of the ElastiCache Global Datastore's ID (AWS prefixes it): `haweb-<env>-sessions`. */
  readonly globalDatastoreSuffix: string;
  /** Name of each region's web fleet (Auto Scaling group): `haweb-<env>-web`. */
  readonly autoScalingGroupName: string;
  /** Name of the ARC Region switch plan; the operator CLI finds the plan by it: `haweb-<env>`. */
  readonly regionSwitchPlanName: string;
  /**
   * Base Parameter Store path of the service's settings, the same in both regions: `/haweb/<env>/web`; each set
   * lives under `<path>/<16 hex digits of its hash>/<NAME>` (`ServiceSettings`).
   */
  readonly serviceSettingsPath: string;
}

/** The physical names of an environment. */
export function physicalNames(config: EnvironmentConfig): PhysicalNames {
  const base = `haweb-${config.name}`;
  return {
    stackPrefix: `HaWeb-${config.name}`,
    globalClusterIdentifier: `${base}-global`,
    databaseClusterIdentifier: `${base}-aurora`,
    databaseSecretName: `haweb/${config.name}/database`,
    cacheAuthSecretName: `haweb/${config.name}/cache-auth`,
    cacheReplicationGroupId: `${base}-cache`,
    globalDatastoreSuffix: `${base}-sessions`,
    autoScalingGroupName: `${base}-web`,
    regionSwitchPlanName: base,
    serviceSettingsPath: `/haweb/${config.name}/web`,
  };
}

/** The stack lifecycles of one region, in deploy order. */
export type StackLifecycle = 'Network' | 'Storage' | 'Data' | 'App' | 'Operations';

/** Name of a stack: `HaWeb-<env>-<lifecycle>-<region>`. */
export function stackName(config: EnvironmentConfig, lifecycle: StackLifecycle, region: string): string {
  return `${physicalNames(config).stackPrefix}-${lifecycle}-${region}`;
}

/**
 * Name of a region switch function: `haweb-<env>-<function>`, and `haweb-<env>-<function>-plan-step` for the
 * copy only the Region switch plan invokes. The same in both regions, so the plan and the CLI build each
 * region's function ARN from its region alone.
 */
export function switchFunctionName(config: EnvironmentConfig, fn: SwitchFunctionName, planStep = false): string {
  return `haweb-${config.name}-${fn}${planStep ? '-plan-step' : ''}`;
}

/**
 * Name of a region alarm: `haweb-<env>-<alarm>` in kebab case, for example `haweb-prod-healthy-hosts`. The
 * Region switch plan, the fault injection templates and the environment dashboard build each region's alarm
 * ARN from it.
 */
export function regionAlarmName(config: EnvironmentConfig, alarm: RegionAlarmId): string {
  return `haweb-${config.name}-${alarm.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}
