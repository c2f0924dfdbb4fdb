/**
 * efs-replication: the EFS side of a region switch.
 *
 * operation "flip" (default): makes the target region's file system writable by deleting the
 * replication whose destination it is (source region's file system -> target's), then waits
 * until its ReplicationOverwriteProtection is no longer REPLICATING.
 * - Planned: DeleteReplicationConfiguration is called in the source region. Unplanned: in the
 *   target (destination) region, which EFS allows; input `deletionMode: "LOCAL_CONFIGURATION_ONLY"`
 *   deletes only the local side when EFS cannot reach the other region (the other side's
 *   configuration is then unrecoverable; delete it by hand once the region is back).
 * - No replication into the target and the target is writable: success, changed false.
 * - The target already replicates to the source region's file system (reverse done): success,
 *   changed false. It replicates anywhere else, or a replication into it comes from a file system
 *   other than the source region's: REFUSED.
 *
 * operation "reverse" (failback preparation): replicates the target (new primary) region's file
 * system to the source (old primary) region's file system, which it overwrites.
 * - Refused unless the destination's ReplicationOverwriteProtection is DISABLED; input
 *   `allowOverwriteDestination: true` disables it first (UpdateFileSystemProtection). Files written
 *   to the old primary after its last replication are lost.
 * - That exact replication already exists: success, changed false.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { fileSystemId, ... } (both regions).
 * - WAIT_SECONDS (optional, default 600, at most 900): how long to wait for the target to become
 *   writable; never past the Lambda timeout less 10 s. 0: do not wait.
 * - POLL_SECONDS (optional, default 10): interval between reads while waiting.
 * - DRY_RUN (optional, true | false): report only.
 */
import {
  CreateReplicationConfigurationCommand,
  DeleteReplicationConfigurationCommand,
  DeletionMode,
  EFSClient,
  FileSystemNotFound,
  paginateDescribeFileSystems,
  paginateDescribeReplicationConfigurations,
  ReplicationNotFound,
  ReplicationOverwriteProtection,
  ReplicationStatus,
  UpdateFileSystemProtectionCommand,
  type ReplicationConfigurationDescription,
} from '@aws-sdk/client-efs';
import type { FunctionEnv, SwitchFunctionName } from '../../contract';
import { ofBothRegions, switchConfig, waitConfig, type SwitchConfig, type WaitConfig } from '../shared/config';
import { IncompleteError, InvalidEventError, refuse } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import { newResult, pollUntil, waitDeadline, type Runtime, type SwitchResult } from '../shared/runtime';
import { allPages } from '../shared/sdk';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'efs-replication' satisfies SwitchFunctionName;

/** Configuration of efs-replication: the wait is for the target to become writable (reads every 10 s by default). */
export type EfsReplicationConfig = SwitchConfig & WaitConfig;

/** Reads and validates efs-replication's environment. */
export function loadEfsReplicationConfig(env: FunctionEnv<typeof FUNCTION_NAME>): EfsReplicationConfig {
  return { ...switchConfig(FUNCTION_NAME, env), ...waitConfig(env, 10) };
}

/** EFS clients of both regions. */
export interface EfsClients {
  /** EFS in the target region. */
  readonly target: EFSClient;
  /** EFS in the source region (may be unreachable in an unplanned failover). */
  readonly source: EFSClient;
}

/** Options of the event for this function. */
export interface EfsOptions {
  /** flip (default) or reverse. */
  readonly operation: 'flip' | 'reverse';
  /** reverse: disable the destination's overwrite protection first. */
  readonly allowOverwriteDestination: boolean;
  /** flip: DeleteReplicationConfiguration's DeletionMode. */
  readonly deletionMode?: DeletionMode;
}

/** Reads `operation`, `allowOverwriteDestination` and `deletionMode` from the event. */
export function efsOptions(input: Readonly<Record<string, unknown>>): EfsOptions {
  const operation = input.operation ?? 'flip';
  if (operation !== 'flip' && operation !== 'reverse') {
    throw new InvalidEventError(`operation must be flip or reverse (got ${JSON.stringify(operation)}).`);
  }
  const allow = input.allowOverwriteDestination ?? false;
  if (typeof allow !== 'boolean') {
    throw new InvalidEventError(`allowOverwriteDestination must be true or false (got ${JSON.stringify(allow)}).`);
  }
  const mode = input.deletionMode;
  if (
    mode !== undefined &&
    mode !== DeletionMode.ALL_CONFIGURATIONS &&
    mode !== DeletionMode.LOCAL_CONFIGURATION_ONLY
  ) {
    throw new InvalidEventError(
      `deletionMode must be ALL_CONFIGURATIONS or LOCAL_CONFIGURATION_ONLY (got ${JSON.stringify(mode)}).`,
    );
  }
  return { operation, allowOverwriteDestination: allow, deletionMode: mode };
}

