/**
 * cache-failover: makes the target region's replication group the PRIMARY of the ElastiCache
 * Global Datastore (FailoverGlobalReplicationGroup), then waits until it is PRIMARY and the
 * datastore is `available` again.
 *
 * - Target already PRIMARY and datastore available: success, changed false, no mutating call.
 * - Datastore not `available` (modifying, a failover in progress): waits for it within the wait
 *   budget, then decides again; still busy: REFUSED.
 * - No PRIMARY, more than one PRIMARY, or the target region's member is not the configured
 *   replication group: REFUSED (ambiguous).
 * - The ElastiCache client is always the target region's, so in an unplanned failover the call
 *   does not depend on the old primary region's endpoint.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { cacheReplicationGroupId, ... } (both regions).
 * - GLOBAL_DATASTORE_ID: the full Global Datastore ID (with its AWS prefix).
 * - WAIT_SECONDS (optional, default 600, at most 900): how long to wait for the failover;
 *   never past the Lambda timeout less 10 s. 0: do not wait.
 * - POLL_SECONDS (optional, default 10): interval between status reads while waiting.
 * - DRY_RUN (optional, true | false): report only.
 */
import { ElastiCacheClient, FailoverGlobalReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import type { FunctionEnv, SwitchFunctionName } from '../../contract';
import { globalDatastoreId, switchConfig, waitConfig, type SwitchConfig, type WaitConfig } from '../shared/config';
import { IncompleteError, refuse } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import {
  describeMembers,
  memberIn,
  primaries,
  readGlobalDatastore,
  type DatastoreMember,
  type GlobalDatastoreState,
} from '../shared/global-state';
import { defineHandler, newResult, pollUntil, waitDeadline, type Runtime, type SwitchResult } from '../shared/runtime';
import { clientConfig } from '../shared/sdk';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'cache-failover' satisfies SwitchFunctionName;

/** Configuration of cache-failover: the wait is for the failover to complete (status reads every 10 s by default). */
export interface CacheFailoverConfig extends SwitchConfig, WaitConfig {
  /** Global Datastore ID. */
  readonly globalDatastoreId: string;
}

/** Reads and validates cache-failover's environment. */
export function loadCacheFailoverConfig(env: FunctionEnv<typeof FUNCTION_NAME>): CacheFailoverConfig {
  return { ...switchConfig(FUNCTION_NAME, env), globalDatastoreId: globalDatastoreId(env), ...waitConfig(env, 10) };
}

/** The datastore as seen from the target region: its members, its PRIMARY ones and the target region's. */
export interface DatastoreState extends GlobalDatastoreState {
  /** Every PRIMARY member (one, unless the datastore is split or none is). */
  readonly primaries: readonly DatastoreMember[];
  /** The target region's member, if any. */
  readonly target?: DatastoreMember;
}

/** Reads the datastore with its members; refuses when it does not exist. */
export async function describeDatastore(
  elasticache: ElastiCacheClient,
  id: string,
  targetRegion: string,
): Promise<DatastoreState> {
  const state = await readGlobalDatastore(elasticache, { id });
  if (!state) refuse(`Global Datastore ${id} was not found from ${targetRegion}; check GLOBAL_DATASTORE_ID.`);
  return { ...state, primaries: primaries(state), target: memberIn(state, targetRegion) };
}

function describeState(state: DatastoreState): string {
  return `status ${state.status}, PRIMARY: ${describeMembers(state.primaries)}`;
}

function isDone(state: DatastoreState): boolean {
  return state.status === 'available' && state.target?.role === 'PRIMARY' && state.primaries.length === 1;
}

/** Fails over the Global Datastore to the target region's replication group. */
export async function runCacheFailover(
  elasticache: ElastiCacheClient,
  request: SwitchRequest,
  config: CacheFailoverConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const result = newResult(FUNCTION_NAME, request);
  const id = config.globalDatastoreId;
  const region = request.targetRegion;
  const expected = config.regions.byName[region]!.cacheReplicationGroupId!;
  const deadline = waitDeadline(rt, config.waitSeconds);
  const describe = () => describeDatastore(elasticache, id, region);

  let state = await describe();
  if (!state.target) {
    refuse(`Global Datastore ${id} has no member in ${region}; expected replication group ${expected}.`);
  }
  if (state.target.replicationGroupId !== expected) {
    refuse(
      `Global Datastore ${id}'s member in ${region} is ${state.target.replicationGroupId}, but REGIONS names ${expected}; ` +
        'fix the configuration or the datastore before switching.',
    );
  }
  if (state.status !== 'available' && !request.dryRun) {
    result.actions.push(`Waited for Global Datastore ${id} to leave status ${state.status}`);
    state = (await pollUntil(rt, describe, (s) => s.status === 'available', config.pollSeconds * 1000, deadline)).value;
  }
  if (state.primaries.length > 1) {
    refuse(`Global Datastore ${id} reports more than one PRIMARY (${describeState(state)}); resolve it by hand.`);
  }
  if (state.target?.role === 'PRIMARY' && state.status === 'available') {
    result.actions.push(`${expected} in ${region} is already PRIMARY of ${id}; nothing to do`);
    return result;
  }
  if (state.target?.role === 'PRIMARY' && !request.dryRun) {
    throw new IncompleteError(
      `${expected} in ${region} is already PRIMARY of ${id} but the datastore is still ${state.status}; ` +
        'a retry of this step waits for it.',
    );
  }
  if (state.status !== 'available') {
    refuse(
      `Global Datastore ${id} is ${state.status}, not available (a failover or modification is in progress: ` +
        `${describeState(state)}); retry the step once it is available.`,
    );
  }
  if (state.primaries.length === 0) {
    refuse(`Global Datastore ${id} reports no PRIMARY (${describeState(state)}); resolve it by hand.`);
  }

  const call = `FailoverGlobalReplicationGroup(GlobalReplicationGroupId=${id}, PrimaryRegion=${region}, PrimaryReplicationGroupId=${expected})`;
  if (request.dryRun) {
    result.actions.push(`DRY RUN: would call ${call} from ${region}; current ${describeState(state)}`);
    result.actions.push(`DRY RUN: would then wait up to ${config.waitSeconds} s for ${expected} to be PRIMARY`);
    return result;
  }
  await elasticache.send(
    new FailoverGlobalReplicationGroupCommand({
      GlobalReplicationGroupId: id,
      PrimaryRegion: region,
      PrimaryReplicationGroupId: expected,
    }),
  );
  result.actions.push(`Called ${call} from ${region}`);
  const changed: SwitchResult = { ...result, changed: true };
  if (config.waitSeconds === 0) {
    changed.actions.push('Did not wait (WAIT_SECONDS=0)');
    return changed;
  }
  const polled = await pollUntil(rt, describe, isDone, config.pollSeconds * 1000, deadline);
  if (!polled.met) {
    throw new IncompleteError(
      `failover of ${id} to ${expected} (${region}) started but not complete within the wait ` +
        `(${describeState(polled.value)}); a retry of this step waits for it without calling failover again.`,
    );
  }
  changed.actions.push(`${expected} in ${region} is PRIMARY and ${id} is available (${polled.probes} status reads)`);
  return changed;
}

/** Lambda entry point. */
export const handler = defineHandler(FUNCTION_NAME, loadCacheFailoverConfig, (request, config, rt) =>
  runCacheFailover(new ElastiCacheClient(clientConfig(request.targetRegion)), request, config, rt),
);
