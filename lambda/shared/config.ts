/**
 * Parsing and validation of the environment the CDK app gives each function (its names and which function reads
 * which are the contract's, `contract/switch-functions.ts`). Every error names the variable, the value received and
 * the fix.
 *
 * - REGIONS: the two regions' fixed names and immutable IDs ({@link parseRegions}).
 * - SERVICES: the environment's services, each with its readiness path and writable pointer
 *   ({@link parseServices}).
 * - The data components (database, cache, files) are each optional: GLOBAL_CLUSTER_IDENTIFIER with every
 *   region's `dbClusterIdentifier`, GLOBAL_DATASTORE_ID with every region's `cacheReplicationGroupId`, every
 *   region's `fileSystemId`: all or none of each ({@link dataComponents}).
 */
import {
  COMPONENT_REGION_KEY,
  COMPONENTS,
  componentVariable,
  SWITCH_FUNCTION_CONTRACT,
  type Component,
  type ComponentVariable,
  type FunctionVariable,
  type RegionKey,
  type RegionResources,
  type ServiceSpec,
  type SwitchFunctionName,
} from '../../contract';
import { ConfigError } from './errors';

export type { RegionKey, RegionResources, ServiceSpec } from '../../contract';

/** The variables `K` of a function's environment, as it reads them (`FunctionEnv` of the contract). */
export type VariablesEnv<K extends FunctionVariable> = { readonly [V in K]?: string };

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
  regionalUrl: {
    test: (v, region) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return false;
      }
      return (
        url.protocol === 'https:' &&
        url.hostname.startsWith(`${region}.`) &&
        url.username === '' &&
        url.password === '' &&
        url.pathname === '/' &&
        !/[?#]/.test(v)
      );
    },
    hint: "the region's own base URL, https://<region>.<domain> (https, no path, query or fragment)",
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
export function requiredString<K extends FunctionVariable>(
  env: VariablesEnv<K>,
  name: K,
  pattern: RegExp,
  hint: string,
): string {
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
export function secondsFromEnv<K extends FunctionVariable>(
  env: VariablesEnv<K>,
  name: K,
  fallback: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number of seconds from 0 to ${max} (got ${JSON.stringify(raw)}).`);
  }
  return Number(raw);
}

/** `true` or `false` from `name`, `false` when unset. */
export function booleanFromEnv<K extends FunctionVariable>(env: VariablesEnv<K>, name: K): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(raw)}).`);
}

/** What every function's configuration holds. */
export interface SwitchConfig {
  /** The two regions and their resources (REGIONS). */
  readonly regions: Regions;
  /** Report only (DRY_RUN). */
  readonly dryRun: boolean;
}

/** How a function that waits for a change waits. */
export interface WaitConfig {
  /** Longest wait, in seconds (WAIT_SECONDS, default 600, at most 900). */
  readonly waitSeconds: number;
  /** Interval between reads while waiting, in seconds (POLL_SECONDS, at least 1, at most 300). */
  readonly pollSeconds: number;
}

/** REGIONS, with every key function `fn` requires (its contract's `regionKeys`), and DRY_RUN. */
export function switchConfig(fn: SwitchFunctionName, env: VariablesEnv<'REGIONS' | 'DRY_RUN'>): SwitchConfig {
  return {
    regions: parseRegions(env.REGIONS, SWITCH_FUNCTION_CONTRACT[fn].regionKeys),
    dryRun: booleanFromEnv(env, 'DRY_RUN'),
  };
}

/** POLL_SECONDS, `fallback` when unset. */
export function pollSecondsFromEnv(env: VariablesEnv<'POLL_SECONDS'>, fallback: number): number {
  return Math.max(1, secondsFromEnv(env, 'POLL_SECONDS', fallback, 300));
}

/** WAIT_SECONDS and POLL_SECONDS (`pollFallback` when unset). */
export function waitConfig(env: VariablesEnv<'WAIT_SECONDS' | 'POLL_SECONDS'>, pollFallback: number): WaitConfig {
  return {
    waitSeconds: secondsFromEnv(env, 'WAIT_SECONDS', 600, 900),
    pollSeconds: pollSecondsFromEnv(env, pollFallback),
  };
}

/** The resource `key` of the request's target and source regions (a function that reads it requires it in both). */
export function ofBothRegions(
  regions: Regions,
  request: { readonly targetRegion: string; readonly sourceRegion: string },
  key: RegionKey,
): { readonly target: string; readonly source: string } {
  return { target: regions.byName[request.targetRegion]![key]!, source: regions.byName[request.sourceRegion]![key]! };
}

/** What the functions that GET the services' readiness endpoints (preflight, postcheck) read of them. */
export interface ReadinessConfig {
  /** The environment's services (SERVICES). */
  readonly services: readonly ServiceSpec[];
  /** Timeout of one readiness GET, in seconds (REQUEST_TIMEOUT_SECONDS, default 5, at most 60). */
  readonly requestTimeoutSeconds: number;
}

