/**
 * The names of an environment's stacks and of the resources found by name across regions, built from the
 * environment's name (`config.name`): the CDK app names them so, the operator CLI finds them so.
 */

/** The stack lifecycles of one region, in deploy order. */
export const STACK_LIFECYCLES = ['Network', 'Storage', 'Data', 'App', 'Operations'] as const;

/** One of {@link STACK_LIFECYCLES}. */
export type StackLifecycle = (typeof STACK_LIFECYCLES)[number];

/** Prefix of every stack name of `environment`: `HaWeb-<env>`. */
export function stackPrefix(environment: string): string {
  return `HaWeb-${environment}`;
}

/** Name of a stack: `HaWeb-<env>-<lifecycle>-<region>`. */
export function stackName(environment: string, lifecycle: StackLifecycle, region: string): string {
  return `${stackPrefix(environment)}-${lifecycle}-${region}`;
}

/** Prefix of the physical names the app fixes (functions, plan, clusters): `haweb-<env>`. */
export function namePrefix(environment: string): string {
  return `haweb-${environment}`;
}

/** Name of the environment's ARC Region switch plan; the operator CLI finds the plan by it: `haweb-<env>`. */
export function regionSwitchPlanName(environment: string): string {
  return namePrefix(environment);
}
