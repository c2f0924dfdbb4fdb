/**
 * `check-deploy`: whether deploying the synthesized templates now is safe, given the live roles of the data
 * tier and any region switch in progress.
 *
 * The templates assume the roles the environment was created with (`lib/recorded.ts`, README "Deploy model"):
 * the config's primary region holds the Aurora writer, the Global Datastore primary and the EFS replication
 * source. After a switch the live roles differ, and a change to a data-tier member whose live role is not the
 * one its template assumes is exactly what CloudFormation cannot do safely (RDS and ElastiCache refuse some
 * member-level changes, and a Global Datastore or replication update could pull the role back). Everything
 * else (App, Operations, a Network change) stays deployable during and after a switch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeReplicationConfigurationsCommand, ReplicationNotFound } from '@aws-sdk/client-efs';
import { DescribeGlobalReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { EnvironmentConfig } from '../lib/config';
import { physicalNames } from '../lib/names';
import { compareVersions } from '../lib/recorded';
import { STORAGE_OUTPUTS } from '../lib/stack-outputs';
import { diffTemplates, stackStatefulRisks, StatefulRisk } from '../lib/template-diff';
import { ArcRegionSwitchApi } from './arc-region-switch-client';
import { RegionClients } from './status';
import { findPlan } from './switch';

/** A CloudFormation template, as JSON. */
export type Template = { readonly Resources?: Record<string, Resource>; readonly [key: string]: unknown };

/** One resource of a template. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** A stack of the synthesized cloud assembly. */
export interface SynthesizedStack {
  /** Stack name. */
  readonly stackName: string;
  /** Region it deploys to. */
  readonly region: string;
  /** The template. */
  readonly template: Template;
}

/** A change of one resource between the deployed and the synthesized template. */
export interface ResourceChange {
  /** Logical ID. */
  readonly logicalId: string;
  /** Resource type. */
  readonly type: string;
  /** `add`, `remove` or `modify`. */
  readonly action: 'add' | 'remove' | 'modify';
  /** Top-level keys of Properties that differ, and `DeletionPolicy` and such when they differ (modify only). */
  readonly changed: readonly string[];
  /** The synthesized resource (add, modify) or the deployed one (remove). */
  readonly resource: Resource;
  /** The deployed resource (modify only). */
  readonly before?: Resource;
}

/** The change of one stack. */
export interface StackChange {
  /** The stack. */
  readonly stack: SynthesizedStack;
  /** Whether the stack exists (false: every resource is added). */
  readonly deployed: boolean;
  /** Changed resources; empty when the deploy would change nothing. */
  readonly changes: readonly ResourceChange[];
  /** Changes that would replace, remove or unprotect a stateful resource. */
  readonly risks: readonly StatefulRisk[];
}

/** What was read of the live roles. Each is a region name, or an error message when it could not be read. */
export interface LiveRoles {
  /** Region whose Aurora cluster is the writer of the global cluster. */
  readonly databaseWriter: { region: string } | { error: string };
  /** Engine version of each region's Aurora cluster, where it was read. */
  readonly databaseVersions: Readonly<Record<string, string>>;
  /** Region of the Global Datastore's primary member. */
  readonly cachePrimary: { region: string } | { error: string };
  /** Region of the EFS replication source; `none` when the file systems do not replicate (after a failover). */
  readonly filesSource: { region: string | 'none' } | { error: string };
  /**
   * A plan execution in progress: `{ executionId }`; `null` when none; `{ error }` when the plan could not be read.
   * `undefined` when the environment has no Region switch plan.
   */
  readonly switchInProgress?: { executionId: string } | null | { error: string };
  /** Regions whose APIs could not be reached, with the error. */
  readonly unreachable: Readonly<Record<string, string>>;
}

