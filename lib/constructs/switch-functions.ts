import { ArnFormat, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  COMPONENTS,
  isPlanStep,
  OPERATIONS_OUTPUTS,
  pascalCase,
  PLAN_STEP_INVOKER,
  switchFunctionsOf,
  type Component,
  type FunctionEnvironment,
  type PlanStepFunctionName,
  type RegionResources,
  type ServiceSpec,
  type SwitchFunctionName,
} from '../../contract';
import { lambdaBundleDir } from '../bundling';
import { createLogGroup } from '../defaults';
import { acknowledgeNag } from '../nag';

export { PLAN_STEP_FUNCTIONS } from '../../contract';
export type { PlanStepFunctionName, SwitchFunctionName } from '../../contract';

/**
 * Resources of one region, as the functions' `REGIONS` variable names them: fixed names (`names.ts`) and
 * immutable IDs only. The values that change with a deploy of the region's app stack (its target group, its
 * health check) are read at run time from that stack's outputs (`appStackName`), so they are never stale.
 */
export interface SwitchRegionResources {
  /** Name of the region's app stack, whose outputs (lib/stack-outputs.ts) preflight reads at run time. */
  readonly appStackName: string;
  /** Identifier of the region's Aurora cluster (when the environment has a database). */
  readonly dbClusterIdentifier?: string;
  /** ARN of that cluster. */
  readonly dbClusterArn?: string;
  /** ID of the region's ElastiCache replication group (when the environment has a session cache). */
  readonly cacheReplicationGroupId?: string;
  /** ID of the region's EFS file system (when the environment has shared files). */
  readonly fileSystemId?: string;
  /** The region's own base URL, `https://<region>.<domain>`: pre-flight and post-check request the services there. */
  readonly regionalUrl: string;
}

/** A service as the switch functions check it (an entry of the `SERVICES` variable, `contract/`). */
export type SwitchService = ServiceSpec;

/** Properties of {@link SwitchFunctions}. */
export interface SwitchFunctionsProps {
  /** Both regions' resources, by region name. */
  readonly regions: Record<string, SwitchRegionResources>;
  /** The services pre-flight and post-check check. */
  readonly services: readonly SwitchService[];
  /**
   * Identifier of the Aurora global cluster.
   * @default - no database in the environment
   */
  readonly globalClusterIdentifier?: string;
  /**
   * Full ID of the ElastiCache Global Datastore.
   * @default - no session cache in the environment: no cache-failover function
   */
  readonly globalDatastoreId?: string;
  /** The name of each function (`names.ts`), the same in both regions, so the plan and the CLI build its ARN. */
  readonly functionName: (fn: SwitchFunctionName, planStep: boolean) => string;
  /** The region's CloudWatch Logs key, which encrypts the functions' logs. */
  readonly logsKey: kms.IKey;
  /**
   * Also create the copies of preflight, cache-failover, efs-replication and postcheck that only the
   * Region switch plan invokes (environment `INVOKED_BY=region-switch-plan`): they take the activating
   * region to be their own region and so do not depend on the payload Region switch sends.
   * @default false
   */
  readonly planSteps?: boolean;
}

/**
 * The Lambda functions of the region switch steps that ARC Region switch has
 * no block for: pre-flight checks, Global Datastore failover, EFS replication
 * flip (and reverse, for failback), the post-check of the service's deep
 * health, and rejoin (failback preparation: the old region's Aurora cluster and
 * cache group back as secondaries, EFS replicating toward it): those `contract/` gives an environment with
 * its data components. Each function's name is a stack output (`<Function>FunctionName`) for the operator CLI. Bundled by esbuild once per content
 * for every function and copy (`lib/bundling.ts`: minified, source maps), Node.js 22 on arm64,
 * JSON logs to a retained log group, and a role per function with only the
 * actions it calls, on this environment's resources where the API allows.
 */
