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
import { DATA_OUTPUTS, stackName, stackPrefix, STORAGE_OUTPUTS, type StackLifecycle } from '../contract';
import { EnvironmentConfig, hasDataComponent } from '../lib/config';
import { compareVersions, majorVersion, RecordedFacts } from '../lib/recorded';
import {
  CfnResource,
  CfnTemplate,
  diffTemplates,
  isEmptyDiff,
  stackStatefulRisks,
  StatefulRisk,
} from '../lib/template-diff';
import { DeployedStack, deployedStack } from './cloudformation';
import { isNotInEnvironment, NotInEnvironment } from './components';
import { LiveDeps, LiveRoles, message, Read, readLiveRoles, Role } from './live-state';

/** A CloudFormation template, as JSON. */
export type Template = CfnTemplate;

/** One resource of a template. */
export type Resource = CfnResource;

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
  /** The stack (its template with the other stacks' outputs resolved, where they could be read). */
  readonly stack: SynthesizedStack;
  /** The deployed stack's status; undefined when it does not exist (every resource is added). */
  readonly deployedStatus?: string;
  /** Changed resources. */
  readonly changes: readonly ResourceChange[];
  /** Other changes: outputs added, removed or modified, and other template sections (`Parameters`, ...). */
  readonly other: readonly string[];
  /** Changes that would replace, remove or unprotect a stateful resource. */
  readonly risks: readonly StatefulRisk[];
}

/** The verdict. */
export interface CheckDeployResult {
  /** Whether deploying every changed stack now is safe. */
  readonly safe: boolean;
  /** Why not, one sentence each with the fix. */
  readonly reasons: readonly string[];
  /** The stacks checked. */
  readonly stacks: readonly StackChange[];
  /** The live state read. */
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
  if (!fs.existsSync(manifestPath)) {
    throw new AssemblyError(`no cloud assembly at ${dir} (manifest.json missing); ${synth}.`);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<string, { type?: string; environment?: string; properties?: Record<string, unknown> }>;
  };
  const prefix = `${stackPrefix(config.name)}-`;
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

/** Every `Fn::GetStackOutput` of a template, with the stack and region it reads. */
export function stackOutputReads(template: Template): { stackName: string; region: string; outputName: string }[] {
  const reads: { stackName: string; region: string; outputName: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const read = v as { StackName?: unknown; Region?: unknown; OutputName?: unknown };
        if (k === 'Fn::GetStackOutput' && typeof read.StackName === 'string' && typeof read.Region === 'string') {
          reads.push({ stackName: read.StackName, region: read.Region, outputName: String(read.OutputName) });
        } else visit(v);
      }
    }
  };
  visit(template);
  return reads;
}

/** Regions a template reads at deploy time (`Fn::GetStackOutput`) other than its own, with the stacks it reads. */
export function crossRegionReads(template: Template, ownRegion: string): { region: string; stackName: string }[] {
  return stackOutputReads(template)
    .filter((r) => r.region !== ownRegion)
    .map(({ region, stackName }) => ({ region, stackName }));
}

/**
 * A copy of `template` with every `Fn::GetStackOutput` whose output `outputOf` knows replaced by its value, so
 * that a read recorded as a literal (`record-ids`) compares equal to the read it replaced.
 */
