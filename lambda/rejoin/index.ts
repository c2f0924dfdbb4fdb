/**
 * rejoin: failback preparation. The old active region (`sourceRegion`) rejoins the data tier as a
 * secondary of the active region (`targetRegion`), one component at a time. Each component is optional in an
 * environment (one whose services use no database has none); only those the environment has can be asked for:
 *
 * - database: Aurora re-adds the old primary cluster to the global cluster as a secondary by itself
 *   once its region is reachable again after a failover (it is already one after a switchover). The
 *   function waits for that: no failover in progress, the active region's cluster is the writer, the
 *   old cluster is a reader member whose synchronization is `connected` and whose status is
 *   `available`. A detached or deleted old cluster cannot rejoin with its data: REFUSED, with the fix.
 * - cache: the same for the Global Datastore: the active region's group is the only PRIMARY, the old
 *   region's group is a SECONDARY member `associated`, the datastore `available`. A member that left
 *   the datastore: REFUSED, with the fix.
 * - files: EFS replication from the active region's file system to the old region's (the reverse of the
 *   configured direction), as efs-replication's `reverse` operation; `allowOverwriteDestination: true`
 *   lets it disable the old file system's overwrite protection first. Always checked first, whatever the
 *   components: the Aurora writer and the Global Datastore PRIMARY, those of them the environment has, are in
 *   `targetRegion` (otherwise the replication would overwrite the active region's files: REFUSED). An
 *   environment with neither has nothing to confirm the active region by: the reversal runs, and the actions say so.
 *
 * Every component is idempotent: a run after success waits for nothing, calls nothing and reports
 * `changed: false`. Components are checked in order and all are reported; if any is refused the
 * function fails with every reason (REFUSED), and if one is still converging when the wait ends it
 * fails INCOMPLETE (run it again). Dry run: reads only, reports what it would wait for or call.
 *
 * Event (operator): `{ "targetRegion": "<active region>", "components"?: ["database", "cache", "files"],
 * "allowOverwriteDestination"?: true, "dryRun"?: true }`. `components` defaults to every component the
 * environment has; naming one it does not have is an invalid event.
 *
 * Environment (set by the CDK app); each component is all or nothing (a partial one is an invalid configuration):
 * - REGIONS: JSON map region -> { dbClusterIdentifier?, cacheReplicationGroupId?, fileSystemId?, ... }:
 *   dbClusterIdentifier in both regions iff the environment has a database, cacheReplicationGroupId iff it has a
 *   cache, fileSystemId iff it has files.
 * - GLOBAL_CLUSTER_IDENTIFIER (optional): the Aurora global cluster ID; set iff the environment has a database.
 * - GLOBAL_DATASTORE_ID (optional): the full Global Datastore ID; set iff it has a cache.
 * - WAIT_SECONDS (optional, default 600, at most 900): the longest wait, shared by all components;
 *   never past the Lambda timeout less 10 s.
 * - POLL_SECONDS (optional, default 15): interval between reads while waiting.
 * - DRY_RUN (optional, true | false): report only.
 */
import {
  DBClusterNotFoundFault,
  GlobalClusterNotFoundFault,
  paginateDescribeDBClusters,
  paginateDescribeGlobalClusters,
  RDSClient,
  type GlobalCluster,
} from '@aws-sdk/client-rds';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { EFSClient } from '@aws-sdk/client-efs';
import {
  COMPONENTS,
  type CheckOutcome,
  type Component,
  type FunctionEnv,
  type OperatorEvent,
  type RejoinEvent,
  type SwitchFunctionName,
  type SwitchResult,
} from '../../contract';
import { reverse, type EfsClients } from '../efs-replication/replication';
import {
  dataComponents,
  listOf,
  ofBothRegions,
  switchConfig,
  waitConfig,
  type DataComponents,
  type SwitchConfig,
  type WaitConfig,
} from '../shared/config';
import { errorMessage, IncompleteError, InvalidEventError, RefusedError, REFUSED_PREFIX } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import {
  describeMembers,
  memberIn,
  primaries,
  readGlobalDatastore,
  type DatastoreMember,
} from '../shared/global-state';
import { defineHandler, newResult, pollUntil, waitDeadline, type Runtime } from '../shared/runtime';
import { allPages, clientConfig } from '../shared/sdk';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'rejoin' satisfies SwitchFunctionName;