export class SwitchFunctions extends Construct {
  /** The functions the environment has (cache-failover only with a session cache, efs-replication only with shared files, rejoin only with a data component). */
  public readonly functions: Partial<Record<SwitchFunctionName, lambda.IFunction>>;
  /** The plan's copies (when `planSteps`): same code, role and logs, `INVOKED_BY=region-switch-plan`. */
  public readonly planStepFunctions?: Partial<Record<PlanStepFunctionName, lambda.IFunction>>;

  constructor(scope: Construct, id: string, props: SwitchFunctionsProps) {
    super(scope, id);
    validateComponents(this.node.path, props);
    const stack = Stack.of(this);
    const policies = functionPolicies(stack, props);
    const environment = functionEnvironment(stack, props);
    const functions: Partial<Record<SwitchFunctionName, lambda.IFunction>> = {};
    const planSteps: Partial<Record<PlanStepFunctionName, lambda.IFunction>> = {};
    for (const name of switchFunctionsOf(componentsOf(props))) {
      const [fn, copy] = this.addFunction(name, policies[name], environment, props);
      functions[name] = fn;
      if (copy && isPlanStep(name)) planSteps[name] = copy;
    }
    this.functions = functions;
    if (props.planSteps) this.planStepFunctions = planSteps;
    for (const [name, fn] of Object.entries(this.functions) as [SwitchFunctionName, lambda.IFunction][]) {
      const outputKey = OPERATIONS_OUTPUTS.functionName(name);
      new CfnOutput(this, outputKey, {
        value: fn.functionName,
        description: `Region switch function ${name} (invoke with the event in lambda/README.md)`,
      }).overrideLogicalId(outputKey);
    }
    this.acknowledgePolicies(stack, props);
  }

  /**
   * One function (its own role with `statements`, its retained log group, its bundle) and, when `planSteps`, its
   * copy for the plan (`INVOKED_BY=region-switch-plan`), sharing role and logs.
   */
  private addFunction(
    name: SwitchFunctionName,
    statements: iam.PolicyStatement[],
    environment: FunctionEnvironment,
    props: SwitchFunctionsProps,
  ): [lambda.Function, lambda.Function | undefined] {
    const { description, timeout } = FUNCTION_SPECS[name];
    const role = new iam.Role(this, `${pascalCase(name)}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Region switch step: ${name}`,
    });
    const logGroup = createLogGroup(this, `${pascalCase(name)}Logs`, { encryptionKey: props.logsKey });
    logGroup.grantWrite(role);
    statements.forEach((s) => role.addToPolicy(s));
    const code = lambda.Code.fromAsset(lambdaBundleDir(name));
    const fnProps = (env: FunctionEnvironment, planStep: boolean): lambda.FunctionProps => ({
      functionName: props.functionName(name, planStep),
      code,
      handler: 'index.handler',
      description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: definedOnly(env),
    });
    const nodeVersionReason =
      'Node.js 22 on purpose: the same major version as the instances (Amazon Linux 2023 nodejs22), an LTS line.';
    const fn = new lambda.Function(this, pascalCase(name), fnProps(environment, false));
    acknowledgeNag(fn, 'AwsSolutions-L1', nodeVersionReason);
    if (!props.planSteps || !isPlanStep(name)) return [fn, undefined];
    const copy = new lambda.Function(this, `${pascalCase(name)}PlanStep`, {
      ...fnProps({ ...environment, INVOKED_BY: PLAN_STEP_INVOKER }, true),
      description: `${description} (the plan's step: runs for its own region)`,
    });
    acknowledgeNag(copy, 'AwsSolutions-L1', nodeVersionReason);
    return [fn, copy];
  }

  /** The reviewers' reasons for the roles' wildcards. */
  private acknowledgePolicies(stack: Stack, props: SwitchFunctionsProps): void {
    for (const appStackArn of appStackArns(stack, props)) {
      acknowledgeNag(
        this.node.findChild('PreflightRole').node.findChild('DefaultPolicy'),
        `AwsSolutions-IAM5[Resource::${appStackArn}]`,
        'A stack ARN ends in the ID CloudFormation assigns when the stack is created; the wildcard covers only the ' +
          'named app stack, whose outputs (target group, health check) preflight reads with DescribeStacks.',
      );
    }
    // The roles with a `*` resource: preflight's describes, and the cache's describe of cache-failover and rejoin.
    const cache = props.globalDatastoreId !== undefined;
    const anywhere = (['preflight', 'cache-failover', 'rejoin'] as const).filter(
      (name) => this.functions[name] && (name === 'preflight' || cache),
    );
    for (const name of anywhere) {
      acknowledgeNag(
        this.node.findChild(`${pascalCase(name)}Role`).node.findChild('DefaultPolicy'),
        'AwsSolutions-IAM5[Resource::*]',
        'DescribeTargetHealth, GetMetricData and DescribeGlobalReplicationGroups support no resource-level ' +
          'permissions; every mutating action is scoped to this environment.',
      );
    }
  }
}

