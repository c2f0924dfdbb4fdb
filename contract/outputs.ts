/**
 * Keys of the stack outputs that something outside the CDK app reads at run time: the operator CLI and the region
 * switch functions. An output is read from the stack that owns the value, when it is needed, so it is never stale.
 */
import type { Component } from './components';
import type { StackLifecycle } from './stacks';
import { switchFunctionsOf, type SwitchFunctionName } from './switch-functions';

/**
 * A name of lower-case words joined by dashes (a service name, `config.services[].name`, or a function name) in
 * Pascal case, for output keys and construct IDs: `order-api` → `OrderApi`, `cache-failover` → `CacheFailover`.
 */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A service name in Pascal case ({@link pascalCase}), for output keys and construct IDs: `order-api` → `OrderApi`. */
export const servicePascalName: (service: string) => string = pascalCase;

/** Outputs of each region's App stack (`HaWeb-<env>-App-<region>`). */
export const APP_OUTPUTS = {
  /** ID of the region's Route 53 health check (its deep readiness endpoint). */
  healthCheckId: 'HealthCheckId',
  /** DNS name of the region's load balancer. */
  loadBalancerDnsName: 'LoadBalancerDnsName',
  /**
   * Output key of the ARN of one service's target group: `TargetGroupArn` + the service name in Pascal case
   * (`web` → `TargetGroupArnWeb`, `order-api` → `TargetGroupArnOrderApi`).
   */
  targetGroupArn: (service: string): string => `TargetGroupArn${servicePascalName(service)}`,
  /** The region's own URL, `https://<region>.<domain>/`. */
  regionalUrl: 'RegionalUrl',
} as const;

/** Outputs of each region's Storage stack (environments with shared files). */
export const STORAGE_OUTPUTS = {
  /** ID of the region's EFS file system. */
  fileSystemId: 'FileSystemId',
} as const;

/** Outputs of the primary region's Data stack (environments with a session cache). */
export const DATA_OUTPUTS = {
  /** Full ID of the ElastiCache Global Datastore (the prefix AWS assigns and the fixed suffix). */
  globalDatastoreId: 'GlobalDatastoreId',
} as const;

/** Outputs of the primary region's Operations stack when a Region switch plan steers DNS. */
export const DNS_OUTPUTS = {
  /** The plan's health check of the primary region. */
  planPrimaryHealthCheckId: 'PlanPrimaryHealthCheckId',
  /** The PRIMARY record's calculated health check. */
  primaryGateHealthCheckId: 'PrimaryGateHealthCheckId',
} as const;

/** Outputs of the primary region's Operations stack when a Region switch plan exists: the groups the plan scales. */
export const PLAN_OUTPUTS = {
  /**
   * Output key of the ARN of `service`'s Auto Scaling group that the plan scales in `region`: `PlanFleetArn` +
   * region without dashes + the service in Pascal case (`PlanFleetArnuseast1Web`).
   */
  fleetArn: (region: string, service: string): string =>
    `PlanFleetArn${region.replace(/-/g, '')}${servicePascalName(service)}`,
} as const;

/** Outputs of each region's Operations stack: the operator copies of the switch functions. */
export const OPERATIONS_OUTPUTS = {
  /**
   * Output key of the name of a switch function (the operator's copy, which `rejoin` and the runbooks invoke):
   * the function in Pascal case + `FunctionName` (`RejoinFunctionName`, `CacheFailoverFunctionName`).
   */
  functionName: (fn: SwitchFunctionName): string => `${pascalCase(fn)}FunctionName`,
} as const;

/** What decides which outputs an environment's stacks have. */
export interface OutputsShape {
  /** The services' names. */
  readonly services: readonly string[];
  /** The primary region (the config's), then the secondary. */
  readonly regions: readonly [string, string];
  /** The data components the environment has. */
  readonly components: readonly Component[];
  /** Whether the environment has a Region switch plan. */
  readonly regionSwitchPlan: boolean;
}

/** One output read at run time: the stack (by lifecycle and region) and the key. */
export interface RuntimeOutput {
  /** The stack's lifecycle. */
  readonly lifecycle: StackLifecycle;
  /** The stack's region. */
  readonly region: string;
  /** The output key. */
  readonly key: string;
}

/** The keys of an output record: its strings as they are, each function applied to each of `args`. */
function keysOf<A>(record: Readonly<Record<string, string | ((arg: A) => string)>>, args: readonly A[]): string[] {
  return Object.values(record).flatMap((k) => (typeof k === 'string' ? [k] : args.map(k)));
}

/**
 * Every output of this module that the stacks of an environment of `shape` have, and so may be read at run time:
 * each region's App outputs (every service's target group) and Operations outputs (the functions the environment
 * has), each region's Storage outputs with shared files, the primary's Data outputs with a session cache, and with a
 * Region switch plan the primary Operations stack's DNS and plan outputs (every service in both regions).
 */
export function runtimeOutputs(shape: OutputsShape): RuntimeOutput[] {
  const [primary] = shape.regions;
  const at = (lifecycle: StackLifecycle, regions: readonly string[], keys: readonly string[]): RuntimeOutput[] =>
    regions.flatMap((region) => keys.map((key) => ({ lifecycle, region, key })));
  const fleets = shape.regions.flatMap((region) => shape.services.map((s) => PLAN_OUTPUTS.fleetArn(region, s)));
  return [
    ...at('App', shape.regions, keysOf(APP_OUTPUTS, shape.services)),
    ...at('Storage', shape.components.includes('files') ? shape.regions : [], keysOf(STORAGE_OUTPUTS, [])),
    ...at('Data', shape.components.includes('cache') ? [primary] : [], keysOf(DATA_OUTPUTS, [])),
    ...at('Operations', shape.regions, keysOf(OPERATIONS_OUTPUTS, switchFunctionsOf(shape.components))),
    ...at('Operations', shape.regionSwitchPlan ? [primary] : [], [...keysOf(DNS_OUTPUTS, []), ...fleets]),
  ];
}