export function resolveStackOutputs(
  template: Template,
  outputOf: (stackName: string, region: string, outputName: string) => string | undefined,
): Template {
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (!node || typeof node !== 'object') return node;
    const entries = Object.entries(node);
    if (entries.length === 1 && entries[0]![0] === 'Fn::GetStackOutput') {
      const read = entries[0]![1] as { StackName?: unknown; Region?: unknown; OutputName?: unknown };
      const value = outputOf(String(read.StackName), String(read.Region), String(read.OutputName));
      if (value !== undefined) return value;
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(template) as Template;
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

/** Outputs and template sections that differ, as `Outputs: X added` lines. */
export function otherChanges(deployed: Template | undefined, synthesized: Template): string[] {
  const diff = diffTemplates('', deployed ?? {}, synthesized);
  if (isEmptyDiff({ ...diff, added: [], removed: [], modified: [], metadataOnly: [] })) return [];
  return [
    ...diff.outputs.added.map((o) => `output ${o} added`),
    ...diff.outputs.removed.map((o) => `output ${o} removed`),
    ...diff.outputs.modified.map((o) => `output ${o} modified`),
    ...diff.sections.map((s) => `section ${s} modified`),
  ];
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

const RUNBOOK = {
  switch: 'docs/runbooks/deploying-during-a-switch.md',
  aurora: 'docs/runbooks/aurora-upgrade.md',
  valkey: 'docs/runbooks/valkey-upgrade.md',
} as const;

/**
 * Judges the changes against the live state. Not safe:
 * - a Region switch plan execution, or a managed switchover or failover of the global cluster, in progress (or a
 *   plan that could not be read while something would change);
 * - a stack that is not in a settled state (an update in progress, a failed rollback);
 * - a change that replaces, removes or unprotects a stateful resource (create-only properties from the
 *   CloudFormation resource schemas, `lib/template-diff.ts`);
 * - a change to a data-tier resource (Aurora, ElastiCache, EFS) while the live role of that component is not
 *   the one the templates assume (the config's primary holds it), could not be read, or is changing;
 * - a change that AWS makes only on the global resource: a major Aurora engine version on a member cluster, an
 *   engine version or node type on a cache member; or a Global Datastore change CloudFormation cannot be trusted
 *   with (two at once, or a value removed);
 * - an Aurora engine version change in the region that holds the writer while another member runs a lower, or
 *   an unknown, version (AWS upgrades a Global Database's secondaries first);
 * - a changed stack that reads another region at deploy (`Fn::GetStackOutput`, or a `Custom::AWS` call) while
 *   that region cannot be reached.
 */
export function judge(config: EnvironmentConfig, stacks: readonly StackChange[], roles: LiveRoles): string[] {
  const reasons: string[] = [];
  const changed = stacks.filter((s) => s.changes.length > 0 || s.other.length > 0);

  const inProgress = roles.switchInProgress;
  if (inProgress && 'value' in inProgress && inProgress.value) {
    reasons.push(
      `a region switch is in progress (plan execution ${inProgress.value}): wait until it ends ` +
        '(`npm run region -- status`), then check again.',
    );
  } else if (inProgress && 'error' in inProgress && changed.length > 0) {
    reasons.push(
      `cannot tell whether a region switch is in progress: the plan could not be read (${inProgress.error}); ` +
        'check the credentials allow arc-region-switch:ListPlansInRegion.',
    );
  }
  const last = roles.lastExecution;
  if (last?.executionState && !(inProgress && 'value' in inProgress && inProgress.value === last.executionId)) {
    const what = `the plan's last execution (${last.executionId}, ${last.executionAction ?? 'activate'} ${last.executionRegion ?? '?'})`;
    if (UNFINISHED.includes(last.executionState)) {
      reasons.push(
        `${what} is ${last.executionState}: finish or cancel it (\`npm run region -- status\`), then check again.`,
      );
    } else if (!FINISHED.includes(last.executionState) && splitRoles(roles)) {
      reasons.push(
        `${what} ended ${last.executionState} and the data tier is split (${splitRoles(roles)}): finish the switch ` +
          'or switch back (the switchover and failback runbooks), then check again.',
      );
    }
  }
  const split = splitRoles(roles);
  if (split && !reasons.some((r) => r.includes('the data tier is split'))) {
    reasons.push(
      `the data tier is split (${split}): a switch did not finish; finish it or switch back before deploying.`,
    );
  }
  if (roles.databaseFailover) {
    reasons.push(
      `the Aurora global cluster is switching over or failing over (${roles.databaseFailover}): wait until it ends.`,
    );
  }

  for (const s of changed) {
    const { stack } = s;
    if (s.deployedStatus && !/_COMPLETE$/.test(s.deployedStatus)) {
      reasons.push(
        `${stack.stackName} is ${s.deployedStatus}: wait for the operation to end, or recover the stack ` +
          '(continue-update-rollback for UPDATE_ROLLBACK_FAILED) first.',
      );
    }
    for (const risk of s.risks) reasons.push(riskReason(stack.stackName, risk));
    reasons.push(...roleProblems(config, s, roles));
    reasons.push(...globalOnlyProblems(stack, s.changes));
    reasons.push(...versionOrderProblems(config, stack, s.changes, roles));
    reasons.push(...unreachableReads(config, s, roles));
  }
  return reasons;
}

/** Plan execution states of a switch that has not ended. */
const UNFINISHED: readonly string[] = [
  'inProgress',
  'pending',
  'pausedByFailedStep',
  'pausedByOperator',
  'pendingManualApproval',
];
/** Plan execution states of a switch that ended as planned. */
const FINISHED: readonly string[] = ['completed', 'completedMonitoringApplicationHealth'];

/** Why the live roles are split between the regions (the writer and the cache primary apart), or undefined. */
export function splitRoles(roles: LiveRoles): string | undefined {
  const db = 'value' in roles.databaseWriter ? roles.databaseWriter.value : undefined;
  const cache = 'value' in roles.cachePrimary ? roles.cachePrimary.value : undefined;
  return db && cache && db !== cache ? `Aurora writer in ${db}, Global Datastore primary in ${cache}` : undefined;
}

function roleProblems(config: EnvironmentConfig, s: StackChange, roles: LiveRoles): string[] {
  const problems: string[] = [];
  const assumed = config.primary.region;
  for (const component of ['database', 'cache', 'files'] as const) {
    const touched = s.changes.filter((c) => componentOf(c.type) === component);
    if (touched.length === 0) continue;
    const list = touched.map((c) => `${c.logicalId} (${c.type}, ${c.action})`).join(', ');
    const live: Role =
      component === 'database' ? roles.databaseWriter : component === 'cache' ? roles.cachePrimary : roles.filesSource;
    // A component the environment no longer has: its resources can only be removed, which the stateful-resource
    // check reports; there is no live role to compare.
    if (isNotInEnvironment(live)) continue;
    const status = component === 'cache' ? roles.cacheStatus : component === 'files' ? roles.filesStatus : undefined;
    const settled = component === 'cache' ? 'available' : 'ENABLED';
    if ('error' in live) {
      problems.push(
        `${s.stack.stackName} changes ${list}, but ${COMPONENT_TEXT[component]} could not be read (${live.error}); ` +
          'deploy data-tier changes only when both regions can be read.',
      );
    } else if (live.value !== assumed) {
      const now =
        live.value === 'none'
          ? 'the file systems do not replicate now (after a failover, or a replication that was deleted)'
          : `${live.value} holds it now (after a region switch)`;
      problems.push(
        `${s.stack.stackName} changes ${list}: the templates assume ${assumed} holds ${COMPONENT_TEXT[component]}, ` +
          `but ${now}. Deploy this stack after failback, or follow ${RUNBOOK.switch}.`,
      );
    } else if (status && status !== settled) {
      problems.push(
        `${s.stack.stackName} changes ${list} while ${component === 'cache' ? 'the Global Datastore' : 'the EFS replication'} ` +
          `is ${status}: wait until it is ${settled}.`,
      );
    }
  }
  return problems;
}

function globalOnlyProblems(stack: SynthesizedStack, changes: readonly ResourceChange[]): string[] {
  const problems: string[] = [];
  const prop = (r: Resource | undefined, key: string) => r?.Properties?.[key];
  for (const c of changes) {
    if (c.action !== 'modify') continue;
    if (c.type === 'AWS::RDS::DBCluster' && c.changed.includes('EngineVersion')) {
      const [from, to] = [prop(c.before, 'EngineVersion'), prop(c.resource, 'EngineVersion')];
      if (typeof from === 'string' && typeof to === 'string' && majorVersion(from) !== majorVersion(to)) {
        problems.push(
          `${stack.stackName} changes the major engine version of ${c.logicalId} (${from} to ${to}) on a member ` +
            `cluster, which RDS refuses for a Global Database: upgrade through the global cluster (${RUNBOOK.aurora}).`,
        );
      }
    }
    if (c.type === 'AWS::ElastiCache::ReplicationGroup') {
      const keys = c.changed.filter((k) => k === 'EngineVersion' || k === 'CacheNodeType');
      if (keys.length > 0) {
        problems.push(
          `${stack.stackName} changes ${keys.join(' and ')} of ${c.logicalId}, a member of the Global Datastore, which ` +
            'ElastiCache refuses: record the creation facts first (`npm run region -- record-ids`) so the change goes ' +
            `to the Global Datastore (${RUNBOOK.valkey}).`,
        );
      }
    }
    if (c.type === 'AWS::ElastiCache::GlobalReplicationGroup') {
      const keys = c.changed.filter((k) => k === 'EngineVersion' || k === 'CacheNodeType');
      const removed = keys.filter((k) => prop(c.resource, k) === undefined);
      if (removed.length > 0) {
        problems.push(
          `${stack.stackName} removes ${removed.join(' and ')} from the Global Datastore ${c.logicalId} (back to the ` +
            "members' creation value): whether CloudFormation then changes anything is not documented. Set it with " +
            `modify-global-replication-group (${RUNBOOK.valkey}), then deploy.`,
        );
      } else if (keys.length > 1) {
        problems.push(
          `${stack.stackName} changes both the engine version and the node type of the Global Datastore ` +
            `${c.logicalId}: one modification runs at a time on a Global Datastore; deploy one change, then the other.`,
        );
      }
    }
  }
  return problems;
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
  const writer = 'value' in roles.databaseWriter ? roles.databaseWriter.value : undefined;
  if (stack.region !== writer) return [];
  const problems: string[] = [];
  const others = [config.primary.region, config.secondary.region].filter((r) => r !== stack.region);
  for (const c of changes) {
    if (c.type !== 'AWS::RDS::DBCluster' || !c.changed.includes('EngineVersion')) continue;
    const target = c.resource.Properties?.EngineVersion;
    if (typeof target !== 'string') continue;
    for (const region of others) {
      const version = roles.databaseVersions[region];
      if (version !== undefined && compareVersions(version, target) >= 0) continue;
      problems.push(
        `${stack.stackName} upgrades the Aurora writer's cluster to ${target} while the cluster in ${region} runs ` +
          `${version ?? 'a version that could not be read'}: AWS upgrades a Global Database's secondary clusters ` +
          `first. Deploy \`npx cdk deploy --exclusively ${stackName(config.name, 'Data', region)} ` +
          `-c env=${config.name}\` first (${RUNBOOK.aurora}).`,
      );
    }
  }
  return problems;
}

/** Regions a changed resource calls at deploy through a `Custom::AWS` resource (the AWS SDK call's `region`). */
function customResourceRegions(c: ResourceChange): string[] {
  if (c.type !== 'Custom::AWS' || c.action === 'remove') return [];
  return ['Create', 'Update']
    .map((k) => c.resource.Properties?.[k])
    .flatMap((call) =>
      typeof call === 'string' ? [...call.matchAll(/"region":"([a-z0-9-]+)"/g)].map((m) => m[1]!) : [],
    );
}

function unreachableReads(config: EnvironmentConfig, s: StackChange, roles: LiveRoles): string[] {
  const { stack } = s;
  const problems: string[] = [];
  for (const r of crossRegionReads(stack.template, stack.region).filter((x) => roles.unreachable[x.region])) {
    problems.push(
      `${stack.stackName} reads ${r.stackName} in ${r.region} at deploy (Fn::GetStackOutput), and ${r.region} ` +
        `cannot be reached (${roles.unreachable[r.region]}): record the IDs once both regions are up ` +
        `(\`npm run region -- record-ids -c env=${config.name}\`), or deploy this stack when ${r.region} is back.`,
    );
  }
  for (const c of s.changes) {
    for (const region of customResourceRegions(c).filter((r) => r !== stack.region && roles.unreachable[r])) {
      problems.push(
        `${stack.stackName} ${c.action === 'add' ? 'creates' : 'updates'} ${c.logicalId}, which calls ${region} at ` +
          `deploy, and ${region} cannot be reached: keep it unchanged (for the plan's fleet lookup, the ` +
          'PlanFleetLookup parameter), or deploy when the region is back.',
      );
    }
  }
  return problems;
}

function show<T>(read: Read<T> | NotInEnvironment | undefined, fmt: (v: T) => string, none: string): string {
  if (read === undefined) return none;
  if (isNotInEnvironment(read)) return read.note;
  return 'error' in read ? `unknown (${read.error})` : fmt(read.value);
}

/** Renders the result for a terminal. */
export function renderCheckDeploy(config: EnvironmentConfig, result: CheckDeployResult): string {
  const r = result.roles;
  const withStatus = (status?: string) => (status ? `, ${status}` : '');
  const lines = [
    `Environment ${config.name}: deploy check`,
    '',
    `Aurora writer:              ${show(r.databaseWriter, (v) => v, '')}${r.databaseFailover ? `, ${r.databaseFailover}` : ''}`,
    `Global Datastore primary:   ${show(r.cachePrimary, (v) => v + withStatus(r.cacheStatus), '')}`,
    `EFS replication source:     ${show(r.filesSource, (v) => v + withStatus(r.filesStatus), '')}`,
    `Region switch in progress:  ${show(r.switchInProgress, (v) => (v ? `yes (${v})` : 'no'), 'no plan')}`,
    ...(r.lastExecution
      ? [
          `Last plan execution:        ${r.lastExecution.executionId}, ${r.lastExecution.executionAction ?? 'activate'} ` +
            `${r.lastExecution.executionRegion ?? '?'}, ${r.lastExecution.executionState ?? 'unknown'}`,
        ]
      : []),
    `Templates assume:           ${templatesAssume(config)}`,
    '',
  ];
  const changed = result.stacks.filter((st) => st.changes.length > 0 || st.other.length > 0);
  if (changed.length === 0) lines.push('No stack would change.');
  for (const st of changed) {
    lines.push(`${st.stack.stackName} (${st.stack.region})${st.deployedStatus ? '' : ': new stack'}`);
    for (const c of st.changes) {
      lines.push(
        `  ${c.action.padEnd(6)} ${c.logicalId} ${c.type}${c.changed.length ? `: ${c.changed.join(', ')}` : ''}`,
      );
    }
    for (const o of st.other) lines.push(`  ${o}`);
  }
  lines.push('');
  if (result.safe) lines.push('SAFE to deploy now.');
  else lines.push('NOT SAFE to deploy now:', ...result.reasons.map((x) => `  - ${x}`));
  return lines.join('\n');
}

/** What the templates assume of the live roles, for the components the environment has. */
function templatesAssume(config: EnvironmentConfig): string {
  const held = (
    [
      ['database', 'the Aurora writer'],
      ['sessionCache', 'the Global Datastore primary'],
      ['sharedFiles', 'the EFS replication source'],
    ] as const
  )
    .filter(([c]) => hasDataComponent(config, c))
    .map(([, what]) => what);
  if (held.length === 0) return 'no data-tier roles (no data components in this environment)';
  const list = held.length === 1 ? held[0] : `${held.slice(0, -1).join(', ')} and ${held[held.length - 1]}`;
  return `${config.primary.region} holds ${list} (the region the environment was created in)`;
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
  /** The recorded facts (`lib/recorded.ts`): checked against the live outputs. */
  readonly recorded: RecordedFacts;
}

/**
 * Reads the synthesized and deployed stacks, the outputs every template reads, and the live state, and judges.
 * The recorded IDs are compared with the live outputs too: a recorded ID that differs would point a deploy at
 * the wrong resource.
 */
export async function checkDeploy(
  config: EnvironmentConfig,
  options: CheckDeployOptions,
  deps: LiveDeps,
): Promise<CheckDeployResult> {
  const all = readAssembly(options.assemblyDir, config);
  let synthesized = all;
  if (options.stackNames) {
    const unknown = options.stackNames.filter((n) => !all.some((s) => s.stackName === n));
    if (unknown.length > 0) {
      throw new AssemblyError(
        `no stack ${unknown.join(', ')} in the cloud assembly; stacks: ${all.map((s) => s.stackName).join(', ')}.`,
      );
    }
    synthesized = all.filter((s) => options.stackNames!.includes(s.stackName));
  }
  const reasons: string[] = [];
  const stack = (lifecycle: StackLifecycle, region: string) => stackName(config.name, lifecycle, region);
  const regions = [config.primary.region, config.secondary.region];

  // Every stack the check needs to have read: the ones checked, the producers of what they read, the Storage
  // stacks and the primary Data stack whose outputs the recorded IDs must equal (only when the environment has
  // shared files, or a session cache: otherwise those stacks or outputs do not exist), and each region's Network
  // stack, which every environment has: whether a region answers at all.
  const wanted = new Map<string, string>(synthesized.map((s) => [s.stackName, s.region]));
  for (const region of regions) wanted.set(stack('Network', region), region);
  for (const s of synthesized) for (const r of stackOutputReads(s.template)) wanted.set(r.stackName, r.region);
  const files = hasDataComponent(config, 'sharedFiles');
  if (files) for (const region of regions) wanted.set(stack('Storage', region), region);
  if (hasDataComponent(config, 'sessionCache')) {
    wanted.set(stack('Data', config.primary.region), config.primary.region);
  }
  const deployed = new Map<string, DeployedStack | undefined | { error: string }>();
  await Promise.all(
    [...wanted].map(async ([name, region]) => {
      try {
        deployed.set(name, await deployedStack(deps.clients(region).cloudformation, name));
      } catch (err) {
        deployed.set(name, { error: message(err) });
      }
    }),
  );
  const live = (name: string) => {
    const d = deployed.get(name);
    return d && !('error' in d) ? d : undefined;
  };
  const outputOf = (name: string, _region: string, output: string) => live(name)?.outputs[output];

  const liveFileSystemIds: Record<string, string> = {};
  for (const region of files ? regions : []) {
    const id = outputOf(stack('Storage', region), region, STORAGE_OUTPUTS.fileSystemId);
    if (id) liveFileSystemIds[region] = id;
  }
  reasons.push(...recordedIdProblems(config, options.recorded, liveFileSystemIds, outputOf));
  const read = await readLiveRoles(
    config,
    deps,
    files ? { ...liveFileSystemIds, ...options.recorded.fileSystemIds } : {},
  );
  // A region whose stacks could not be read is unreachable too (without a database nothing else probes it).
  const stackErrors: Record<string, string> = {};
  for (const [name, region] of wanted) {
    const d = deployed.get(name);
    if (d && 'error' in d) stackErrors[region] ??= d.error;
  }
  const roles: LiveRoles = { ...read, unreachable: { ...stackErrors, ...read.unreachable } };

  const stacks: StackChange[] = [];
  for (const s of synthesized) {
    const d = deployed.get(s.stackName);
    if (d && 'error' in d) {
      reasons.push(
        `cannot read the deployed template of ${s.stackName} in ${s.region} (${d.error}); during an outage, check ` +
          'only the stacks you will deploy (`--stack <name>`).',
      );
      continue;
    }
    const before = d ? resolveStackOutputs(d.template, outputOf) : undefined;
    const after: SynthesizedStack = { ...s, template: resolveStackOutputs(s.template, outputOf) };
    stacks.push({
      stack: after,
      deployedStatus: d?.status,
      changes: resourceChanges(before, after.template),
      other: otherChanges(before, after.template),
      risks: replacementRisks(s.stackName, before, after.template),
    });
  }
  reasons.push(...judge(config, stacks, roles));
  return { safe: reasons.length === 0, reasons, stacks, roles };
}

function recordedIdProblems(
  config: EnvironmentConfig,
  recorded: RecordedFacts,
  liveFileSystemIds: Readonly<Record<string, string>>,
  outputOf: (name: string, region: string, output: string) => string | undefined,
): string[] {
  const fix = `run \`npm run region -- record-ids -c env=${config.name}\` and commit cdk.context.json`;
  const problems = Object.entries(recorded.fileSystemIds)
    .filter(([region, id]) => liveFileSystemIds[region] !== undefined && liveFileSystemIds[region] !== id)
    .map(
      ([region, id]) =>
        `the recorded file system of ${region} is ${id}, but the Storage stack's is ${liveFileSystemIds[region]}: ${fix}.`,
    );
  const dataStack = stackName(config.name, 'Data', config.primary.region);
  const gds = outputOf(dataStack, config.primary.region, DATA_OUTPUTS.globalDatastoreId);
  if (recorded.globalDatastoreId && gds && gds !== recorded.globalDatastoreId) {
    problems.push(
      `the recorded Global Datastore is ${recorded.globalDatastoreId}, but ${dataStack}'s is ${gds}: ${fix}.`,
    );
  }
  return problems;
}