/** SERVICES and REQUEST_TIMEOUT_SECONDS. */
export function readinessConfig(env: VariablesEnv<'SERVICES' | 'REQUEST_TIMEOUT_SECONDS'>): ReadinessConfig {
  return {
    services: parseServices(env.SERVICES),
    requestTimeoutSeconds: Math.max(1, secondsFromEnv(env, 'REQUEST_TIMEOUT_SECONDS', 5, 60)),
  };
}

/** The variables of the components' global IDs. */
type GlobalIdVariable = ComponentVariable;

/** The environment of the components' global IDs. */
export type GlobalIdsEnv = VariablesEnv<GlobalIdVariable>;

/** How each global ID is checked. */
const GLOBAL_IDS: Readonly<Record<GlobalIdVariable, { readonly pattern: RegExp; readonly hint: string }>> = {
  GLOBAL_CLUSTER_IDENTIFIER: { pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,254}$/, hint: 'the Aurora global cluster ID' },
  GLOBAL_DATASTORE_ID: {
    pattern: /^[a-z]{3,8}-[a-zA-Z0-9-]{1,60}$/,
    hint: 'the full Global Datastore ID including its AWS prefix, for example ldgnf-haweb-prod-sessions',
  },
};

function globalId(env: GlobalIdsEnv, name: GlobalIdVariable): string {
  return requiredString(env, name, GLOBAL_IDS[name].pattern, GLOBAL_IDS[name].hint);
}

/** Identifier of the Aurora global cluster, from `GLOBAL_CLUSTER_IDENTIFIER` (required). */
export function globalClusterIdentifier(env: VariablesEnv<'GLOBAL_CLUSTER_IDENTIFIER'>): string {
  return globalId(env, 'GLOBAL_CLUSTER_IDENTIFIER');
}

/** Full ID of the ElastiCache Global Datastore (with the AWS prefix), from `GLOBAL_DATASTORE_ID` (required). */
export function globalDatastoreId(env: VariablesEnv<'GLOBAL_DATASTORE_ID'>): string {
  return globalId(env, 'GLOBAL_DATASTORE_ID');
}

/** The data components an environment may have, in the order the functions handle them (the contract's). */
export const DATA_COMPONENTS = COMPONENTS;

/** One of {@link DATA_COMPONENTS}: database (Aurora global database), cache (Global Datastore), files (EFS replication). */
export type DataComponent = Component;

/** Which data components the environment has, and their global IDs. */
export interface DataComponents {
  /** The components the environment has, in {@link DATA_COMPONENTS} order (possibly none). */
  readonly present: readonly DataComponent[];
  /** The Aurora global cluster ID (GLOBAL_CLUSTER_IDENTIFIER); set exactly when `present` has `database`. */
  readonly globalClusterIdentifier?: string;
  /** The full Global Datastore ID (GLOBAL_DATASTORE_ID); set exactly when `present` has `cache`. */
  readonly globalDatastoreId?: string;
}