/** The verdict. */
export interface CheckDeployResult {
  /** Whether deploying every changed stack now is safe. */
  readonly safe: boolean;
  /** Why not, one sentence each with the fix. */
  readonly reasons: readonly string[];
  /** The stacks that would change. */
  readonly stacks: readonly StackChange[];
  /** The live roles read. */
  readonly roles: LiveRoles;
}

/** Thrown when the cloud assembly cannot be read. */
export class AssemblyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyError';
  }
}

/**
 * The stacks of `config` in the cloud assembly at `dir` (what `cdk synth -c env=<name>` writes, `cdk.out` by
 * default), read from its `manifest.json`.
 * @throws AssemblyError when there is no assembly, or it holds no stack of this environment.
 */
export function readAssembly(dir: string, config: EnvironmentConfig): SynthesizedStack[] {
  const manifestPath = path.join(dir, 'manifest.json');
  const synth = `run \`npx cdk synth -c env=${config.name}\` first`;
  if (!fs.existsSync(manifestPath))
    throw new AssemblyError(`no cloud assembly at ${dir} (manifest.json missing); ${synth}.`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<string, { type?: string; environment?: string; properties?: Record<string, unknown> }>;
  };
  const prefix = `${physicalNames(config).stackPrefix}-`;
  const stacks: SynthesizedStack[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const stackName = String(artifact.properties?.stackName ?? id);
    if (!stackName.startsWith(prefix)) continue;
    const region = String(artifact.environment ?? '')
      .split('/')
      .pop()!;
    const templateFile = path.join(dir, String(artifact.properties?.templateFile));
    stacks.push({ stackName, region, template: JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Template });
  }
  if (stacks.length === 0) {
    throw new AssemblyError(`the cloud assembly at ${dir} holds no stack of environment ${config.name}; ${synth}.`);
  }
  return stacks;
}

/**
 * The resources that differ between a deployed template (undefined: no stack yet) and a synthesized one, in
 * logical ID order, from `lib/template-diff.ts`.
 */
export function resourceChanges(deployed: Template | undefined, synthesized: Template): ResourceChange[] {
  const diff = diffTemplates('', deployed ?? {}, synthesized);
  const before = deployed?.Resources ?? {};
  const after = synthesized.Resources ?? {};
  return [
    ...diff.added.map((r) => ({ ...r, action: 'add' as const, changed: [], resource: after[r.logicalId]! })),
    ...diff.removed.map((r) => ({ ...r, action: 'remove' as const, changed: [], resource: before[r.logicalId]! })),
    ...diff.modified.map((r) => ({
      logicalId: r.logicalId,
      type: r.type,
      action: 'modify' as const,
      changed: [...r.properties, ...r.attributes],
      resource: after[r.logicalId]!,
      before: before[r.logicalId]!,
    })),
  ].sort((a, b) => (a.logicalId < b.logicalId ? -1 : a.logicalId > b.logicalId ? 1 : 0));
}

/** What in a stack's change would replace, remove or unprotect a stateful resource (`lib/template-diff.ts`). */
export function replacementRisks(
  stackName: string,
  deployed: Template | undefined,
  synthesized: Template,
): StatefulRisk[] {
  return deployed ? stackStatefulRisks(diffTemplates(stackName, deployed, synthesized)) : [];
}

/** The data-tier component a resource type belongs to, or undefined for the rest. */
export function componentOf(type: string): 'database' | 'cache' | 'files' | undefined {
  if (/^AWS::RDS::(DBCluster|DBInstance|GlobalCluster|DBClusterParameterGroup|DBParameterGroup)$/.test(type)) {
    return 'database';
  }
  if (/^AWS::ElastiCache::(ReplicationGroup|GlobalReplicationGroup)$/.test(type)) return 'cache';
  if (type === 'AWS::EFS::FileSystem') return 'files';
  return undefined;
}

const COMPONENT_TEXT = {
  database: 'the Aurora writer',
  cache: 'the Global Datastore primary',
  files: 'the EFS replication source',
} as const;