/** What makes a function, besides its policy. */
interface FunctionSpec {
  readonly description: string;
  readonly timeout: Duration;
}

/** Each function's description and timeout. */
const FUNCTION_SPECS: Readonly<Record<SwitchFunctionName, FunctionSpec>> = {
  preflight: {
    description: 'Region switch pre-flight: target healthy and ready',
    timeout: Duration.minutes(1),
  },
  'cache-failover': {
    description: 'Region switch: fail the Global Datastore over to the target region',
    timeout: Duration.minutes(12),
  },
  'efs-replication': {
    description: 'Region switch: stop EFS replication into the target (or reverse it for failback)',
    timeout: Duration.minutes(12),
  },
  postcheck: {
    description: "Region switch post-check: every service's readiness in the target region (and a writable database)",
    timeout: Duration.minutes(4),
  },
  rejoin: {
    description: 'Failback preparation: the old region rejoins as secondary (Aurora, cache) and EFS replicates to it',
    timeout: Duration.minutes(12),
  },
};

/** Which data components the environment has, by the props. */
function hasComponent(props: SwitchFunctionsProps): Record<Component, boolean> {
  return {
    database: props.globalClusterIdentifier !== undefined,
    cache: props.globalDatastoreId !== undefined,
    files: Object.values(props.regions).every((r) => r.fileSystemId !== undefined),
  };
}

/** The data components the environment has, by the props. */
function componentsOf(props: SwitchFunctionsProps): Component[] {
  const has = hasComponent(props);
  return COMPONENTS.filter((c) => has[c]);
}

/** A data component is in both regions or neither, with its global ID (the functions refuse anything else). */
function validateComponents(path: string, props: SwitchFunctionsProps): void {
  const regions = Object.values(props.regions);
  const { database, cache, files } = hasComponent(props);
  for (const [what, inRegion, global] of [
    [
      'database (dbClusterIdentifier, dbClusterArn)',
      (r: SwitchRegionResources) => r.dbClusterArn !== undefined && r.dbClusterIdentifier !== undefined,
      database,
    ],
    [
      'session cache (cacheReplicationGroupId)',
      (r: SwitchRegionResources) => r.cacheReplicationGroupId !== undefined,
      cache,
    ],
    ['shared files (fileSystemId)', (r: SwitchRegionResources) => r.fileSystemId !== undefined, files],
  ] as const) {
    if (!regions.every((r) => inRegion(r) === global)) {
      throw new Error(
        `${path}: the ${what} must be given for both regions exactly when the environment has it` +
          ' (globalClusterIdentifier, globalDatastoreId).',
      );
    }
  }
}

/**
 * The functions' environment (`contract/switch-functions.ts`, lambda/README.md): REGIONS, SERVICES and the global IDs
 * the environment has.
 */