/** `items` as an English list: `a`, `a and b`, `a, b and c`; `none` when empty. */
export function listOf(items: readonly string[], none = 'none'): string {
  if (items.length === 0) return none;
  if (items.length === 1) return items[0]!;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * Which data components the environment has. Each is all or nothing: `database` is GLOBAL_CLUSTER_IDENTIFIER
 * (non-empty) with `dbClusterIdentifier` in every region, `cache` GLOBAL_DATASTORE_ID with
 * `cacheReplicationGroupId` in every region, `files` `fileSystemId` in every region. A component given only in
 * part is a {@link ConfigError} naming what is there and what is missing.
 */
export function dataComponents(env: GlobalIdsEnv, regions: Regions): DataComponents {
  const keys = (key: RegionKey, regionNames: readonly string[]) => {
    const list = listOf(regionNames.map((r) => `REGIONS["${r}"].${key}`));
    return `${list} ${regionNames.length > 1 ? 'are' : 'is'}`;
  };
  /** Whether the environment has `component`: its regional key in every region (and its global variable). */
  const has = (component: DataComponent): boolean => {
    const key = COMPONENT_REGION_KEY[component];
    const global = componentVariable(component);
    const given = regions.names.filter((r) => regions.byName[r]![key] !== undefined);
    const missing = regions.names.filter((r) => !given.includes(r));
    if (global === undefined) {
      if (given.length > 0 && missing.length > 0) {
        throw new ConfigError(
          `${keys(key, given)} set but ${keys(key, missing)} not: an environment with ${component} needs ${key} in ` +
            'both regions, one without needs it in neither.',
        );
      }
      return given.length > 0;
    }
    const globalSet = env[global] !== undefined && env[global] !== '';
    if (globalSet && missing.length > 0) {
      throw new ConfigError(
        `${global} is set (the environment has a ${component}) but ${keys(key, missing)} missing; set ${key} in ` +
          `both regions, or unset ${global} if the environment has no ${component}.`,
      );
    }
    if (!globalSet && given.length > 0) {
      throw new ConfigError(
        `${keys(key, given)} set but ${global} is not: an environment with a ${component} needs both (set ${global}), ` +
          `one without needs neither (remove ${key} from REGIONS).`,
      );
    }
    return globalSet;
  };
  const present = DATA_COMPONENTS.filter(has);
  return {
    present,
    globalClusterIdentifier: present.includes('database') ? globalClusterIdentifier(env) : undefined,
    globalDatastoreId: present.includes('cache') ? globalDatastoreId(env) : undefined,
  };
}

/** Most services an environment may have. */
export const MAX_SERVICES = 20;

const SERVICE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const SERVICE_NAME_MAX = 20;
/** A path: `/` then RFC 3986 path characters (unreserved, sub-delims, `:`, `@`, `/`, percent-encoded octets). */
const READINESS_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const SERVICE_KEYS = ['name', 'readinessPath', 'writablePointer'] as const satisfies readonly (keyof ServiceSpec)[];

/**
 * The reference tokens of an RFC 6901 JSON pointer, unescaped (`~1` is `/`, `~0` is `~`), or undefined when
 * `pointer` is not one. `""` (the whole document) has no tokens.
 */
export function jsonPointerTokens(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/') || /~(?![01])/.test(pointer)) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Parses `SERVICES`: a JSON array of 1 to {@link MAX_SERVICES} services, each
 * `{"name": ..., "readinessPath": "/..." | null, "writablePointer": "/..." | null}`, names unique.
 */
export function parseServices(raw: string | undefined): ServiceSpec[] {
  const example = '[{"name":"web","readinessPath":"/health/ready","writablePointer":"/database/writable"}]';
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError(`SERVICES is not set; set it to a JSON array of the environment's services, ${example}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`SERVICES is not valid JSON (${(err as Error).message}); expected ${example}.`);
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(
      `SERVICES must be a JSON array of services such as ${example} (got ${JSON.stringify(parsed)}).`,
    );
  }
  if (parsed.length < 1 || parsed.length > MAX_SERVICES) {
    throw new ConfigError(`SERVICES must list 1 to ${MAX_SERVICES} services (got ${parsed.length}).`);
  }
  const services: ServiceSpec[] = [];
  parsed.forEach((entry: unknown, i) => {
    const at = `SERVICES[${i}]`;
    if (!isObject(entry)) {
      throw new ConfigError(
        `${at} must be an object {"name", "readinessPath", "writablePointer"} (got ${JSON.stringify(entry)}).`,
      );
    }
    const unknown = Object.keys(entry).filter((k) => !(SERVICE_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${at} has unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; its keys are name, ` +
          'readinessPath and writablePointer.',
      );
    }
    const { name, readinessPath, writablePointer } = entry;
    if (typeof name !== 'string' || !SERVICE_NAME.test(name) || name.length > SERVICE_NAME_MAX) {
      throw new ConfigError(
        `${at}.name must be a service name: lower-case letters and digits in dash-separated words, starting with a ` +
          `letter, at most ${SERVICE_NAME_MAX} characters, such as web or order-api (got ${JSON.stringify(name)}).`,
      );
    }
    const first = services.findIndex((s) => s.name === name);
    if (first >= 0) {
      throw new ConfigError(`${at}.name "${name}" is also SERVICES[${first}]'s; give each service a unique name.`);
    }
    if (readinessPath === undefined) {
      throw new ConfigError(
        `${at}.readinessPath is missing; set it to the path of ${name}'s readiness endpoint (starting with /), or ` +
          'null for a service postcheck does not check.',
      );
    }
    if (readinessPath !== null && (typeof readinessPath !== 'string' || !READINESS_PATH.test(readinessPath))) {
      throw new ConfigError(
        `${at}.readinessPath must be a URL path starting with / (no query, fragment or spaces), such as ` +
          `/health/ready, or null (got ${JSON.stringify(readinessPath)}).`,
      );
    }
    if (writablePointer === undefined) {
      throw new ConfigError(
        `${at}.writablePointer is missing; set it to the JSON pointer of ${name}'s "writable" flag in its ` +
          'readiness body, such as /database/writable, or null when HTTP 200 is enough.',
      );
    }
    if (
      writablePointer !== null &&
      (typeof writablePointer !== 'string' || writablePointer === '' || !jsonPointerTokens(writablePointer))
    ) {
      throw new ConfigError(
        `${at}.writablePointer must be an RFC 6901 JSON pointer such as /database/writable (each token after a /, ` +
          `~ written ~0 and / written ~1), or null (got ${JSON.stringify(writablePointer)}).`,
      );
    }
    if (writablePointer !== null && readinessPath === null) {
      throw new ConfigError(
        `${at}.writablePointer is ${JSON.stringify(writablePointer)} but readinessPath is null: a pointer needs a ` +
          'readiness body to read; set readinessPath, or set writablePointer to null.',
      );
    }
    services.push({ name, readinessPath, writablePointer });
  });
  return services;
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