/** What can rejoin, in the order they are handled: the data components an environment may have (the contract's). */
export { COMPONENTS, type Component } from '../../contract';

/** The fields of the event `rejoin` reads besides the operator's (`RejoinEvent` of the contract, which the CLI sends). */
const EVENT: { readonly [K in Exclude<keyof RejoinEvent, keyof OperatorEvent>]-?: K } = {
  components: 'components',
  allowOverwriteDestination: 'allowOverwriteDestination',
};

/** Configuration of rejoin: one wait, shared by the components (reads every 15 s by default). */
export interface RejoinConfig extends SwitchConfig, WaitConfig {
  /** The data components the environment has, and their global IDs. */
  readonly data: DataComponents;
}

/** Reads and validates rejoin's environment. */
export function loadRejoinConfig(env: FunctionEnv<typeof FUNCTION_NAME>): RejoinConfig {
  const base = switchConfig(FUNCTION_NAME, env);
  return { ...base, data: dataComponents(env, base.regions), ...waitConfig(env, 15) };
}

/** Options of the event for this function. */
export interface RejoinOptions {
  /** Components to handle, in {@link COMPONENTS} order. */
  readonly components: readonly Component[];
  /** files: disable the old file system's overwrite protection first. */
  readonly allowOverwriteDestination: boolean;
}

/**
 * Reads `components` and `allowOverwriteDestination` from the event. `components` defaults to `present`, the
 * components the environment has; one it does not have is an {@link InvalidEventError}.
 */
export function rejoinOptions(input: Readonly<Record<string, unknown>>, present: readonly Component[]): RejoinOptions {
  const raw = input[EVENT.components] ?? [...present];
  if (
    !Array.isArray(raw) ||
    (raw.length === 0 && input[EVENT.components] !== undefined) ||
    raw.some((c) => typeof c !== 'string' || !(COMPONENTS as readonly string[]).includes(c))
  ) {
    throw new InvalidEventError(
      `components must be a non-empty list of ${COMPONENTS.join(', ')} (got ${JSON.stringify(raw)}).`,
    );
  }
  const absent = COMPONENTS.filter((c) => raw.includes(c) && !present.includes(c));
  if (absent.length > 0) {
    throw new InvalidEventError(
      `components names ${listOf(absent)}, which this environment does not have (it has ` +
        `${listOf(present, 'no database, cache or files')}); leave ${absent.length > 1 ? 'them' : 'it'} out, or omit ` +
        'components to rejoin everything it has.',
    );
  }
  const allow = input[EVENT.allowOverwriteDestination] ?? false;
  if (typeof allow !== 'boolean') {
    throw new InvalidEventError(`allowOverwriteDestination must be true or false (got ${JSON.stringify(allow)}).`);
  }
  return { components: COMPONENTS.filter((c) => raw.includes(c)), allowOverwriteDestination: allow };
}

/** Clients of both regions. */
export interface RejoinClients {
  /** RDS in the active (target) region. */
  readonly rds: RDSClient;
  /** RDS in the rejoining (source) region. */
  readonly rejoiningRds: RDSClient;
  /** ElastiCache in the active region. */
  readonly elasticache: ElastiCacheClient;
  /** EFS in both regions (target: active, source: rejoining). */
  readonly efs: EfsClients;
}

/** What one component ended with. */
interface ComponentOutcome {
  /** done: in the wanted state; refused: cannot get there by itself; pending: still converging. */
  readonly state: 'done' | 'refused' | 'pending';
  /** What was seen, or the reason. */
  readonly detail: string;
  /** Whether a mutating call was made. */
  readonly changed: boolean;
  /** What was done or would be done. */
  readonly actions: string[];
}

const done = (detail: string, actions: string[] = [], changed = false): ComponentOutcome => ({
  state: 'done',
  detail,
  changed,
  actions,
});
const refused = (detail: string): ComponentOutcome => ({ state: 'refused', detail, changed: false, actions: [] });
const pending = (detail: string, actions: string[] = []): ComponentOutcome => ({
  state: 'pending',
  detail,
  changed: false,
  actions,
});

