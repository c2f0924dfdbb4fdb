/**
 * The interface of the region switch functions: their names, which environments have them, the environment the
 * CDK app gives each (`lib/constructs/switch-functions.ts` sets it, `lambda/` reads it), the events the operator
 * CLI sends and what the functions answer (`cli/rejoin.ts`).
 */
import type { Component } from './components';
import { namePrefix } from './stacks';

/** The region switch functions, by folder name under lambda/, in the order the app creates them. */
export const SWITCH_FUNCTIONS = ['preflight', 'cache-failover', 'efs-replication', 'postcheck', 'rejoin'] as const;

/** One of {@link SWITCH_FUNCTIONS}. */
export type SwitchFunctionName = (typeof SWITCH_FUNCTIONS)[number];

/** The functions the Region switch plan runs as steps (each region has a copy of each for the plan). */
export const PLAN_STEP_FUNCTIONS = [
  'preflight',
  'cache-failover',
  'efs-replication',
  'postcheck',
] as const satisfies readonly SwitchFunctionName[];

/** One of {@link PLAN_STEP_FUNCTIONS}. */
export type PlanStepFunctionName = (typeof PLAN_STEP_FUNCTIONS)[number];

/** Value of `INVOKED_BY` on the copies of the functions that only the Region switch plan invokes. */
export const PLAN_STEP_INVOKER = 'region-switch-plan';

/**
 * Where the plan runs its Lambda steps (`regionToRun`): in the activating region, which the plan's copies take to
 * be their own region, so that they do not depend on the payload Region switch sends.
 */
export const PLAN_STEP_REGION_TO_RUN = 'activatingRegion';

/**
 * Name of a region switch function: `haweb-<env>-<function>`, and `haweb-<env>-<function>-plan-step` for the copy
 * only the Region switch plan invokes. The same in both regions, so the plan and the CLI build each region's
 * function ARN from its region alone.
 */
export function switchFunctionName(environment: string, fn: SwitchFunctionName, planStep = false): string {
  return `${namePrefix(environment)}-${fn}${planStep ? '-plan-step' : ''}`;
}

/**
 * Where a variable of a function's environment comes from:
 * - `app`: the CDK app sets it on every function;
 * - a {@link Component}: the CDK app sets it exactly when the environment has that component;
 * - `planStep`: the CDK app sets it on the plan's copies only;
 * - `optional`: a setting with a default that an operator may set on the function (the app does not);
 * - `lambda`: the Lambda runtime sets it.
 */
export type VariableSource = 'app' | Component | 'planStep' | 'optional' | 'lambda';

/** Every variable of the functions' environment, with where it comes from (lambda/README.md describes each). */
export const FUNCTION_VARIABLES = {
  /** JSON object of the two regions' {@link RegionResources}, by region name. */
  REGIONS: 'app',
  /** JSON array of the environment's services ({@link ServiceSpec}). */
  SERVICES: 'app',
  /** The Aurora global cluster's identifier. */
  GLOBAL_CLUSTER_IDENTIFIER: 'database',
  /** The full ID of the ElastiCache Global Datastore (with the prefix AWS assigns). */
  GLOBAL_DATASTORE_ID: 'cache',
  /** {@link PLAN_STEP_INVOKER} on the plan's copies. */
  INVOKED_BY: 'planStep',
  /** `--enable-source-maps`, read by Node.js itself. */
  NODE_OPTIONS: 'app',
  /** `true`: report only. */
  DRY_RUN: 'optional',
  /** The longest wait for a change, in seconds. */
  WAIT_SECONDS: 'optional',
  /** The interval between reads while waiting, in seconds. */
  POLL_SECONDS: 'optional',
  /** How long post-check keeps trying, in seconds. */
  POSTCHECK_SECONDS: 'optional',
  /** Timeout of one readiness GET, in seconds. */
  REQUEST_TIMEOUT_SECONDS: 'optional',
  /** The function's own region. */
  AWS_REGION: 'lambda',
} as const satisfies Readonly<Record<string, VariableSource>>;

/** A variable of the functions' environment. */
export type FunctionVariable = keyof typeof FUNCTION_VARIABLES;

