/**
 * `record-ids`: records an environment's immutable IDs and the data tier's creation-time facts in
 * `cdk.context.json` (`lib/recorded.ts` says what each is for), so that no stack reads the other region at
 * deploy time and no deploy changes what AWS only changes on the global resources. Only the facts of the data
 * components the environment has are read and recorded.
 */
import * as fs from 'node:fs';
import { DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { DATA_OUTPUTS, stackName, STORAGE_OUTPUTS, type StackLifecycle } from '../contract';
import { DataComponent, EnvironmentConfig, hasDataComponent } from '../lib/config';
import { physicalNames } from '../lib/names';
import { parseRecorded, recordedContextKey, RecordedFacts } from '../lib/recorded';
import { COMPONENT_TEXT } from './components';
import { deployedStack, describeStack } from './cloudformation';
import { LiveDeps } from './live-state';

/** Thrown when a fact cannot be read; nothing is written then. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/**
 * The facts as they are written: JSON values only, and only those of the data components the environment has
 * (`fileSystemIds` with shared files, `globalDatastoreId` and `cacheMembers` with a session cache,
 * `databaseEngineVersion` with a database).
 */
export interface RecordedJson {
  readonly fileSystemIds?: Record<string, string>;
  readonly globalDatastoreId?: string;
  readonly cacheMembers?: { readonly engineVersion: string; readonly nodeType: string };
  readonly databaseEngineVersion?: string;
}

/** The recorded facts of each data component, in the order of the recorded keys. */
export const RECORDED_KEYS: Readonly<Record<DataComponent, readonly (keyof RecordedJson)[]>> = {
  sharedFiles: ['fileSystemIds'],
  sessionCache: ['globalDatastoreId', 'cacheMembers'],
  database: ['databaseEngineVersion'],
};

/** The facts not recorded because the environment lacks their component, each with why: `fileSystemIds (...)`. */
export function notRecorded(config: EnvironmentConfig): string[] {
  return (Object.entries(RECORDED_KEYS) as [DataComponent, readonly string[]][])
    .filter(([c]) => !hasDataComponent(config, c))
    .flatMap(([c, keys]) => keys.map((k) => `${k} (no service uses ${COMPONENT_TEXT[c]})`));
}

/**
 * Reads the facts of the components the environment has: both Storage stacks' `FileSystemId` outputs (shared
 * files), the primary Data stack's `GlobalDatastoreId` output and the cache members' creation values (session
 * cache; the latter kept from `existing` once recorded, since they must never change, otherwise from the deployed
 * template of the primary Data stack) and the global cluster's engine version (database, `DescribeGlobalClusters`).
 * A component the environment lacks is not read: its stacks and resources do not exist. Both regions must answer.
 * @throws RecordError naming the stack, output or call that failed.
 */
export async function readFacts(
  config: EnvironmentConfig,
  deps: LiveDeps,
  existing: RecordedFacts | undefined,
): Promise<RecordedJson> {
  const names = physicalNames(config);
  const output = async (lifecycle: StackLifecycle, region: string, key: string): Promise<string> => {
    const name = stackName(config.name, lifecycle, region);
    let outputs: Record<string, string> | undefined;
    try {
      outputs = (await describeStack(deps.clients(region).cloudformation, name))?.outputs;
    } catch (err) {
      throw new RecordError(`cannot read ${name} in ${region}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!outputs) throw new RecordError(`stack ${name} does not exist in ${region}; deploy the environment first.`);
    const value = outputs[key];
    if (!value) throw new RecordError(`stack ${name} has no output ${key}; deploy the current version first.`);
    return value;
  };
  const [primary, secondary] = [config.primary.region, config.secondary.region];
  const readFiles = async (): Promise<Pick<RecordedJson, 'fileSystemIds'>> => {
    const [fsP, fsS] = await Promise.all([
      output('Storage', primary, STORAGE_OUTPUTS.fileSystemId),
      output('Storage', secondary, STORAGE_OUTPUTS.fileSystemId),
    ]);
    return { fileSystemIds: { [primary]: fsP, [secondary]: fsS } };
  };
  const readCache = async (): Promise<Pick<RecordedJson, 'globalDatastoreId' | 'cacheMembers'>> => ({
    globalDatastoreId: await output('Data', primary, DATA_OUTPUTS.globalDatastoreId),
    cacheMembers: existing?.cacheMembers ?? (await cacheMembersCreatedWith(config, deps)),
  });
  const readDatabase = async (): Promise<Pick<RecordedJson, 'databaseEngineVersion'>> => {
    const version = await deps
      .clients(primary)
      .rds.send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: names.globalClusterIdentifier }))
      .then(
        (out) => out.GlobalClusters?.[0]?.EngineVersion,
        (err: unknown) => {
          throw new RecordError(
            `cannot read global cluster ${names.globalClusterIdentifier}: ${err instanceof Error ? err.message : String(err)}`,
          );
        },
      );
    if (!version) throw new RecordError(`global cluster ${names.globalClusterIdentifier} reports no engine version.`);
    return { databaseEngineVersion: version };
  };
  const none = async () => ({});
  const [files, cache, database] = await Promise.all([
    hasDataComponent(config, 'sharedFiles') ? readFiles() : none(),
    hasDataComponent(config, 'sessionCache') ? readCache() : none(),
    hasDataComponent(config, 'database') ? readDatabase() : none(),
  ]);
  return { ...files, ...cache, ...database };
}

/** The engine version and node type the deployed template of the primary Data stack gives its cache group. */
async function cacheMembersCreatedWith(
  config: EnvironmentConfig,
  deps: LiveDeps,
): Promise<RecordedJson['cacheMembers']> {
  const region = config.primary.region;
  const name = stackName(config.name, 'Data', region);
  const template = (await deployedStack(deps.clients(region).cloudformation, name))?.template;
  const group = Object.values(template?.Resources ?? {}).find(
    (r) => r.Type === 'AWS::ElastiCache::ReplicationGroup' && r.Properties?.Engine !== undefined,
  );
  const engineVersion = group?.Properties?.EngineVersion;
  const nodeType = group?.Properties?.CacheNodeType;
  if (typeof engineVersion !== 'string' || typeof nodeType !== 'string') {
    throw new RecordError(
      `the deployed template of ${name} has no cache replication group with its engine version and node type.`,
    );
  }
  return { engineVersion, nodeType };
}

/** Reads a `cdk.context.json` (an empty object when the file does not exist). */
export function readContextFile(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RecordError(`${file} is not a JSON object.`);
  }
  return parsed as Record<string, unknown>;
}

/** The outcome of {@link recordIds}. */
export interface RecordOutcome {
  /** The context key written. */
  readonly key: string;
  /** What was there before. */
  readonly before: unknown;
  /** What is there now (or would be, in a dry run). */
  readonly after: RecordedJson;
  /** Whether the file was written. */
  readonly written: boolean;
  /**
   * Problems the config has against the new facts (a synth would fail on them), one sentence each. Nothing is
   * written then: fix the config first (for example set the Aurora version a major upgrade reached), then run
   * again.
   */
  readonly problems: readonly string[];
  /** Why the entry that was there is replaced rather than kept (it did not parse), if it is. */
  readonly replacedBroken?: string;
  /** The facts not recorded because the environment lacks their data component, each with why. */
  readonly notInEnvironment: readonly string[];
}

/** Reads the facts and writes them to `contextFile` under the environment's key (unless `dryRun`). */
export async function recordIds(
  config: EnvironmentConfig,
  contextFile: string,
  dryRun: boolean,
  deps: LiveDeps,
): Promise<RecordOutcome> {
  const context = readContextFile(contextFile);
  const key = recordedContextKey(config.name);
  const before = context[key];
  let existing: RecordedFacts | undefined;
  let replacedBroken: string | undefined;
  try {
    existing = before === undefined ? undefined : parseRecorded(config, before);
  } catch (err) {
    // A broken entry is replaced; the cache members are then read from the deployed template again.
    replacedBroken = err instanceof Error ? err.message : String(err);
  }
  const after = await readFacts(config, deps, existing);
  let problems: string[] = [];
  try {
    parseRecorded(config, after);
  } catch (err) {
    problems = (err as { problems?: string[] }).problems ?? [String(err)];
  }
  // An environment with no data components has nothing to record: no entry is created for it (one that is
  // there is emptied, since none of its facts exist).
  const nothing = before === undefined && Object.keys(after).length === 0;
  const write = JSON.stringify(before) !== JSON.stringify(after) && !dryRun && problems.length === 0 && !nothing;
  if (write) fs.writeFileSync(contextFile, `${JSON.stringify({ ...context, [key]: after }, null, 2)}\n`);
  return { key, before, after, written: write, problems, replacedBroken, notInEnvironment: notRecorded(config) };
}

/** Renders the outcome. */
export function renderRecord(file: string, outcome: RecordOutcome): string {
  const same = JSON.stringify(outcome.before) === JSON.stringify(outcome.after);
  const nothing = outcome.before === undefined && Object.keys(outcome.after).length === 0;
  const lines = [
    outcome.written
      ? `Recorded in ${file} under "${outcome.key}":`
      : outcome.problems.length > 0
        ? `Not recorded: the config does not synthesize against what was read (nothing written to ${file}):`
        : nothing
          ? `Nothing to record: the environment has no data components; nothing written to ${file}.`
          : same
            ? `${file} already holds these facts under "${outcome.key}"; nothing written:`
            : `Dry run: would record in ${file} under "${outcome.key}":`,
    ...(nothing ? [] : [JSON.stringify(outcome.after, null, 2)]),
  ];
  if (outcome.notInEnvironment.length > 0) {
    lines.push(`Not recorded, not in this environment: ${outcome.notInEnvironment.join(', ')}.`);
  }
  if (outcome.replacedBroken)
    lines.push(`The entry that was there did not parse and is replaced: ${outcome.replacedBroken}`);
  if (outcome.written) {
    lines.push('Commit cdk.context.json. The next `cdk diff` replaces the reads of the other region with these IDs.');
  }
  if (outcome.problems.length > 0) {
    lines.push('', 'Fix the config, then run record-ids again:', ...outcome.problems.map((p) => `  - ${p}`));
  }
  return lines.join('\n');
}
