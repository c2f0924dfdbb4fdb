/**
 * The contract's names (`contract/`), and what lib/ builds from them: `lib/names.ts` (the stack prefix and the plan
 * name) and `lib/config` (the data components' config names).
 */
import {
  COMPONENT_REGION_KEY,
  COMPONENTS,
  componentOfConfig,
  componentVariable,
  CONFIG_COMPONENT,
  OPERATIONS_OUTPUTS,
  PLAN_OUTPUTS,
  regionSwitchPlanName,
  runtimeOutputs,
  STACK_LIFECYCLES,
  stackName,
  SWITCH_FUNCTIONS,
  switchFunctionName,
  switchFunctionsOf,
  type ConfigComponent,
} from '../../contract';
import { DATA_COMPONENTS, ENVIRONMENTS, type DataComponent } from '../../lib/config';
import * as names from '../../lib/names';

/** `true` exactly when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

describe('the names lib/ builds come from the contract', () => {
  test.each(Object.values(ENVIRONMENTS).map((c) => [c.name, c] as const))(
    '%s: the stack prefix and the plan name',
    (_name, config) => {
      expect(names.physicalNames(config).stackPrefix).toBe(stackName(config.name, 'App', 'r').replace(/-App-r$/, ''));
      expect(names.physicalNames(config).regionSwitchPlanName).toBe(regionSwitchPlanName(config.name));
      for (const lifecycle of STACK_LIFECYCLES) {
        expect(stackName(config.name, lifecycle, 'eu-west-1')).toBe(`HaWeb-${config.name}-${lifecycle}-eu-west-1`);
      }
      for (const fn of SWITCH_FUNCTIONS) {
        expect(switchFunctionName(config.name, fn, true)).toBe(`haweb-${config.name}-${fn}-plan-step`);
      }
    },
  );

  test("the data components: the config's names are the contract's, in the contract's order", () => {
    const components: Equal<ConfigComponent, DataComponent> = true;
    expect(components).toBe(true);
    expect(COMPONENTS.map((c) => CONFIG_COMPONENT[c])).toEqual(DATA_COMPONENTS);
    expect(DATA_COMPONENTS.map(componentOfConfig)).toEqual(COMPONENTS);
  });
});

describe('the switch functions', () => {
  test('an environment has preflight and postcheck always, the component functions with their component, rejoin with any', () => {
    expect(switchFunctionsOf([])).toEqual(['preflight', 'postcheck']);
    expect(switchFunctionsOf(['database'])).toEqual(['preflight', 'postcheck', 'rejoin']);
    expect(switchFunctionsOf(['cache'])).toEqual(['preflight', 'cache-failover', 'postcheck', 'rejoin']);
    expect(switchFunctionsOf(COMPONENTS)).toEqual(SWITCH_FUNCTIONS);
  });

  test('each component has its key in REGIONS; the database and the cache also a global ID variable', () => {
    expect(COMPONENT_REGION_KEY).toEqual({
      database: 'dbClusterIdentifier',
      cache: 'cacheReplicationGroupId',
      files: 'fileSystemId',
    });
    expect(COMPONENTS.map(componentVariable)).toEqual(['GLOBAL_CLUSTER_IDENTIFIER', 'GLOBAL_DATASTORE_ID', undefined]);
  });

  test("each function's name output is the function in Pascal case: RejoinFunctionName, CacheFailoverFunctionName", () => {
    expect(OPERATIONS_OUTPUTS.functionName('rejoin')).toBe('RejoinFunctionName');
    expect(OPERATIONS_OUTPUTS.functionName('cache-failover')).toBe('CacheFailoverFunctionName');
  });
});

describe('runtimeOutputs', () => {
  const shape = { services: ['web', 'order-api'], regions: ['us-east-1', 'us-west-2'] as const };

  test('without a data component or a plan: each region has its App outputs and its two functions', () => {
    const outputs = runtimeOutputs({ ...shape, components: [], regionSwitchPlan: false });
    expect(outputs.filter((o) => o.region === 'us-west-2').map((o) => `${o.lifecycle} ${o.key}`)).toEqual([
      'App HealthCheckId',
      'App LoadBalancerDnsName',
      'App TargetGroupArnWeb',
      'App TargetGroupArnOrderApi',
      'App RegionalUrl',
      'Operations PreflightFunctionName',
      'Operations PostcheckFunctionName',
    ]);
  });

  test("with every component and a plan: the Storage and primary Data outputs, and the primary's plan outputs", () => {
    const outputs = runtimeOutputs({ ...shape, components: COMPONENTS, regionSwitchPlan: true });
    const of = (lifecycle: string, region: string) =>
      outputs.filter((o) => o.lifecycle === lifecycle && o.region === region).map((o) => o.key);
    expect(of('Storage', 'us-east-1')).toEqual(['FileSystemId']);
    expect(of('Storage', 'us-west-2')).toEqual(['FileSystemId']);
    expect(of('Data', 'us-east-1')).toEqual(['GlobalDatastoreId']);
    expect(of('Data', 'us-west-2')).toEqual([]);
    expect(of('Operations', 'us-east-1')).toEqual(
      expect.arrayContaining([
        'RejoinFunctionName',
        'PlanPrimaryHealthCheckId',
        'PrimaryGateHealthCheckId',
        PLAN_OUTPUTS.fleetArn('us-west-2', 'order-api'),
      ]),
    );
    expect(of('Operations', 'us-west-2')).not.toContain('PlanPrimaryHealthCheckId');
  });
});