/** Regions a template reads at deploy time (`Fn::GetStackOutput`), with the stacks it reads. */
export function crossRegionReads(template: Template, ownRegion: string): { region: string; stackName: string }[] {
  const reads: { region: string; stackName: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Fn::GetStackOutput' && v && typeof v === 'object') {
          const read = v as { Region?: unknown; StackName?: unknown };
          if (typeof read.Region === 'string' && read.Region !== ownRegion) {
            reads.push({ region: read.Region, stackName: String(read.StackName) });
          }
        }
        visit(v);
      }
    }
  };
  visit(template);
  return reads;
}

/**
 * Judges the changes against the live roles. Unsafe:
 * - a change that replaces, removes or unprotects a stateful resource (create-only properties from the
 *   CloudFormation resource schemas, `lib/template-diff.ts`);
 * - a Region switch plan execution in progress, or a plan that could not be read;
 * - a change to a data-tier resource (Aurora, ElastiCache, EFS) while the live role of that component is not
 *   the one the templates assume (the config's primary holds it), or could not be read;
 * - an Aurora engine version change in the region that holds the writer while another member runs a lower
 *   version (AWS upgrades a Global Database's secondaries first);
 * - a changed stack that reads another region's stack at deploy while that region cannot be reached.
 */
export function judge(config: EnvironmentConfig, stacks: readonly StackChange[], roles: LiveRoles): string[] {
  const reasons: string[] = [];
  const assumed = config.primary.region;
  const runbook = 'docs/runbooks/deploying-during-a-switch.md';
  const changed = stacks.filter((s) => s.changes.length > 0);

  const inProgress = roles.switchInProgress;
  if (inProgress && 'executionId' in inProgress) {
    reasons.push(
      `a region switch is in progress (plan execution ${inProgress.executionId}): wait until it ends ` +
        '(`npm run region -- status`), then check again.',
    );
  } else if (inProgress && 'error' in inProgress && changed.length > 0) {
    reasons.push(`cannot tell whether a region switch is in progress (${inProgress.error}).`);
  }

  for (const { stack, risks } of changed) {
    for (const risk of risks) reasons.push(riskReason(stack.stackName, risk));
  }
  for (const { stack, changes } of changed) {
    for (const component of ['database', 'cache', 'files'] as const) {
      const touched = changes.filter((c) => componentOf(c.type) === component);
      if (touched.length === 0) continue;
      const list = touched.map((c) => `${c.logicalId} (${c.type}, ${c.action})`).join(', ');
      const live =
        component === 'database'
          ? roles.databaseWriter
          : component === 'cache'
            ? roles.cachePrimary
            : roles.filesSource;
      if ('error' in live) {
        reasons.push(
          `${stack.stackName} changes ${list}, but ${COMPONENT_TEXT[component]} could not be read (${live.error}); ` +
            'deploy data-tier changes only when both regions can be read.',
        );
      } else if (live.region !== assumed) {
        const now = live.region === 'none' ? 'the file systems do not replicate now' : `${live.region} holds it now`;
        reasons.push(
          `${stack.stackName} changes ${list}: the templates assume ${assumed} holds ${COMPONENT_TEXT[component]}, ` +
            `but ${now} (after a region switch). Deploy this stack after failback, or follow ${runbook}.`,
        );
      }
    }
    reasons.push(...versionOrderProblems(config, stack, changes, roles));
    const unreachable = crossRegionReads(stack.template, stack.region).filter((r) => roles.unreachable[r.region]);
    for (const r of unreachable) {
      reasons.push(
        `${stack.stackName} reads ${r.stackName} in ${r.region} at deploy (Fn::GetStackOutput), and ${r.region} ` +
          `cannot be reached (${roles.unreachable[r.region]}): record the IDs once both regions are up ` +
          `(\`npm run region -- record-ids -c env=${config.name}\`), or deploy this stack when ${r.region} is back.`,
      );
    }
  }
  return reasons;
}

