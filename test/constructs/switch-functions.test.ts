import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  SwitchFunctions,
  SwitchFunctionsProps,
  SwitchRegionResources,
  SwitchService,
} from '../../lib/constructs/switch-functions';
import { type SwitchFunctionName } from '../../contract';
import { dataComponents, parseRegions, parseServices } from '../../lambda/shared/config';
import { bareStack, templateOf, testKey, TEST_ACCOUNT } from '../harness';
import { logicalIdOf, tempDir } from '../helpers';

// These tests do not look at the bundles: each function gets a one-line stand-in of its own, so no esbuild
// build or multi-megabyte asset staging happens here (the CLI synth of test/synthesized.ts bundles for real).
jest.mock('../../lib/bundling', () => ({
  ...jest.requireActual('../../lib/bundling'),
  lambdaBundleDir: (name: string) => mockBundleDir(name),
}));
function mockBundleDir(name: string): string {
  const dir = path.join(tempDir('switch-fn-'), name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'index.js'), `exports.handler = async () => ${JSON.stringify(name)};\n`);
  return dir;
}

const NAMES = ['preflight', 'cache-failover', 'efs-replication', 'postcheck', 'rejoin'] as const;
const PLAN_STEPS = ['preflight', 'cache-failover', 'efs-replication', 'postcheck'] as const;
const FILE_SYSTEMS: Record<string, string> = {
  'us-east-1': 'fs-0123456789abcdef0',
  'us-west-2': 'fs-0fedcba9876543210',
};

/** The data components a region's resources name. */
interface Components {
  readonly database: boolean;
  readonly cache: boolean;
  readonly files: boolean;
}
const ALL: Components = { database: true, cache: true, files: true };

const resources = (region: string, c: Components): SwitchRegionResources => ({
  appStackName: `HaWeb-test-App-${region}`,
  ...(c.database
    ? {
        dbClusterIdentifier: 'haweb-test-aurora',
        dbClusterArn: `arn:aws:rds:${region}:${TEST_ACCOUNT}:cluster:haweb-test-aurora`,
      }
    : {}),
  ...(c.cache ? { cacheReplicationGroupId: 'haweb-test-cache' } : {}),
  ...(c.files ? { fileSystemId: FILE_SYSTEMS[region] } : {}),
  regionalUrl: `https://${region}.app.example.com`,
});

/** Two services: one postcheck checks (with a writable database), one it skips. */
const SERVICES: SwitchService[] = [
  { name: 'web', readinessPath: '/health/ready', writablePointer: '/database/writable' },
  { name: 'order-api', readinessPath: null, writablePointer: null },
];

interface Built {
  readonly stack: Stack;
  readonly fns: SwitchFunctions;
  readonly template: Template;
}

/**
 * A bare stack in us-west-2 (the secondary) with the switch functions of both regions, whose resources are
 * those of the data components `components` (by default all three), the global IDs of the present ones given.
 */
function build(overrides: Partial<Omit<SwitchFunctionsProps, 'logsKey'>> = {}, components: Components = ALL): Built {
  const stack = bareStack({ region: 'us-west-2' });
  const fns = new SwitchFunctions(stack, 'SwitchFunctions', {
    regions: {
      'us-east-1': resources('us-east-1', components),
      'us-west-2': resources('us-west-2', components),
    },
    services: SERVICES,
    ...(components.database ? { globalClusterIdentifier: 'haweb-test-global' } : {}),
    ...(components.cache ? { globalDatastoreId: 'ldgnf-haweb-test-sessions' } : {}),
    functionName: (fn, planStep) => `haweb-test-${fn}${planStep ? '-plan-step' : ''}`,
    logsKey: testKey(stack),
    planSteps: true,
    ...overrides,
  });
  return { stack, fns, template: templateOf(stack) };
}

const full = build();
const { stack, fns, template } = full;
/** A database only: no session cache, no shared files. */
const databaseOnly = build({}, { database: true, cache: false, files: false });
/** No data component at all. */
const stateless = build({}, { database: false, cache: false, files: false });

const functions = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function')).map((r) => r.Properties);
const functionNames = (t: Template) =>
  functions(t)
    .map((p) => p.FunctionName as string)
    .sort();
type Statement = { Action: string | string[]; Resource: unknown };
const actionsIn = (statements: Statement[]) => statements.flatMap((s) => ([] as string[]).concat(s.Action));
/** Every statement of every policy of a template. */
const allStatements = (t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );

/** The statements of the role of one function. */
const statementsOf = (name: SwitchFunctionName, built: Built = full) => {
  const roleId = logicalIdOf(built.fns.functions[name]!.role!);
  return Object.values(built.template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
};
const actionsOf = (name: SwitchFunctionName, built: Built = full) => actionsIn(statementsOf(name, built));
const statementWith = (name: SwitchFunctionName, action: string) =>
  statementsOf(name).find((s) => ([] as string[]).concat(s.Action).includes(action))!;

describe('SwitchFunctions', () => {
  test('are pre-flight, cache failover, EFS replication, post-check and rejoin, plus the plan copies of the first four, on Node.js 22, arm64', () => {
    const all = functions(template);
    expect(all).toHaveLength(9);
    expect(all.filter((p) => p.Environment.Variables.INVOKED_BY === 'region-switch-plan')).toHaveLength(4);
    for (const p of all) {
      expect(p.Runtime).toBe('nodejs22.x');
      expect(p.Architectures).toEqual(['arm64']);
    }
    expect(Object.keys(fns.functions).sort()).toEqual([...NAMES].sort());
  });

  test('without planSteps there are only the five functions, none a plan copy', () => {
    const { fns: noPlan, template: t } = build({ planSteps: undefined });
    const all = functions(t);
    expect(all.map((p) => p.FunctionName).sort()).toEqual(NAMES.map((n) => `haweb-test-${n}`).sort());
    expect(all.filter((p) => p.Environment.Variables.INVOKED_BY !== undefined)).toHaveLength(0);
    expect(noPlan.planStepFunctions).toBeUndefined();
  });

  test('names the functions and their plan copies by functionName; only the copies say the plan invokes them', () => {
    const names = functions(template).map((p) => [p.FunctionName, p.Environment.Variables.INVOKED_BY]);
    expect(names.sort()).toEqual(
      [
        ...NAMES.map((n) => [`haweb-test-${n}`, undefined]),
        ...PLAN_STEPS.map((n) => [`haweb-test-${n}-plan-step`, 'region-switch-plan']),
      ].sort(),
    );
    for (const name of PLAN_STEPS) {
      expect(stack.resolve(fns.planStepFunctions![name]!.functionName)).toEqual({
        Ref: expect.stringMatching(/PlanStep/),
      });
    }
  });

  test("runs each function's own bundle; a plan copy runs the same code with the same role", () => {
    const byName = Object.fromEntries(functions(template).map((p) => [p.FunctionName, p]));
    const keys = NAMES.map((n) => byName[`haweb-test-${n}`].Code.S3Key);
    expect(new Set(keys).size).toBe(NAMES.length);
    for (const name of PLAN_STEPS) {
      expect(byName[`haweb-test-${name}-plan-step`].Code).toEqual(byName[`haweb-test-${name}`].Code);
      expect(byName[`haweb-test-${name}-plan-step`].Role).toEqual(byName[`haweb-test-${name}`].Role);
    }
  });

  test('they know both regions, the services and the global resources through their environment', () => {
    for (const p of functions(template)) {
      const env = p.Environment.Variables;
      expect(JSON.parse(env.REGIONS)).toEqual({
        'us-east-1': {
          appStackName: 'HaWeb-test-App-us-east-1',
          dbClusterIdentifier: 'haweb-test-aurora',
          cacheReplicationGroupId: 'haweb-test-cache',
          fileSystemId: 'fs-0123456789abcdef0',
          regionalUrl: 'https://us-east-1.app.example.com',
        },
        'us-west-2': {
          appStackName: 'HaWeb-test-App-us-west-2',
          dbClusterIdentifier: 'haweb-test-aurora',
          cacheReplicationGroupId: 'haweb-test-cache',
          fileSystemId: 'fs-0fedcba9876543210',
          regionalUrl: 'https://us-west-2.app.example.com',
        },
      });
      expect(JSON.parse(env.SERVICES)).toEqual(SERVICES);
      expect(env.GLOBAL_CLUSTER_IDENTIFIER).toBe('haweb-test-global');
      expect(env.GLOBAL_DATASTORE_ID).toBe('ldgnf-haweb-test-sessions');
    }
  });

  test.each([
    ['all three components', full, ['database', 'cache', 'files']],
    ['a database only', databaseOnly, ['database']],
    ['no data component', stateless, []],
  ] as const)(
    "with %s, the functions' own config parsing reads back the services and the components from the environment",
    (_case, built, present) => {
      for (const p of functions(built.template)) {
        const env = p.Environment.Variables as Record<string, string>;
        expect(parseServices(env.SERVICES)).toEqual(SERVICES);
        expect(dataComponents(env, parseRegions(env.REGIONS, ['appStackName', 'regionalUrl'])).present).toEqual(
          present,
        );
      }
    },
  );

  test('without a cache or files: only pre-flight, post-check and rejoin (for the database), and their plan copies', () => {
    expect(functionNames(databaseOnly.template)).toEqual(
      [
        'haweb-test-postcheck',
        'haweb-test-postcheck-plan-step',
        'haweb-test-preflight',
        'haweb-test-preflight-plan-step',
        'haweb-test-rejoin',
      ].sort(),
    );
    expect(Object.keys(databaseOnly.fns.functions).sort()).toEqual(['postcheck', 'preflight', 'rejoin']);
    expect(Object.keys(databaseOnly.fns.planStepFunctions!).sort()).toEqual(['postcheck', 'preflight']);
    expect(Object.keys(databaseOnly.template.toJSON().Outputs).sort()).toEqual([
      'PostcheckFunctionName',
      'PreflightFunctionName',
      'RejoinFunctionName',
    ]);
  });

  test('without a cache or files: no ElastiCache or EFS permission, and no describe anywhere for rejoin', () => {
    const actions = actionsIn(allStatements(databaseOnly.template));
    expect(actions.filter((a) => a.startsWith('elasticache:') || a.startsWith('elasticfilesystem:'))).toEqual([]);
    expect(actionsOf('rejoin', databaseOnly)).toEqual(
      expect.arrayContaining(['rds:DescribeDBClusters', 'rds:DescribeGlobalClusters']),
    );
    expect(statementsOf('rejoin', databaseOnly).filter((s) => JSON.stringify(s.Resource) === '"*"')).toEqual([]);
  });

  test('without a cache or files: the environment has SERVICES and the global cluster, and no GLOBAL_DATASTORE_ID', () => {
    for (const p of functions(databaseOnly.template)) {
      const env = p.Environment.Variables;
      expect(JSON.parse(env.SERVICES)).toEqual(SERVICES);
      expect(env.GLOBAL_CLUSTER_IDENTIFIER).toBe('haweb-test-global');
      expect(env).not.toHaveProperty('GLOBAL_DATASTORE_ID');
      expect(JSON.parse(env.REGIONS)['us-east-1']).toEqual({
        appStackName: 'HaWeb-test-App-us-east-1',
        dbClusterIdentifier: 'haweb-test-aurora',
        regionalUrl: 'https://us-east-1.app.example.com',
      });
    }
  });

  test('without any data component: only pre-flight and post-check (no rejoin), with no data tier permission', () => {
    expect(functionNames(stateless.template)).toEqual(
      [
        'haweb-test-postcheck',
        'haweb-test-postcheck-plan-step',
        'haweb-test-preflight',
        'haweb-test-preflight-plan-step',
      ].sort(),
    );
    expect(stateless.fns.functions.rejoin).toBeUndefined();
    const actions = actionsIn(allStatements(stateless.template));
    expect(actions.filter((a) => /^(rds|elasticache|elasticfilesystem):/.test(a))).toEqual([]);
    for (const p of functions(stateless.template)) {
      expect(p.Environment.Variables).not.toHaveProperty('GLOBAL_CLUSTER_IDENTIFIER');
      expect(p.Environment.Variables).not.toHaveProperty('GLOBAL_DATASTORE_ID');
    }
  });

  test('the cache failover may fail over only this Global Datastore and its two groups', () => {
    expect(statementWith('cache-failover', 'elasticache:FailoverGlobalReplicationGroup').Resource).toEqual([
      `arn:aws:elasticache::${TEST_ACCOUNT}:globalreplicationgroup:ldgnf-haweb-test-sessions`,
      `arn:aws:elasticache:us-east-1:${TEST_ACCOUNT}:replicationgroup:haweb-test-cache`,
      `arn:aws:elasticache:us-west-2:${TEST_ACCOUNT}:replicationgroup:haweb-test-cache`,
    ]);
  });

  test('the EFS function acts only on the two file systems', () => {
    expect(statementWith('efs-replication', 'elasticfilesystem:DeleteReplicationConfiguration').Resource).toEqual([
      `arn:aws:elasticfilesystem:us-east-1:${TEST_ACCOUNT}:file-system/fs-0123456789abcdef0`,
      `arn:aws:elasticfilesystem:us-west-2:${TEST_ACCOUNT}:file-system/fs-0fedcba9876543210`,
    ]);
  });

  test('rejoin reads the data tier and may create replication, but never fails anything over or deletes', () => {
    const actions = actionsOf('rejoin');
    expect(actions).toEqual(
      expect.arrayContaining([
        'rds:DescribeGlobalClusters',
        'rds:DescribeDBClusters',
        'elasticache:DescribeGlobalReplicationGroups',
        'elasticfilesystem:CreateReplicationConfiguration',
        'elasticfilesystem:UpdateFileSystemProtection',
      ]),
    );
    for (const forbidden of [
      'rds:FailoverGlobalCluster',
      'rds:SwitchoverGlobalCluster',
      'rds:RemoveFromGlobalCluster',
      'elasticache:FailoverGlobalReplicationGroup',
      'elasticfilesystem:DeleteReplicationConfiguration',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    expect(statementWith('rejoin', 'elasticfilesystem:CreateReplicationConfiguration').Resource).toHaveLength(2);
  });

  test('each function name is a stack output for the CLI', () => {
    const outputs = template.toJSON().Outputs;
    for (const name of ['Preflight', 'CacheFailover', 'EfsReplication', 'Postcheck', 'Rejoin']) {
      expect(outputs[`${name}FunctionName`].Value).toEqual({
        Ref: expect.stringMatching(new RegExp(`^SwitchFunctions${name}[0-9A-F]{8}$`)),
      });
    }
  });
});