/** Replication configurations that involve `fileSystemId` (none: empty), from every page. */
export async function describeReplications(
  efs: EFSClient,
  fileSystemId: string,
): Promise<ReplicationConfigurationDescription[]> {
  return allPages(
    paginateDescribeReplicationConfigurations({ client: efs }, { FileSystemId: fileSystemId }),
    (page) => page.Replications,
    ReplicationNotFound,
  );
}

/** The file system's ReplicationOverwriteProtection; refuses when the file system does not exist. */
export async function overwriteProtection(efs: EFSClient, fileSystemId: string): Promise<string> {
  const fileSystems = await allPages(
    paginateDescribeFileSystems({ client: efs }, { FileSystemId: fileSystemId }),
    (page) => page.FileSystems,
    FileSystemNotFound,
  );
  const fs = fileSystems[0];
  if (!fs) refuse(`file system ${fileSystemId} was not found; check REGIONS.`);
  return fs.FileSystemProtection?.ReplicationOverwriteProtection ?? ReplicationOverwriteProtection.ENABLED;
}

function destinationsOf(r: ReplicationConfigurationDescription): string {
  return (r.Destinations ?? []).map((d) => `${d.FileSystemId} (${d.Region}, ${d.Status})`).join(', ');
}

/** Makes the target region's file system writable. */
export async function flip(
  clients: EfsClients,
  request: SwitchRequest,
  config: EfsReplicationConfig,
  options: EfsOptions,
  rt: Runtime,
): Promise<SwitchResult> {
  const result = newResult(FUNCTION_NAME, request);
  const { target: targetFs, source: sourceFs } = ofBothRegions(config.regions, request, 'fileSystemId');
  const replications = await describeReplications(clients.target, targetFs);
  const protection = await overwriteProtection(clients.target, targetFs);

  const outbound = replications.filter((r) => r.SourceFileSystemId === targetFs);
  const inbound = replications.filter((r) => (r.Destinations ?? []).some((d) => d.FileSystemId === targetFs));
  for (const r of outbound) {
    const toPeer = (r.Destinations ?? []).every(
      (d) => d.FileSystemId === sourceFs && d.Region === request.sourceRegion,
    );
    if (!toPeer) {
      refuse(
        `target file system ${targetFs} is itself the source of a replication to ${destinationsOf(r)}, ` +
          `not to ${sourceFs} (${request.sourceRegion}); resolve it by hand.`,
      );
    }
  }
  for (const r of inbound) {
    if (r.SourceFileSystemId !== sourceFs) {
      refuse(
        `target file system ${targetFs} receives a replication from ${r.SourceFileSystemId} ` +
          `(${r.SourceFileSystemRegion}), not from ${sourceFs} (${request.sourceRegion}); resolve it by hand.`,
      );
    }
  }
  if (outbound.length > 0 && inbound.length > 0) {
    refuse(`replications run both ways between ${sourceFs} and ${targetFs}; resolve it by hand.`);
  }

  const writable = protection !== ReplicationOverwriteProtection.REPLICATING;
  if (inbound.length === 0 && writable) {
    result.actions.push(
      outbound.length > 0
        ? `${targetFs} is writable and already replicates to ${sourceFs} (${request.sourceRegion}); nothing to do`
        : `${targetFs} is writable (${protection}) with no replication into it; nothing to do`,
    );
    return result;
  }

  const deleting = inbound.some((r) => (r.Destinations ?? []).some((d) => d.Status === ReplicationStatus.DELETING));
  const callRegion = request.mode === 'planned' ? request.sourceRegion : request.targetRegion;
  const deletionMode = options.deletionMode ? `, DeletionMode=${options.deletionMode}` : '';
  const call = `DeleteReplicationConfiguration(SourceFileSystemId=${sourceFs}${deletionMode}) in ${callRegion}`;
  if (request.dryRun) {
    result.actions.push(
      inbound.length > 0 && !deleting
        ? `DRY RUN: would call ${call}`
        : `DRY RUN: replication into ${targetFs} is already being deleted; would not call DeleteReplicationConfiguration`,
    );
    result.actions.push(`DRY RUN: would then wait up to ${config.waitSeconds} s for ${targetFs} to be writable`);
    return result;
  }

  let changed = false;
  if (inbound.length > 0 && !deleting) {
    const efs = request.mode === 'planned' ? clients.source : clients.target;
    try {
      await efs.send(
        new DeleteReplicationConfigurationCommand({
          SourceFileSystemId: sourceFs,
          DeletionMode: options.deletionMode,
        }),
      );
      result.actions.push(`Called ${call}`);
      changed = true;
    } catch (err) {
      if (!(err instanceof ReplicationNotFound)) throw err;
      result.actions.push(`${call}: already gone (ReplicationNotFound)`);
    }
  } else {
    result.actions.push(`Replication into ${targetFs} is already being deleted`);
  }

  if (config.waitSeconds === 0) {
    result.actions.push('Did not wait (WAIT_SECONDS=0)');
    return { ...result, changed };
  }
  const polled = await pollUntil(
    rt,
    () => overwriteProtection(clients.target, targetFs),
    (p) => p !== ReplicationOverwriteProtection.REPLICATING,
    config.pollSeconds * 1000,
    waitDeadline(rt, config.waitSeconds),
  );
  if (!polled.met) {
    throw new IncompleteError(
      `${targetFs} is still REPLICATING after the wait; the deletion is in progress and a retry of this step ` +
        'waits for it without deleting again.',
    );
  }
  result.actions.push(`${targetFs} is writable (ReplicationOverwriteProtection ${polled.value})`);
  return { ...result, changed };
}