const RISK_TEXT: Readonly<Record<StatefulRisk['kind'], string>> = {
  removed: 'removes',
  'create-only': 'replaces',
  'conditional-create-only': 'may replace',
  retention: 'changes the retention of',
};

function riskReason(stackName: string, risk: StatefulRisk): string {
  const keys = risk.keys.length > 0 ? ` (${risk.keys.join(', ')} changed)` : '';
  return (
    `${stackName} ${RISK_TEXT[risk.kind]} ${risk.logicalId} (${risk.type})${keys}: a stateful resource; ` +
    'no routine deploy does that. Revert the change, or plan it as a migration with a reviewer.'
  );
}

function versionOrderProblems(
  config: EnvironmentConfig,
  stack: SynthesizedStack,
  changes: readonly ResourceChange[],
  roles: LiveRoles,
): string[] {
  const writer = 'region' in roles.databaseWriter ? roles.databaseWriter.region : undefined;
  if (stack.region !== writer) return [];
  const problems: string[] = [];
  for (const c of changes) {
    if (c.type !== 'AWS::RDS::DBCluster' || !c.changed.includes('EngineVersion')) continue;
    const target = c.resource.Properties?.EngineVersion;
    if (typeof target !== 'string') continue;
    for (const [region, version] of Object.entries(roles.databaseVersions)) {
      if (region === stack.region || compareVersions(version, target) >= 0) continue;
      problems.push(
        `${stack.stackName} upgrades the Aurora writer's cluster to ${target} while the cluster in ${region} runs ` +
          `${version}: AWS upgrades a Global Database's secondary clusters first. Deploy ` +
          `\`npx cdk deploy --exclusively ${physicalNames(config).stackPrefix}-Data-${region} -c env=${config.name}\` ` +
          'first (docs/runbooks/aurora-upgrade.md).',
      );
    }
  }
  return problems;
}

/** Renders the result for a terminal. */
export function renderCheckDeploy(config: EnvironmentConfig, result: CheckDeployResult): string {
  const lines = [`Environment ${config.name}: deploy check`, ''];
  const role = (r: { region: string } | { error: string }) => ('region' in r ? r.region : `unknown (${r.error})`);
  lines.push(`Aurora writer:              ${role(result.roles.databaseWriter)}`);
  lines.push(`Global Datastore primary:   ${role(result.roles.cachePrimary)}`);
  lines.push(`EFS replication source:     ${role(result.roles.filesSource)}`);
  const s = result.roles.switchInProgress;
  lines.push(
    `Region switch in progress:  ${s === undefined ? 'no plan' : s === null ? 'no' : 'executionId' in s ? `yes (${s.executionId})` : `unknown (${s.error})`}`,
  );
  lines.push(
    `Templates assume:           ${config.primary.region} holds all three (the region the environment was created in)`,
  );
  lines.push('');
  const changed = result.stacks.filter((st) => st.changes.length > 0);
  if (changed.length === 0) lines.push('No stack would change.');
  for (const st of changed) {
    lines.push(`${st.stack.stackName} (${st.stack.region})${st.deployed ? '' : ': new stack'}`);
    for (const c of st.changes) {
      lines.push(
        `  ${c.action.padEnd(6)} ${c.logicalId} ${c.type}${c.changed.length ? `: ${c.changed.join(', ')}` : ''}`,
      );
    }
  }
  lines.push('');
  if (result.safe) lines.push('SAFE to deploy now.');
  else lines.push('NOT SAFE to deploy now:', ...result.reasons.map((r) => `  - ${r}`));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the live state

/** What `check-deploy` and `record-ids` read through. */
export interface LiveDeps {
  /** The SDK clients of a region. */
  readonly clients: (region: string) => RegionClients;
  /** The Region switch API. */
  readonly arc: ArcRegionSwitchApi;
}

/**
 * The deployed template of a stack (`GetTemplate`, stage Original), or undefined when the stack does not exist.
 * @throws the SDK's error for anything else (an unreachable region, missing permissions).
 */
export async function deployedTemplate(cfn: CloudFormationClient, stackName: string): Promise<Template | undefined> {
  try {
    const out = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }));
    return JSON.parse(out.TemplateBody ?? '{}') as Template;
  } catch (err) {
    if (err instanceof CloudFormationServiceException && /does not exist/.test(err.message)) return undefined;
    throw err;
  }
}

