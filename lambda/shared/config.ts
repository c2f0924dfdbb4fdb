/**
 * Parsing and validation of the environment the CDK app gives each function.
 * Every error names the variable, the value received and the fix.
 */
import type { Env } from './env';
import { ConfigError } from './errors';

/**
 * Resources of one region, from the `REGIONS` variable: fixed names and immutable IDs only. Each function
 * requires the keys it uses. Values that change with a deploy of the region's app stack (its target group,
 * its health check) are not here: preflight reads them from that stack's outputs when it runs.
 */
export interface RegionResources {
  /** Name of the region's app stack (`HaWeb-<env>-App-<region>`), whose outputs hold its target group and health check. */
  readonly appStackName?: string;
  /** Identifier of the region's Aurora cluster (member of the global cluster). */
  readonly dbClusterIdentifier?: string;
  /** ID of the region's ElastiCache replication group (member of the Global Datastore). */
  readonly cacheReplicationGroupId?: string;
  /** ID of the region's EFS file system. */
  readonly fileSystemId?: string;
  /** HTTPS URL of the region's deep readiness endpoint, for example `https://us-west-2.example.com/health/ready`. */
  readonly serviceUrl?: string;
}

/** A key of {@link RegionResources}. */
export type RegionKey = keyof RegionResources;

/** The two regions of the service and their resources. */
export interface Regions {
  /** Region names, in the order given. */
  readonly names: readonly string[];
  /** Resources by region name. */
  readonly byName: Readonly<Record<string, RegionResources>>;
}

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const VALIDATORS: Record<
  RegionKey,
  { readonly test: (value: string, region: string) => boolean; readonly hint: string }
> = {
  appStackName: {
    test: (v, region) => /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(v) && v.endsWith(`-${region}`),
    hint: "the name of the region's app stack, ending in the region (HaWeb-<env>-App-<region>)",
  },
  dbClusterIdentifier: {
    test: (v) => /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(v),
    hint: 'an Aurora DB cluster identifier',
  },
  cacheReplicationGroupId: {
    test: (v) => /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/.test(v),
    hint: 'an ElastiCache replication group ID',
  },
  fileSystemId: {
    test: (v) => /^fs-[0-9a-f]{8,40}$/.test(v),
    hint: 'an EFS file system ID (fs-...)',
  },
  serviceUrl: {
    test: (v) => {
      try {
        return new URL(v).protocol === 'https:';
      } catch {
        return false;
      }
    },
    hint: 'an https:// URL of the deep readiness endpoint',
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses `REGIONS`: a JSON object from each of the two region names to its
 * resources. `required` lists the keys this function needs in both regions.
 */
export function parseRegions(raw: string | undefined, required: readonly RegionKey[]): Regions {
  const example = '{"us-east-1":{...},"us-west-2":{...}}';
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError(`REGIONS is not set; set it to a JSON object of the two regions' resources, ${example}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`REGIONS is not valid JSON (${(err as Error).message}); expected ${example}.`);
  }
  if (!isObject(parsed)) {
    throw new ConfigError(`REGIONS must be a JSON object of region name to resources (got ${JSON.stringify(parsed)}).`);
  }
  const names = Object.keys(parsed);
  if (names.length !== 2) {
    throw new ConfigError(
      `REGIONS must name exactly two regions (got ${names.length}: ${names.join(', ') || 'none'}).`,
    );
  }
  const byName: Record<string, RegionResources> = {};
  for (const name of names) {
    if (!REGION_NAME.test(name)) {
      throw new ConfigError(`REGIONS has a key "${name}" that is not a region name such as us-east-1.`);
    }
    const entry = parsed[name];
    if (!isObject(entry)) {
      throw new ConfigError(`REGIONS["${name}"] must be an object of resources (got ${JSON.stringify(entry)}).`);
    }
    const resources: Record<string, string> = {};
    for (const key of Object.keys(VALIDATORS) as RegionKey[]) {
      const value = entry[key];
      if (value === undefined) {
        if (required.includes(key)) {
          throw new ConfigError(`REGIONS["${name}"].${key} is missing; set it to ${VALIDATORS[key].hint}.`);
        }
        continue;
      }
      if (typeof value !== 'string' || !VALIDATORS[key].test(value, name)) {
        throw new ConfigError(
          `REGIONS["${name}"].${key} must be ${VALIDATORS[key].hint} (got ${JSON.stringify(value)}).`,
        );
      }
      resources[key] = value;
    }
    byName[name] = resources;
  }
  return { names, byName };
}

/** The value of a required variable that must match `pattern`. */
export function requiredString(env: Env, name: string, pattern: RegExp, hint: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(`${name} is not set; set it to ${hint}.`);
  }
  if (!pattern.test(value)) {
    throw new ConfigError(`${name} must be ${hint} (got ${JSON.stringify(value)}).`);
  }
  return value;
}

/** A whole number of seconds from `name`, `fallback` when unset. */
export function secondsFromEnv(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number of seconds from 0 to ${max} (got ${JSON.stringify(raw)}).`);
  }
  return Number(raw);
}

/** `true` or `false` from `name`, `false` when unset. */
export function booleanFromEnv(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(raw)}).`);
}

/** Identifier of the Aurora global cluster, from `GLOBAL_CLUSTER_IDENTIFIER`. */
export function globalClusterIdentifier(env: Env): string {
  return requiredString(
    env,
    'GLOBAL_CLUSTER_IDENTIFIER',
    /^[a-zA-Z][a-zA-Z0-9-]{0,254}$/,
    'the Aurora global cluster ID',
  );
}

/** Full ID of the ElastiCache Global Datastore (with the AWS prefix), from `GLOBAL_DATASTORE_ID`. */
export function globalDatastoreId(env: Env): string {
  return requiredString(
    env,
    'GLOBAL_DATASTORE_ID',
    /^[a-z]{3,8}-[a-zA-Z0-9-]{1,60}$/,
    'the full Global Datastore ID including its AWS prefix, for example ldgnf-haweb-prod-sessions',
  );
}

/**
 * A configuration computed at cold start. An invalid environment is logged at
 * init and then reported by every invocation, so the plan step shows it.
 */
export class ColdStartConfig<T> {
  private readonly value?: T;
  private readonly error?: Error;

  constructor(load: () => T, onError: (err: Error) => void) {
    try {
      this.value = load();
    } catch (err) {
      this.error = err as Error;
      onError(this.error);
    }
  }

  /** The configuration, or the error found at cold start. */
  get(): T {
    if (this.error) throw this.error;
    return this.value as T;
  }
}