/** A variable the CDK app sets exactly when the environment has a component: the component's global ID. */
export type ComponentVariable = {
  [V in FunctionVariable]: (typeof FUNCTION_VARIABLES)[V] extends Component ? V : never;
}[FunctionVariable];

/** The variable the CDK app sets exactly when the environment has `component`, if any. */
export function componentVariable(component: Component): ComponentVariable | undefined {
  return (Object.keys(FUNCTION_VARIABLES) as FunctionVariable[]).find(
    (v): v is ComponentVariable => FUNCTION_VARIABLES[v] === component,
  );
}

/**
 * Resources of one region in the `REGIONS` variable: fixed names and immutable IDs only. Values that change with a
 * deploy of the region's App stack (its target groups, its health check) are not here: preflight reads them from
 * that stack's outputs when it runs.
 */
export interface RegionResources {
  /** Name of the region's App stack (`HaWeb-<env>-App-<region>`), whose outputs preflight reads. */
  readonly appStackName?: string;
  /** Identifier of the region's Aurora cluster; present iff the environment has a database. */
  readonly dbClusterIdentifier?: string;
  /** ID of the region's ElastiCache replication group; present iff the environment has a cache. */
  readonly cacheReplicationGroupId?: string;
  /** ID of the region's EFS file system; present iff the environment has files. */
  readonly fileSystemId?: string;
  /** The region's own base URL, `https://<region>.<domain>`: a service's readiness URL is this and its path. */
  readonly regionalUrl?: string;
}

/** A key of {@link RegionResources}. */
export type RegionKey = keyof RegionResources;

/** The key of each component's resource in every region of `REGIONS`. */
export const COMPONENT_REGION_KEY = {
  database: 'dbClusterIdentifier',
  cache: 'cacheReplicationGroupId',
  files: 'fileSystemId',
} as const satisfies Readonly<Record<Component, RegionKey>>;

/** One service in the `SERVICES` variable. */
export interface ServiceSpec {
  /** The service's name; its target group is the App stack output `APP_OUTPUTS.targetGroupArn(name)`. */
  readonly name: string;
  /** Path of its deep readiness endpoint on the regional URL, starting with `/`; null: post-check skips it. */
  readonly readinessPath: string | null;
  /** RFC 6901 pointer to where its readiness body reports a writable database (must be `true`), or null. */
  readonly writablePointer: string | null;
}

/** What one function is, as the app deploys it and the function reads its environment. */
export interface SwitchFunctionContract {
  /** Which environments have it: every one, those with the component, or those with any component. */
  readonly exists: 'always' | Component | 'anyComponent';
  /** The variables it reads (its entry point reads `INVOKED_BY` and `AWS_REGION` too). */
  readonly variables: readonly FunctionVariable[];
  /** The `REGIONS` keys it requires in both regions (besides those of the components the environment has). */
  readonly regionKeys: readonly RegionKey[];
}

/** The variables every function reads: `REGIONS`, `DRY_RUN`, and its entry point's `INVOKED_BY` and `AWS_REGION`. */
const READ_BY_EVERY_FUNCTION = [
  'REGIONS',
  'DRY_RUN',
  'INVOKED_BY',
  'AWS_REGION',
] as const satisfies readonly FunctionVariable[];

/** The variables of a function that waits for a change to complete. */
const WAIT_VARIABLES = ['WAIT_SECONDS', 'POLL_SECONDS'] as const satisfies readonly FunctionVariable[];

/** The global IDs of the data components (each set only when the environment has the component). */
const GLOBAL_ID_VARIABLES = [
  'GLOBAL_CLUSTER_IDENTIFIER',
  'GLOBAL_DATASTORE_ID',
] as const satisfies readonly FunctionVariable[];