/** The outputs of a stack (`DescribeStacks`), or undefined when the stack does not exist. */
export async function stackOutputsOf(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string> | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    return Object.fromEntries(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (err) {
    if (err instanceof CloudFormationServiceException && /does not exist/.test(err.message)) return undefined;
    throw err;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first region whose `read` succeeds, or the errors of both. */
async function fromEither<T>(
  regions: readonly string[],
  read: (region: string) => Promise<T>,
): Promise<{ value: T } | { error: string }> {
  const errors: string[] = [];
  for (const region of regions) {
    try {
      return { value: await read(region) };
    } catch (err) {
      errors.push(`${region}: ${message(err)}`);
    }
  }
  return { error: errors.join('; ') };
}

function regionOfArn(arn: string | undefined): string | undefined {
  return arn?.split(':')[3];
}

/**
 * Reads the live roles of the data tier from whichever region answers: the Aurora writer
 * (`DescribeGlobalClusters`), each cluster's engine version (`DescribeDBClusters`), the Global Datastore primary
 * (`DescribeGlobalReplicationGroups`), the EFS replication source (`DescribeReplicationConfigurations`) and the
 * plan's execution in progress (`ListPlansInRegion`'s `activePlanExecution`).
 */
export async function readLiveRoles(
  config: EnvironmentConfig,
  deps: LiveDeps,
  fileSystemIds: Readonly<Record<string, string>>,
): Promise<LiveRoles> {
  const names = physicalNames(config);
  const regions = [config.primary.region, config.secondary.region];
  const unreachable: Record<string, string> = {};

  const global = await fromEither(regions, async (region) => {
    const out = await deps
      .clients(region)
      .rds.send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: names.globalClusterIdentifier }));
    const members = out.GlobalClusters?.[0]?.GlobalClusterMembers ?? [];
    const writer = regionOfArn(members.find((m) => m.IsWriter)?.DBClusterArn);
    if (!writer) throw new Error(`global cluster ${names.globalClusterIdentifier} has no writer`);
    return writer;
  });
  const databaseVersions: Record<string, string> = {};
  await Promise.all(
    regions.map(async (region) => {
      try {
        const out = await deps
          .clients(region)
          .rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: names.databaseClusterIdentifier }));
        const version = out.DBClusters?.[0]?.EngineVersion;
        if (version) databaseVersions[region] = version;
      } catch (err) {
        unreachable[region] = message(err);
      }
    }),
  );

  const cache = await fromEither(regions, async (region) => {
    const ec = deps.clients(region).elasticache;
    let marker: string | undefined;
    do {
      const page = await ec.send(new DescribeGlobalReplicationGroupsCommand({ ShowMemberInfo: true, Marker: marker }));
      const group = page.GlobalReplicationGroups?.find((g) =>
        g.GlobalReplicationGroupId?.endsWith(`-${names.globalDatastoreSuffix}`),
      );
      if (group) {
        const primary = group.Members?.find((m) => m.Role === 'PRIMARY')?.ReplicationGroupRegion;
        if (!primary) throw new Error(`Global Datastore ${group.GlobalReplicationGroupId} has no primary member`);
        return primary;
      }
      marker = page.Marker;
    } while (marker);
    throw new Error(`no Global Datastore whose ID ends with ${names.globalDatastoreSuffix}`);
  });

  const files = await fromEither(regions, async (region) => {
    const id = fileSystemIds[region];
    if (!id) throw new Error(`the file system ID of ${region} is unknown`);
    try {
      const out = await deps
        .clients(region)
        .efs.send(new DescribeReplicationConfigurationsCommand({ FileSystemId: id }));
      return out.Replications?.[0]?.SourceFileSystemRegion ?? 'none';
    } catch (err) {
      if (err instanceof ReplicationNotFound) return 'none';
      throw err;
    }
  });

  let switchInProgress: LiveRoles['switchInProgress'];
  if (config.regionSwitch.enabled) {
    const plan = await fromEither(regions, (region) => findPlan(deps.arc, region, names.regionSwitchPlanName));
    switchInProgress =
      'error' in plan
        ? { error: plan.error }
        : plan.value.activePlanExecution
          ? { executionId: plan.value.activePlanExecution }
          : null;
  }

  return {
    databaseWriter: 'value' in global ? { region: global.value } : global,
    databaseVersions,
    cachePrimary: 'value' in cache ? { region: cache.value } : cache,
    filesSource: 'value' in files ? { region: files.value } : files,
    switchInProgress,
    unreachable,
  };
}

