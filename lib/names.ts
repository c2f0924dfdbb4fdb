import { EnvironmentConfig } from './config';

/**
 * The few physical names the app fixes, each because the other region must
 * find the resource by name without a cross-region reference. Everything else
 * is named by CloudFormation.
 */
export interface PhysicalNames {
  /** Prefix of every stack name. */
  readonly stackPrefix: string;
  /** Identifier of the Aurora global cluster that the secondary joins. */
  readonly globalClusterIdentifier: string;
  /** Secrets Manager name of the database credentials (replicated to the secondary). */
  readonly databaseSecretName: string;
  /** Secrets Manager name of the cache AUTH token (replicated to the secondary). */
  readonly cacheAuthSecretName: string;
  /** Suffix of the ElastiCache Global Datastore ID. */
  readonly globalDatastoreSuffix: string;
  /** Name of the ARC Region switch plan; the operator CLI finds the plan by it. */
  readonly regionSwitchPlanName: string;
}

/** The physical names of an environment. */
export function physicalNames(config: EnvironmentConfig): PhysicalNames {
  return {
    stackPrefix: `HaWeb-${config.name}`,
    globalClusterIdentifier: `haweb-${config.name}-global`,
    databaseSecretName: `haweb/${config.name}/database`,
    cacheAuthSecretName: `haweb/${config.name}/cache-auth`,
    globalDatastoreSuffix: `haweb-${config.name}-sessions`,
    regionSwitchPlanName: `haweb-${config.name}`,
  };
}