/** Every function's {@link SwitchFunctionContract}. */
export const SWITCH_FUNCTION_CONTRACT = {
  preflight: {
    exists: 'always',
    variables: [...READ_BY_EVERY_FUNCTION, 'SERVICES', ...GLOBAL_ID_VARIABLES, 'REQUEST_TIMEOUT_SECONDS'],
    regionKeys: ['appStackName', 'regionalUrl'],
  },
  'cache-failover': {
    exists: 'cache',
    variables: [...READ_BY_EVERY_FUNCTION, 'GLOBAL_DATASTORE_ID', ...WAIT_VARIABLES],
    regionKeys: ['cacheReplicationGroupId'],
  },
  'efs-replication': {
    exists: 'files',
    variables: [...READ_BY_EVERY_FUNCTION, ...WAIT_VARIABLES],
    regionKeys: ['fileSystemId'],
  },
  postcheck: {
    exists: 'always',
    variables: [...READ_BY_EVERY_FUNCTION, 'SERVICES', 'POSTCHECK_SECONDS', 'POLL_SECONDS', 'REQUEST_TIMEOUT_SECONDS'],
    regionKeys: ['regionalUrl'],
  },
  rejoin: {
    exists: 'anyComponent',
    variables: [...READ_BY_EVERY_FUNCTION, ...GLOBAL_ID_VARIABLES, ...WAIT_VARIABLES],
    regionKeys: [],
  },
} as const satisfies Readonly<Record<SwitchFunctionName, SwitchFunctionContract>>;

/** The variables function `F` reads. */
export type VariablesOf<F extends SwitchFunctionName> = (typeof SWITCH_FUNCTION_CONTRACT)[F]['variables'][number];

/** The environment as function `F` reads it: only the variables its contract names. */
export type FunctionEnv<F extends SwitchFunctionName> = { readonly [K in VariablesOf<F>]?: string };

/** The environment the CDK app sets on a function. */
export type FunctionEnvironment = { readonly [K in FunctionVariable]?: string };

/** The functions an environment with `components` has, in {@link SWITCH_FUNCTIONS} order. */
export function switchFunctionsOf(components: readonly Component[]): SwitchFunctionName[] {
  return SWITCH_FUNCTIONS.filter((fn) => {
    const exists: SwitchFunctionContract['exists'] = SWITCH_FUNCTION_CONTRACT[fn].exists;
    return exists === 'always' || (exists === 'anyComponent' ? components.length > 0 : components.includes(exists));
  });
}

/** Whether the plan has a copy of `fn`. */
export function isPlanStep(fn: SwitchFunctionName): fn is PlanStepFunctionName {
  return (PLAN_STEP_FUNCTIONS as readonly SwitchFunctionName[]).includes(fn);
}

/** planned: both regions are up, no data loss accepted; unplanned: the source region may be gone. */
export type Mode = 'planned' | 'unplanned';

/** The operator's event (the CLI's, and `aws lambda invoke` in the runbooks). */
export interface OperatorEvent {
  /** The region to activate. */
  readonly targetRegion: string;
  /**
   * The region to deactivate.
   * @default - the other region
   */
  readonly sourceRegion?: string;
  /**
   * Planned or unplanned.
   * @default planned
   */
  readonly mode?: Mode;
  /**
   * Report only.
   * @default false
   */
  readonly dryRun?: boolean;
}

/** The event of `rejoin`: the operator's, with the components to rejoin. */
export interface RejoinEvent extends OperatorEvent {
  /**
   * The components to rejoin, of those the environment has.
   * @default - every component the environment has
   */
  readonly components?: readonly Component[];
  /**
   * files: disable the old file system's overwrite protection first.
   * @default false
   */
  readonly allowOverwriteDestination?: boolean;
}

/** Outcome of one check. */
export interface CheckOutcome {
  /** Whether the check passed. */
  readonly ok: boolean;
  /** What was seen. */
  readonly detail: string;
}

/** What every function returns (and logs). */
export interface SwitchResult {
  /** The function's name. */
  readonly function: string;
  /** The region being activated. */
  readonly targetRegion: string;
  /** The region being deactivated. */
  readonly sourceRegion: string;
  /** Planned or unplanned. */
  readonly mode: Mode;
  /** Whether this was a dry run. */
  readonly dryRun: boolean;
  /** Whether this run changed anything (always false for a dry run or a repeat run). */
  readonly changed: boolean;
  /** What was done, or in a dry run what would be done, in order. */
  readonly actions: string[];
  /** Checks and what they saw, by name. */
  readonly checks?: Record<string, CheckOutcome>;
}