/** Options of {@link checkDeploy}. */
export interface CheckDeployOptions {
  /** The cloud assembly directory. */
  readonly assemblyDir: string;
  /**
   * Check only these stacks (names).
   * @default - every stack of the environment
   */
  readonly stackNames?: readonly string[];
  /** Recorded file system IDs (`lib/recorded.ts`); missing ones are read from the Storage stacks' outputs. */
  readonly fileSystemIds: Readonly<Record<string, string>>;
}

/** Reads the synthesized and deployed templates and the live roles, and judges. */
export async function checkDeploy(
  config: EnvironmentConfig,
  options: CheckDeployOptions,
  deps: LiveDeps,
): Promise<CheckDeployResult> {
  let synthesized = readAssembly(options.assemblyDir, config);
  if (options.stackNames) {
    const unknown = options.stackNames.filter((n) => !synthesized.some((s) => s.stackName === n));
    if (unknown.length > 0) {
      throw new AssemblyError(
        `no stack ${unknown.join(', ')} in the cloud assembly; stacks: ${synthesized.map((s) => s.stackName).join(', ')}.`,
      );
    }
    synthesized = synthesized.filter((s) => options.stackNames!.includes(s.stackName));
  }
  const reasons: string[] = [];
  const stacks: StackChange[] = [];
  const fileSystemIds: Record<string, string> = { ...options.fileSystemIds };
  await Promise.all(
    [config.primary.region, config.secondary.region]
      .filter((region) => !fileSystemIds[region])
      .map(async (region) => {
        const name = `${physicalNames(config).stackPrefix}-Storage-${region}`;
        const id = await stackOutputsOf(deps.clients(region).cloudformation, name).then(
          (o) => o?.[STORAGE_OUTPUTS.fileSystemId],
          () => undefined,
        );
        if (id) fileSystemIds[region] = id;
      }),
  );
  const [roles] = await Promise.all([
    readLiveRoles(config, deps, fileSystemIds),
    Promise.all(
      synthesized.map(async (stack) => {
        try {
          const deployed = await deployedTemplate(deps.clients(stack.region).cloudformation, stack.stackName);
          stacks.push({
            stack,
            deployed: deployed !== undefined,
            changes: resourceChanges(deployed, stack.template),
            risks: replacementRisks(stack.stackName, deployed, stack.template),
          });
        } catch (err) {
          reasons.push(`cannot read the deployed template of ${stack.stackName} in ${stack.region} (${message(err)}).`);
        }
      }),
    ),
  ]);
  const order = (s: StackChange) => synthesized.indexOf(s.stack);
  stacks.sort((a, b) => order(a) - order(b));
  reasons.push(...judge(config, stacks, roles));
  return { safe: reasons.length === 0, reasons, stacks, roles };
}