/** Replicates the target region's file system to the source region's (failback preparation). */
export async function reverse(
  clients: EfsClients,
  request: SwitchRequest,
  config: EfsReplicationConfig,
  options: EfsOptions,
): Promise<SwitchResult> {
  const { target: primaryFs, source: destinationFs } = ofBothRegions(config.regions, request, 'fileSystemId');
  const destinationRegion = request.sourceRegion;
  const result = newResult(FUNCTION_NAME, request);

  const replications = await describeReplications(clients.target, primaryFs);
  for (const r of replications) {
    if (r.SourceFileSystemId !== primaryFs) {
      refuse(
        `${primaryFs} is still the destination of a replication from ${r.SourceFileSystemId}; ` +
          'run operation flip first.',
      );
    }
    const exact = (r.Destinations ?? []).some(
      (d) => d.FileSystemId === destinationFs && d.Region === destinationRegion,
    );
    if (!exact) {
      refuse(
        `${primaryFs} already replicates to ${destinationsOf(r)}; EFS allows one destination. Resolve it by hand.`,
      );
    }
    result.actions.push(`${primaryFs} already replicates to ${destinationFs} (${destinationRegion}); nothing to do`);
    return result;
  }
  if ((await overwriteProtection(clients.target, primaryFs)) === ReplicationOverwriteProtection.REPLICATING) {
    refuse(`${primaryFs} is still REPLICATING (read-only); run operation flip first.`);
  }

  // After an unplanned flip with LOCAL_CONFIGURATION_ONLY, the old side keeps its half of the old replication;
  // EFS allows one replication per file system, so it must go first.
  const leftover = (await describeReplications(clients.source, destinationFs)).filter(
    (r) => r.SourceFileSystemId === destinationFs,
  );
  if (leftover.length > 0) {
    refuse(
      `destination ${destinationFs} (${destinationRegion}) is still the source of a replication to ` +
        `${leftover.map(destinationsOf).join(', ')} (left from before the switch); delete it first: ` +
        `aws efs delete-replication-configuration --source-file-system-id ${destinationFs} --region ${destinationRegion}.`,
    );
  }
  const protection = await overwriteProtection(clients.source, destinationFs);
  if (protection === ReplicationOverwriteProtection.REPLICATING) {
    refuse(
      `destination ${destinationFs} (${destinationRegion}) is already a replication destination; resolve it by hand.`,
    );
  }
  const steps: { readonly describe: string; readonly run: () => Promise<unknown> }[] = [];
  if (protection !== ReplicationOverwriteProtection.DISABLED) {
    if (!options.allowOverwriteDestination) {
      refuse(
        `destination ${destinationFs} (${destinationRegion}) has ReplicationOverwriteProtection ${protection}; ` +
          'replication would overwrite its files, including any written there after its last replication. ' +
          'To proceed, re-run with "allowOverwriteDestination": true, or run ' +
          `aws efs update-file-system-protection --file-system-id ${destinationFs} ` +
          `--replication-overwrite-protection DISABLED --region ${destinationRegion}.`,
      );
    }
    steps.push({
      describe: `UpdateFileSystemProtection(FileSystemId=${destinationFs}, ReplicationOverwriteProtection=DISABLED) in ${destinationRegion}`,
      run: () =>
        clients.source.send(
          new UpdateFileSystemProtectionCommand({
            FileSystemId: destinationFs,
            ReplicationOverwriteProtection: ReplicationOverwriteProtection.DISABLED,
          }),
        ),
    });
  }
  steps.push({
    describe:
      `CreateReplicationConfiguration(SourceFileSystemId=${primaryFs}, ` +
      `Destinations=[{FileSystemId=${destinationFs}, Region=${destinationRegion}}]) in ${request.targetRegion}`,
    run: () =>
      clients.target.send(
        new CreateReplicationConfigurationCommand({
          SourceFileSystemId: primaryFs,
          Destinations: [{ FileSystemId: destinationFs, Region: destinationRegion }],
        }),
      ),
  });
  if (request.dryRun) {
    for (const step of steps) result.actions.push(`DRY RUN: would call ${step.describe}`);
    return result;
  }
  for (const step of steps) {
    await step.run();
    result.actions.push(`Called ${step.describe}`);
  }
  return { ...result, changed: true };
}

/** Runs the operation the event asks for. */
export async function runEfsReplication(
  clients: EfsClients,
  request: SwitchRequest,
  config: EfsReplicationConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const options = efsOptions(request.input);
  return options.operation === 'reverse'
    ? reverse(clients, request, config, options)
    : flip(clients, request, config, options, rt);
}
