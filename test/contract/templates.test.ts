/**
 * The contract (`contract/`) against the synthesized templates of every shipped environment: each output that the
 * operator CLI and the switch functions read at run time is in the stack they read it from, and each variable that a
 * function reads (as its contract lists them, which is also what its code may read: `FunctionEnv`) and the app is to
 * set is set on it. A name changed in the app but not in the contract, or the reverse, fails here.
 */
import {
  COMPONENT_REGION_KEY,
  COMPONENTS,
  componentOfConfig,
  FUNCTION_VARIABLES,
  isPlanStep,
  PLAN_STEP_INVOKER,
  runtimeOutputs,
  stackName,
  SWITCH_FUNCTION_CONTRACT,
  SWITCH_FUNCTIONS,
  switchFunctionName,
  switchFunctionsOf,
  type Component,
  type FunctionVariable,
  type StackLifecycle,
} from '../../contract';
import { dataComponents } from '../../lib/config';
import { type EnvironmentName, type Json, synthesized, type SynthesizedStack } from '../synthesized';

/** A template value as text: `Fn::Join`s joined, every other intrinsic (a reference) as `TOKEN`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as Json | undefined)?.['Fn::Join'] as [string, unknown[]] | undefined;
  return join ? join[1].map(flatten).join(join[0]) : 'TOKEN';
}

/** Whether the app is to set `variable` on a function (a plan step's copy or not) of an environment with `components`. */
function setByApp(variable: FunctionVariable, components: readonly Component[], planStep: boolean): boolean {
  const source: string = FUNCTION_VARIABLES[variable];
  if (source === 'app') return true;
  if (source === 'planStep') return planStep;
  return (COMPONENTS as readonly string[]).includes(source) && components.includes(source as Component);
}

describe.each<EnvironmentName>(['demo', 'staging', 'prod'])('%s', (name) => {
  const env = synthesized(name);
  const { config } = env;
  const regions = [config.primary.region, config.secondary.region] as const;
  const components = dataComponents(config).map(componentOfConfig);
  const planned = config.regionSwitch.enabled;
  /** The stack the contract names, or a failure naming it. */
  const stackOf = (lifecycle: StackLifecycle, region: string): SynthesizedStack => {
    const found = env.stacks.find((s) => s.stackName === stackName(config.name, lifecycle, region));
    if (!found) throw new Error(`no stack ${stackName(config.name, lifecycle, region)} in the synthesized ${name}`);
    return found;
  };

  test('every output the operator CLI and the switch functions read is in the stack they read it from', () => {
    const reads = runtimeOutputs({
      services: config.services.map((s) => s.name),
      regions,
      components,
      regionSwitchPlan: planned,
    });
    const missing = reads
      .filter((r) => !((r.key as string) in (stackOf(r.lifecycle, r.region).json.Outputs ?? {})))
      .map((r) => `${stackName(config.name, r.lifecycle, r.region)}: ${r.key}`);
    expect(missing).toEqual([]);
    // Each region's App outputs and switch function names at the least, and every read stack exists.
    expect(reads.length).toBeGreaterThanOrEqual(2 * (3 + config.services.length + 2));
    expect(reads.filter((r) => r.lifecycle === 'Storage').length).toBe(components.includes('files') ? 2 : 0);
    expect(reads.some((r) => r.key.startsWith('PlanFleetArn'))).toBe(planned);
  });

  describe.each(regions)('the switch functions of %s', (region) => {
    const functions = new Map<string, Json>(
      Object.values(stackOf('Operations', region).json.Resources as Record<string, Json>)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => [r.Properties.FunctionName, r.Properties]),
    );
    const deployed = switchFunctionsOf(components).flatMap((fn) =>
      [false, ...(planned && isPlanStep(fn) ? [true] : [])].map((planStep) => ({
        fn,
        planStep,
        name: switchFunctionName(config.name, fn, planStep),
      })),
    );

    test('are the functions the contract gives the environment, by the names it gives them', () => {
      const anySwitchFunction = SWITCH_FUNCTIONS.flatMap((fn) =>
        [false, true].map((planStep) => switchFunctionName(config.name, fn, planStep)),
      );
      expect(deployed.map((d) => d.name).filter((n) => !functions.has(n))).toEqual([]);
      expect(
        [...functions.keys()].filter((n) => anySwitchFunction.includes(n) && !deployed.some((d) => d.name === n)),
      ).toEqual([]);
    });

    test('have every variable they read that the app sets, and no global ID of a component the environment lacks', () => {
      const problems = deployed.flatMap(({ fn, planStep, name: fnName }) => {
        const variables = (functions.get(fnName)?.Environment?.Variables ?? {}) as Json;
        const read: readonly FunctionVariable[] = SWITCH_FUNCTION_CONTRACT[fn].variables;
        const missing = read.filter((v) => setByApp(v, components, planStep) && !variables[v]);
        const unexpected = (Object.keys(FUNCTION_VARIABLES) as FunctionVariable[]).filter(
          (v) => !setByApp(v, components, planStep) && variables[v] !== undefined,
        );
        const unknown = Object.keys(variables).filter((v) => !(v in FUNCTION_VARIABLES));
        const invoker = planStep && variables.INVOKED_BY !== PLAN_STEP_INVOKER ? ['INVOKED_BY value'] : [];
        return [...missing, ...unexpected, ...unknown, ...invoker].map((v) => `${fnName}: ${v}`);
      });
      expect(problems).toEqual([]);
      expect(deployed.length).toBeGreaterThanOrEqual(2);
    });

    test("have in REGIONS, for both regions, every key they require and their components' keys", () => {
      const problems = deployed.flatMap(({ fn, name: fnName }) => {
        const raw = flatten(functions.get(fnName)?.Environment?.Variables?.REGIONS);
        const resources = JSON.parse(raw) as Record<string, Record<string, unknown>>;
        const wanted = [...SWITCH_FUNCTION_CONTRACT[fn].regionKeys, ...components.map((c) => COMPONENT_REGION_KEY[c])];
        const absent = COMPONENTS.filter((c) => !components.includes(c)).map((c) => COMPONENT_REGION_KEY[c]);
        return regions.flatMap((r) => [
          ...wanted.filter((k) => resources[r]?.[k] === undefined).map((k) => `${fnName}: ${r}.${k} missing`),
          ...absent.filter((k) => resources[r]?.[k] !== undefined).map((k) => `${fnName}: ${r}.${k} set`),
        ]);
      });
      expect(problems).toEqual([]);
    });
  });
});
