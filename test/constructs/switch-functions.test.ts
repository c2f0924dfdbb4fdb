import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SwitchFunctions, SwitchFunctionsProps, SwitchRegionResources } from '../../lib/constructs/switch-functions';
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

const resources = (region: string, fileSystemId: string): SwitchRegionResources => ({
  appStackName: `HaWeb-test-App-${region}`,
  dbClusterIdentifier: 'haweb-test-aurora',
  dbClusterArn: `arn:aws:rds:${region}:${TEST_ACCOUNT}:cluster:haweb-test-aurora`,
  cacheReplicationGroupId: 'haweb-test-cache',
  fileSystemId,
  serviceUrl: `https://${region}.app.example.com/health/ready`,
});

/** A bare stack in us-west-2 (the secondary) with the switch functions of both regions. */
function build(overrides: Partial<Omit<SwitchFunctionsProps, 'logsKey'>> = {}): {
  stack: Stack;
  fns: SwitchFunctions;
  template: Template;
} {
  const stack = bareStack({ region: 'us-west-2' });
  const fns = new SwitchFunctions(stack, 'SwitchFunctions', {
    regions: {
      'us-east-1': resources('us-east-1', 'fs-0123456789abcdef0'),
      'us-west-2': resources('us-west-2', 'fs-0fedcba9876543210'),
    },
    globalClusterIdentifier: 'haweb-test-global',
    globalDatastoreId: 'ldgnf-haweb-test-sessions',
    functionName: (fn, planStep) => `haweb-test-${fn}${planStep ? '-plan-step' : ''}`,
    logsKey: testKey(stack),
    planSteps: true,
    ...overrides,
  });
  return { stack, fns, template: templateOf(stack) };
}

const { stack, fns, template } = build();
const functions = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function')).map((r) => r.Properties);

/** The statements of the role of one function. */
const statementsOf = (name: (typeof NAMES)[number]) => {
  const roleId = logicalIdOf(fns.functions[name].role!);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
};
const actionsOf = (name: (typeof NAMES)[number]) =>
  statementsOf(name).flatMap((s) => ([] as string[]).concat(s.Action));
const statementWith = (name: (typeof NAMES)[number], action: string) =>
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
      expect(stack.resolve(fns.planStepFunctions![name].functionName)).toEqual({
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

  test('they know both regions and the global resources through their environment', () => {
    for (const p of functions(template)) {
      const env = p.Environment.Variables;
      expect(JSON.parse(env.REGIONS)).toEqual({
        'us-east-1': {
          appStackName: 'HaWeb-test-App-us-east-1',
          dbClusterIdentifier: 'haweb-test-aurora',
          cacheReplicationGroupId: 'haweb-test-cache',
          fileSystemId: 'fs-0123456789abcdef0',
          serviceUrl: 'https://us-east-1.app.example.com/health/ready',
        },
        'us-west-2': {
          appStackName: 'HaWeb-test-App-us-west-2',
          dbClusterIdentifier: 'haweb-test-aurora',
          cacheReplicationGroupId: 'haweb-test-cache',
          fileSystemId: 'fs-0fedcba9876543210',
          serviceUrl: 'https://us-west-2.app.example.com/health/ready',
        },
      });
      expect(env.GLOBAL_CLUSTER_IDENTIFIER).toBe('haweb-test-global');
      expect(env.GLOBAL_DATASTORE_ID).toBe('ldgnf-haweb-test-sessions');
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