/** Region and cluster identifier of an Aurora cluster ARN (`arn:aws:rds:<region>:<account>:cluster:<id>`). */
export function clusterOfArn(arn: string): { region: string; id: string } {
  const parts = arn.split(':');
  return { region: parts[3] ?? '?', id: parts.slice(6).join(':') || '?' };
}

/** The rejoining cluster as the global cluster and its own region see it. */
interface DatabaseState {
  readonly global: GlobalCluster;
  readonly writer?: { readonly region: string; readonly id: string };
  readonly member?: { readonly sync: string };
  readonly clusterStatus?: string;
}

async function readDatabase(
  clients: RejoinClients,
  request: SwitchRequest,
  config: RejoinConfig,
  withClusterStatus = true,
): Promise<DatabaseState> {
  const id = config.data.globalClusterIdentifier!;
  const globals = await allPages(
    paginateDescribeGlobalClusters({ client: clients.rds }, { GlobalClusterIdentifier: id }),
    (page) => page.GlobalClusters,
    GlobalClusterNotFoundFault,
  );
  const global = globals[0];
  if (!global) throw new RefusedError(`global cluster ${id} was not found from ${request.targetRegion}.`);
  const members = (global.GlobalClusterMembers ?? []).map((m) => ({
    ...clusterOfArn(m.DBClusterArn ?? ''),
    isWriter: m.IsWriter === true,
    sync: m.SynchronizationStatus ?? 'connected',
  }));
  const writer = members.find((m) => m.isWriter);
  const rejoiningId = config.regions.byName[request.sourceRegion]!.dbClusterIdentifier!;
  const member = members.find((m) => m.region === request.sourceRegion && m.id === rejoiningId && !m.isWriter);
  let clusterStatus: string | undefined;
  if (member && withClusterStatus) {
    const clusters = await allPages(
      paginateDescribeDBClusters({ client: clients.rejoiningRds }, { DBClusterIdentifier: rejoiningId }),
      (page) => page.DBClusters,
    );
    clusterStatus = clusters[0]?.Status ?? 'missing';
  }
  return {
    global,
    writer: writer && { region: writer.region, id: writer.id },
    member: member && { sync: member.sync },
    clusterStatus,
  };
}

function databaseReady(s: DatabaseState): boolean {
  return !s.global.FailoverState?.Status && s.member?.sync === 'connected' && s.clusterStatus === 'available';
}

function describeDatabase(s: DatabaseState, rejoiningId: string): string {
  const failover = s.global.FailoverState?.Status;
  return (
    `global cluster ${s.global.GlobalClusterIdentifier ?? '?'} ${s.global.Status ?? 'unknown'}` +
    (failover ? `, failover/switchover ${failover}` : '') +
    `, writer ${s.writer ? `${s.writer.id} (${s.writer.region})` : 'none'}` +
    (s.member
      ? `, ${rejoiningId} is a reader member (synchronization ${s.member.sync}, cluster ${s.clusterStatus})`
      : `, ${rejoiningId} is not a member`)
  );
}

/** How the database or the cache rejoins: waits, until `deadline`, for it to be a secondary of the active region's. */
type RejoinStep = (
  clients: RejoinClients,
  request: SwitchRequest,
  config: RejoinConfig,
  rt: Runtime,
  deadline: number,
) => Promise<ComponentOutcome>;