function functionEnvironment(stack: Stack, props: SwitchFunctionsProps): FunctionEnvironment {
  const regionResources = (r: SwitchRegionResources): RegionResources => ({
    appStackName: r.appStackName,
    dbClusterIdentifier: r.dbClusterIdentifier,
    cacheReplicationGroupId: r.cacheReplicationGroupId,
    fileSystemId: r.fileSystemId,
    regionalUrl: r.regionalUrl,
  });
  return {
    REGIONS: stack.toJsonString(
      Object.fromEntries(Object.entries(props.regions).map(([name, r]) => [name, regionResources(r)])),
    ),
    SERVICES: JSON.stringify(props.services),
    GLOBAL_CLUSTER_IDENTIFIER: props.globalClusterIdentifier,
    GLOBAL_DATASTORE_ID: props.globalDatastoreId,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/** The variables of `env` that have a value (a component the environment lacks has none). */
function definedOnly(env: FunctionEnvironment): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The regions' app stacks' ARNs: a stack ARN ends in the ID CloudFormation assigns at creation (`<name>/*`). */
function appStackArns(stack: Stack, props: SwitchFunctionsProps): string[] {
  return Object.entries(props.regions).map(([region, r]) =>
    stack.formatArn({ service: 'cloudformation', region, resource: 'stack', resourceName: `${r.appStackName}/*` }),
  );
}

/**
 * Each function's statements, only what it calls and on this environment's resources where the API allows (those
 * of a function the environment does not have are never used).
 */
function functionPolicies(
  stack: Stack,
  props: SwitchFunctionsProps,
): Record<SwitchFunctionName, iam.PolicyStatement[]> {
  const { database, cache, files } = hasComponent(props);
  const regions = Object.values(props.regions);
  const globalClusterArn = stack.formatArn({
    service: 'rds',
    region: '',
    resource: 'global-cluster',
    resourceName: props.globalClusterIdentifier ?? 'none',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const clusterArns = regions.flatMap((r) => (r.dbClusterArn ? [r.dbClusterArn] : []));
  const fileSystemArns = Object.entries(props.regions).flatMap(([region, r]) =>
    r.fileSystemId
      ? [
          stack.formatArn({
            service: 'elasticfilesystem',
            region,
            resource: 'file-system',
            resourceName: r.fileSystemId,
          }),
        ]
      : [],
  );
  const describeAnywhere = (actions: string[]) => new iam.PolicyStatement({ actions, resources: ['*'] });
  const databaseReads = database
    ? [
        new iam.PolicyStatement({ actions: ['rds:DescribeDBClusters'], resources: clusterArns }),
        new iam.PolicyStatement({ actions: ['rds:DescribeGlobalClusters'], resources: [globalClusterArn] }),
      ]
    : [];
  const cacheReads = cache ? [describeAnywhere(['elasticache:DescribeGlobalReplicationGroups'])] : [];
  const efsActions = [
    'elasticfilesystem:DescribeFileSystems',
    'elasticfilesystem:DescribeReplicationConfigurations',
    'elasticfilesystem:CreateReplicationConfiguration',
    'elasticfilesystem:UpdateFileSystemProtection',
  ];
  return {
    preflight: [
      describeAnywhere(['elasticloadbalancing:DescribeTargetHealth', 'cloudwatch:GetMetricData']),
      new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: appStackArns(stack, props) }),
      ...databaseReads,
      ...cacheReads,
    ],
    'cache-failover': [
      ...cacheReads,
      new iam.PolicyStatement({
        actions: ['elasticache:FailoverGlobalReplicationGroup'],
        resources: [
          stack.formatArn({
            service: 'elasticache',
            region: '',
            resource: 'globalreplicationgroup',
            resourceName: props.globalDatastoreId,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
          ...Object.entries(props.regions).map(([region, r]) =>
            stack.formatArn({
              service: 'elasticache',
              region,
              resource: 'replicationgroup',
              resourceName: r.cacheReplicationGroupId,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ),
        ],
      }),
    ],
    'efs-replication': [
      new iam.PolicyStatement({
        actions: [
          ...efsActions.slice(0, 2),
          'elasticfilesystem:DeleteReplicationConfiguration',
          ...efsActions.slice(2),
        ],
        resources: fileSystemArns,
      }),
    ],
    postcheck: [],
    rejoin: [
      ...databaseReads,
      ...cacheReads,
      ...(files ? [new iam.PolicyStatement({ actions: efsActions, resources: fileSystemArns })] : []),
    ],
  };
}
