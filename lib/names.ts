import { namePrefix, regionSwitchPlanName, stackPrefix } from '../contract';
import { dataComponents, DataComponent, EnvironmentConfig } from './config';

/** The alarms of each service in each region (its target group's), `ServiceAlarms`. */
export const SERVICE_ALARM_IDS = ['Target5xx', 'LatencyP99', 'HealthyHosts'] as const;

/** One of {@link SERVICE_ALARM_IDS}. */
export type ServiceAlarmId = (typeof SERVICE_ALARM_IDS)[number];

/**
 * The replication alarms of each region, one per data component the environment has (`RegionAlarms`), in the
 * order of the components.
 */
export const REPLICATION_ALARM_IDS = ['DatabaseReplicationLag', 'CacheReplicationLag', 'FilesSinceLastSync'] as const;

/** One of {@link REPLICATION_ALARM_IDS}. */
export type ReplicationAlarmId = (typeof REPLICATION_ALARM_IDS)[number];

/** The data component each replication alarm watches. */
export const REPLICATION_ALARM_COMPONENT: Readonly<Record<ReplicationAlarmId, DataComponent>> = {
  DatabaseReplicationLag: 'database',
  CacheReplicationLag: 'sessionCache',
  FilesSinceLastSync: 'sharedFiles',
};

/**
 * The composite alarm of each region that is in ALARM while any service's 5xx or healthy-hosts alarm is: the one
 * alarm the Region switch plan and the fault injection templates of the whole region watch (a template takes at
 * most 5 stop conditions, AWS FIS quotas), whatever the number of services.
 */
export const SERVICE_HEALTH_ALARM = 'ServiceHealth' as const;

/**
 * A region alarm that other stacks and the other region refer to by name: a service's, a replication alarm, or
 * the region's service health composite.
 */
export type RegionAlarmRef =
  | { readonly service: string; readonly alarm: ServiceAlarmId }
  | { readonly service?: undefined; readonly alarm: ReplicationAlarmId | typeof SERVICE_HEALTH_ALARM };

/**
 * Every alarm of a region, in dashboard order: each service's (in config order), then the replication alarm of
 * each data component the environment has. Every region has all of them, whatever its role in the config.
 */
export function regionAlarms(config: EnvironmentConfig): RegionAlarmRef[] {
  const components = dataComponents(config);
  return [
    ...config.services.flatMap((s) => SERVICE_ALARM_IDS.map((alarm) => ({ service: s.name, alarm }))),
    ...REPLICATION_ALARM_IDS.filter((a) => components.includes(REPLICATION_ALARM_COMPONENT[a])).map((alarm) => ({
      alarm,
    })),
  ];
}

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
  /** Name of the ARC Region switch plan; the operator CLI finds the plan by it: `haweb-<env>`. */
  readonly regionSwitchPlanName: string;
}

/** The physical names of an environment. */
export function physicalNames(config: EnvironmentConfig): PhysicalNames {
  const base = namePrefix(config.name);
  return {
    stackPrefix: stackPrefix(config.name),
    globalClusterIdentifier: `${base}-global`,
    databaseClusterIdentifier: `${base}-aurora`,
    databaseSecretName: `haweb/${config.name}/database`,
    cacheAuthSecretName: `haweb/${config.name}/cache-auth`,
    cacheReplicationGroupId: `${base}-cache`,
    globalDatastoreSuffix: `${base}-sessions`,
    regionSwitchPlanName: regionSwitchPlanName(config.name),
  };
}

/** The fixed names of one service, the same in both regions. */
export interface ServiceNames {
  /**
   * Name of the service's Auto Scaling group in each region: `haweb-<env>-<service>`. The Region switch plan,
   * fault injection and the CLI find it by name, and no deploy can replace it by accident.
   */
  readonly autoScalingGroupName: string;
  /**
   * Base Parameter Store path of the service's central configuration: `/haweb/<env>/<service>`; each set lives
   * under `<path>/<16 hex digits of its hash>/<NAME>` (`ServiceSettings`).
   */
  readonly settingsPath: string;
}

/** The fixed names of `service` in `config`. */
export function serviceNames(config: EnvironmentConfig, service: string): ServiceNames {
  return {
    autoScalingGroupName: `haweb-${config.name}-${service}`,
    settingsPath: `/haweb/${config.name}/${service}`,
  };
}

/**
 * Name of a region alarm, in kebab case: `haweb-<env>-<service>-<alarm>` for a service's alarm (for example
 * `haweb-prod-web-healthy-hosts`), `haweb-<env>-<alarm>` for a replication alarm (`haweb-prod-database-replication-lag`).
 * The Region switch plan, the fault injection templates and the environment dashboard build each region's alarm
 * ARN from it.
 */
export function regionAlarmName(config: EnvironmentConfig, ref: RegionAlarmRef): string {
  const kebab = ref.alarm.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return ref.service === undefined ? `haweb-${config.name}-${kebab}` : `haweb-${config.name}-${ref.service}-${kebab}`;
}