/** The rejoining Aurora cluster as a secondary of the active region's. */
export const rejoinDatabase: RejoinStep = async (clients, request, config, rt, deadline) => {
  const { target: activeId, source: rejoiningId } = ofBothRegions(config.regions, request, 'dbClusterIdentifier');
  let state = await readDatabase(clients, request, config);
  const actions: string[] = [];
  if (state.global.FailoverState?.Status && !request.dryRun) {
    actions.push(`Waited for the ${state.global.FailoverState.Status} failover/switchover to end`);
    state = (
      await pollUntil(
        rt,
        () => readDatabase(clients, request, config),
        (s) => !s.global.FailoverState?.Status,
        config.pollSeconds * 1000,
        deadline,
      )
    ).value;
  }
  if (state.global.FailoverState?.Status) {
    return pending(`a failover or switchover is still in progress (${describeDatabase(state, rejoiningId)})`, actions);
  }
  if (!state.writer) return refused(`no writer in the global cluster (${describeDatabase(state, rejoiningId)}).`);
  if (state.writer.region !== request.targetRegion || state.writer.id !== activeId) {
    return refused(
      `the writer is ${state.writer.id} (${state.writer.region}), not ${activeId} (${request.targetRegion}): ` +
        `${request.targetRegion} is not the active region. Switch first, or name the active region as the target.`,
    );
  }
  if (!state.member) {
    const detached = await clusterExists(clients.rejoiningRds, rejoiningId);
    return refused(
      detached
        ? `${rejoiningId} (${request.sourceRegion}) exists but is not a member of ${config.data.globalClusterIdentifier} ` +
            '(detached): Aurora only re-adds the old primary by itself after a managed failover. A cluster with data ' +
            `cannot rejoin: snapshot it if its unreplicated writes matter, delete it, then redeploy the ` +
            `${request.sourceRegion} data stack so CloudFormation creates it again as a secondary (runbook: failback).`
        : `${rejoiningId} (${request.sourceRegion}) does not exist yet; if its region just recovered, Aurora may still ` +
            `be rebuilding it: run again later. Otherwise redeploy the ${request.sourceRegion} data stack (runbook: failback).`,
    );
  }
  return awaitReady(request, config, rt, deadline, {
    state,
    ready: databaseReady,
    read: () => readDatabase(clients, request, config),
    describe: (st) => describeDatabase(st, rejoiningId),
    goal: `${rejoiningId} to be connected and available`,
    already: `${rejoiningId} (${request.sourceRegion}) is a connected secondary of ${activeId}; nothing to do`,
    notYet: `${rejoiningId} is still resynchronising`,
    actions,
  });
};

/** What {@link awaitReady} waits for. */
interface Awaited<S> {
  /** The state already read. */
  readonly state: S;
  /** Whether a state is the goal. */
  readonly ready: (state: S) => boolean;
  /** Reads the state again. */
  readonly read: () => Promise<S>;
  /** A state, for the reports. */
  readonly describe: (state: S) => string;
  /** The goal, as in "wait for <goal>". */
  readonly goal: string;
  /** The action reported when the state is already the goal. */
  readonly already: string;
  /** The reason reported when the wait ends first. */
  readonly notYet: string;
  /** Actions taken before. */
  readonly actions?: string[];
}

/** Done when `state` is ready; in a dry run, reports the wait; otherwise waits (bounded) for it. */
async function awaitReady<S>(
  request: SwitchRequest,
  config: RejoinConfig,
  rt: Runtime,
  deadline: number,
  a: Awaited<S>,
): Promise<ComponentOutcome> {
  const actions = a.actions ?? [];
  if (a.ready(a.state)) return done(a.describe(a.state), [...actions, a.already]);
  if (request.dryRun) {
    return done(a.describe(a.state), [`DRY RUN: would wait up to ${config.waitSeconds} s for ${a.goal}`]);
  }
  const polled = await pollUntil(rt, a.read, a.ready, config.pollSeconds * 1000, deadline);
  const detail = a.describe(polled.value);
  if (!polled.met) return pending(`${a.notYet} (${detail})`, actions);
  return done(detail, [...actions, `Waited for ${a.goal} (${polled.probes + 1} reads)`]);
}

async function clusterExists(rds: RDSClient, id: string): Promise<boolean> {
  const clusters = await allPages(
    paginateDescribeDBClusters({ client: rds }, { DBClusterIdentifier: id }),
    (page) => page.DBClusters,
    DBClusterNotFoundFault,
  );
  return clusters.length > 0;
}

/** The Global Datastore's members as the active region sees them. */
interface CacheState {
  readonly status: string;
  readonly primaries: readonly DatastoreMember[];
  /** The rejoining region's member. */
  readonly member?: DatastoreMember;
}

async function readCache(clients: RejoinClients, request: SwitchRequest, config: RejoinConfig): Promise<CacheState> {
  const id = config.data.globalDatastoreId!;
  const state = await readGlobalDatastore(clients.elasticache, { id });
  if (!state) throw new RefusedError(`Global Datastore ${id} was not found from ${request.targetRegion}.`);
  return { status: state.status, primaries: primaries(state), member: memberIn(state, request.sourceRegion) };
}

function cacheReady(s: CacheState): boolean {
  return s.status === 'available' && s.member?.role === 'SECONDARY' && s.member.status === 'associated';
}

function describeCache(s: CacheState): string {
  const member = s.member ? `${s.member.replicationGroupId} ${s.member.role} ${s.member.status}` : 'none';
  return `status ${s.status}, PRIMARY: ${describeMembers(s.primaries)}, rejoining member: ${member}`;
}

/** The rejoining replication group as a SECONDARY member of the Global Datastore. */
export const rejoinCache: RejoinStep = async (clients, request, config, rt, deadline) => {
  const id = config.data.globalDatastoreId!;
  const groups = ofBothRegions(config.regions, request, 'cacheReplicationGroupId');
  const [activeGroup, rejoiningGroup] = [groups.target, groups.source];
  const state = await readCache(clients, request, config);
  if (state.primaries.length > 1) {
    return refused(
      `Global Datastore ${id} reports more than one PRIMARY (${describeCache(state)}); resolve it by hand.`,
    );
  }
  const primary = state.primaries[0];
  if (!primary) {
    return refused(`Global Datastore ${id} reports no PRIMARY (${describeCache(state)}); resolve it by hand.`);
  }
  if (primary.region !== request.targetRegion || primary.replicationGroupId !== activeGroup) {
    return refused(
      `the PRIMARY of ${id} is ${primary.replicationGroupId} (${primary.region}), not ${activeGroup} (${request.targetRegion}): ` +
        `${request.targetRegion} is not the active region. Switch first, or name the active region as the target.`,
    );
  }
  if (!state.member) {
    return refused(
      `${id} has no member in ${request.sourceRegion} (${describeCache(state)}): ${rejoiningGroup} left the ` +
        'datastore and a group with data cannot rejoin. Delete it and redeploy the ' +
        `${request.sourceRegion} data stack so CloudFormation creates it again as a member (runbook: failback).`,
    );
  }
  if (state.member.replicationGroupId !== rejoiningGroup) {
    return refused(
      `${id}'s member in ${request.sourceRegion} is ${state.member.replicationGroupId}, but REGIONS names ${rejoiningGroup}; ` +
        'fix the configuration or the datastore.',
    );
  }
  if (state.member.role === 'PRIMARY') {
    return refused(`${rejoiningGroup} (${request.sourceRegion}) is still PRIMARY (${describeCache(state)}).`);
  }
  return awaitReady(request, config, rt, deadline, {
    state,
    ready: cacheReady,
    read: () => readCache(clients, request, config),
    describe: describeCache,
    goal: `${rejoiningGroup} to be an associated SECONDARY`,
    already: `${rejoiningGroup} (${request.sourceRegion}) is an associated SECONDARY`,
    notYet: `${rejoiningGroup} is not associated yet`,
  });
};

/**
 * Why `targetRegion` is not the active region, or undefined when it is: the Aurora writer and the Global
 * Datastore PRIMARY, those of them the environment has, must be there before its files may overwrite the other
 * region's.
 */
export async function notActiveReason(
  clients: RejoinClients,
  request: SwitchRequest,
  config: RejoinConfig,
): Promise<string | undefined> {
  const region = request.targetRegion;
  if (config.data.globalClusterIdentifier !== undefined) {
    const database = await readDatabase(clients, request, config, false);
    const activeId = config.regions.byName[region]!.dbClusterIdentifier!;
    if (!database.writer || database.writer.region !== region || database.writer.id !== activeId) {
      const writer = database.writer ? `${database.writer.id} (${database.writer.region})` : 'none';
      return `the Aurora writer is ${writer}, not ${activeId} (${region})`;
    }
  }
  if (config.data.globalDatastoreId !== undefined) {
    const cache = await readCache(clients, request, config);
    const activeGroup = config.regions.byName[region]!.cacheReplicationGroupId!;
    if (
      cache.primaries.length !== 1 ||
      cache.primaries[0]!.region !== region ||
      cache.primaries[0]!.replicationGroupId !== activeGroup
    ) {
      return `the Global Datastore PRIMARY is ${describeMembers(cache.primaries)}, not ${activeGroup} (${region})`;
    }
  }
  return undefined;
}

/** EFS replication from the active region's file system to the rejoining region's. */
export async function rejoinFiles(
  clients: RejoinClients,
  request: SwitchRequest,
  config: RejoinConfig,
  options: RejoinOptions,
): Promise<ComponentOutcome> {
  // Replication overwrites the destination: never let a mistaken --to make the active region's files the
  // destination, whichever components were asked for.
  const notActive = await notActiveReason(clients, request, config);
  if (notActive) {
    return refused(
      `${notActive}: ${request.targetRegion} is not the active region, and replicating its files would overwrite ` +
        `the active region's. Name the active region as the target.`,
    );
  }
  const unconfirmed =
    config.data.globalClusterIdentifier === undefined && config.data.globalDatastoreId === undefined
      ? [
          `The environment has no database or cache to confirm that ${request.targetRegion} is the active region by; ` +
            'reversing as asked',
        ]
      : [];
  const result = await reverse(clients.efs, request, config, {
    operation: 'reverse',
    allowOverwriteDestination: options.allowOverwriteDestination,
  });
  const { target: source, source: destination } = ofBothRegions(config.regions, request, 'fileSystemId');
  return done(
    `${source} (${request.targetRegion}) replicates to ${destination} (${request.sourceRegion})`,
    [...unconfirmed, ...result.actions],
    result.changed,
  );
}

/** Brings the old active region back as the secondary of every requested component. */
export async function runRejoin(
  clients: RejoinClients,
  request: SwitchRequest,
  config: RejoinConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const options = rejoinOptions(request.input, config.data.present);
  const deadline = waitDeadline(rt, config.waitSeconds);
  const outcomes: Partial<Record<Component, ComponentOutcome>> = {};
  for (const component of options.components) {
    try {
      outcomes[component] =
        component === 'database'
          ? await rejoinDatabase(clients, request, config, rt, deadline)
          : component === 'cache'
            ? await rejoinCache(clients, request, config, rt, deadline)
            : await rejoinFiles(clients, request, config, options);
    } catch (err) {
      if (!(err instanceof RefusedError)) throw err;
      outcomes[component] = refused(errorMessage(err).slice(REFUSED_PREFIX.length));
    }
  }

  const entries = Object.entries(outcomes) as [Component, ComponentOutcome][];
  const checks: Record<string, CheckOutcome> = Object.fromEntries(
    entries.map(([name, o]) => [name, { ok: o.state === 'done', detail: o.detail }]),
  );
  const result: SwitchResult = {
    ...newResult(FUNCTION_NAME, request),
    changed: entries.some(([, o]) => o.changed),
    actions: entries.flatMap(([name, o]) => o.actions.map((a) => `${name}: ${a}`)),
    checks,
  };
  if (entries.length === 0) {
    result.actions.push('Nothing to rejoin: the environment has no database, cache or files');
  }
  const summary = (state: ComponentOutcome['state']) =>
    entries
      .filter(([, o]) => o.state === state)
      .map(([name, o]) => `${name}: ${o.detail}`)
      .join('; ');
  const finished = entries.filter(([, o]) => o.state === 'done').map(([name]) => name);
  const progress = finished.length > 0 ? ` (done: ${finished.join(', ')})` : '';
  if (entries.some(([, o]) => o.state === 'refused')) {
    rt.log.warn('Rejoin refused', { result });
    throw new RefusedError(`${request.sourceRegion} cannot rejoin yet: ${summary('refused')}${progress}`);
  }
  if (entries.some(([, o]) => o.state === 'pending')) {
    rt.log.warn('Rejoin incomplete', { result });
    throw new IncompleteError(`${summary('pending')}; run rejoin again to keep waiting${progress}`);
  }
  return result;
}

/** Lambda entry point. */
export const handler = defineHandler(FUNCTION_NAME, loadRejoinConfig, (request, config, rt) => {
  rejoinOptions(request.input, config.data.present);
  const clients: RejoinClients = {
    rds: new RDSClient(clientConfig(request.targetRegion)),
    rejoiningRds: new RDSClient(clientConfig(request.sourceRegion)),
    elasticache: new ElastiCacheClient(clientConfig(request.targetRegion)),
    efs: {
      target: new EFSClient(clientConfig(request.targetRegion)),
      source: new EFSClient(clientConfig(request.sourceRegion)),
    },
  };
  return runRejoin(clients, request, config, rt);
});
