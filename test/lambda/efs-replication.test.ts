import {
  awsError,
  EAST,
  fakeRuntime,
  loadWithEnv,
  OPERATOR_EVENT,
  REGION_SWITCH_EVENT,
  retrySettings,
  throttled,
  VALID_ENV,
  WEST,
} from './fixtures';
import {
  CreateReplicationConfigurationCommand,
  DeleteReplicationConfigurationCommand,
  DescribeFileSystemsCommand,
  DescribeReplicationConfigurationsCommand,
  EFSClient,
  FileSystemNotFound,
  ReplicationNotFound,
  UpdateFileSystemProtectionCommand,
  type DescribeReplicationConfigurationsRequest,
  type ReplicationConfigurationDescription,
} from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import * as efsReplication from '../../lambda/efs-replication';
import { parseSwitchEvent } from '../../lambda/shared/event';
import { SDK_RETRY } from '../../lambda/shared/sdk';

const EAST_FS = 'fs-0123456789abcdef0';
const WEST_FS = 'fs-0fedcba9876543210';

const efs = mockClient(EFSClient);
const clients = { target: new EFSClient({ region: WEST }), source: new EFSClient({ region: EAST }) };
const config = efsReplication.loadEfsReplicationConfig(VALID_ENV);

function request(event: object = OPERATOR_EVENT) {
  return parseSwitchEvent(event, config.regions.names, false);
}

function replication(
  source: string,
  sourceRegion: string,
  destination: string,
  destinationRegion: string,
  status = 'ENABLED',
): ReplicationConfigurationDescription {
  return {
    SourceFileSystemId: source,
    SourceFileSystemRegion: sourceRegion,
    SourceFileSystemArn: `arn:aws:elasticfilesystem:${sourceRegion}:123456789012:file-system/${source}`,
    OriginalSourceFileSystemArn: `arn:aws:elasticfilesystem:${sourceRegion}:123456789012:file-system/${source}`,
    CreationTime: new Date('2025-01-01T00:00:00Z'),
    Destinations: [{ FileSystemId: destination, Region: destinationRegion, Status: status as 'ENABLED' }],
  };
}

/** East replicates to west: the steady state before a switch to west. */
const EAST_TO_WEST = replication(EAST_FS, EAST, WEST_FS, WEST);
const WEST_TO_EAST = replication(WEST_FS, WEST, EAST_FS, EAST);

/** EFS's answer to a request about a file system without replications, or a delete of one that is gone. */
function replicationNotFound(): ReplicationNotFound {
  return new ReplicationNotFound({ message: 'Replication does not exist', $metadata: { httpStatusCode: 404 } });
}

function replications(fileSystemId: string, found: ReplicationConfigurationDescription[]): void {
  if (found.length === 0) {
    efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: fileSystemId }).rejects(replicationNotFound());
  } else {
    efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: fileSystemId }).resolves({ Replications: found });
  }
}

function protection(fileSystemId: string, ...states: string[]) {
  let stub = efs.on(DescribeFileSystemsCommand, { FileSystemId: fileSystemId });
  const reply = (state: string) => ({
    FileSystems: [
      {
        FileSystemId: fileSystemId,
        FileSystemProtection: { ReplicationOverwriteProtection: state as 'ENABLED' },
      } as never,
    ],
  });
  for (const state of states.slice(0, -1)) stub = stub.resolvesOnce(reply(state));
  stub.resolves(reply(states.at(-1)!));
}

async function regionOf(call: { thisValue: unknown }): Promise<string> {
  return (call.thisValue as EFSClient).config.region();
}

function mutatingCalls(): number {
  return (
    efs.commandCalls(DeleteReplicationConfigurationCommand).length +
    efs.commandCalls(CreateReplicationConfigurationCommand).length +
    efs.commandCalls(UpdateFileSystemProtectionCommand).length
  );
}

beforeEach(() => efs.reset());

describe('efs-replication flip', () => {
  test('planned: deletes the replication in the source region, then waits until the target is writable', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING', 'REPLICATING', 'REPLICATING', 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    const rt = fakeRuntime();
    const result = await efsReplication.runEfsReplication(clients, request(), config, rt);
    expect(result).toMatchObject({ function: 'efs-replication', targetRegion: WEST, changed: true });
    const deletes = efs.commandCalls(DeleteReplicationConfigurationCommand);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.args[0].input).toEqual({ SourceFileSystemId: EAST_FS, DeletionMode: undefined });
    expect(await regionOf(deletes[0]!)).toBe(EAST);
    expect(rt.sleeps).toEqual([10_000, 10_000]);
    expect(result.actions).toEqual([
      `Called DeleteReplicationConfiguration(SourceFileSystemId=${EAST_FS}) in us-east-1`,
      `${WEST_FS} is writable (ReplicationOverwriteProtection ENABLED)`,
    ]);
  });

  test('unplanned: deletes from the target (destination) region, with the deletion mode asked for', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    await efsReplication.runEfsReplication(
      clients,
      request({ targetRegion: WEST, mode: 'unplanned', deletionMode: 'LOCAL_CONFIGURATION_ONLY' }),
      config,
      fakeRuntime(),
    );
    const deletes = efs.commandCalls(DeleteReplicationConfigurationCommand);
    expect(deletes[0]!.args[0].input).toEqual({
      SourceFileSystemId: EAST_FS,
      DeletionMode: 'LOCAL_CONFIGURATION_ONLY',
    });
    expect(await regionOf(deletes[0]!)).toBe(WEST);
  });

  test('already writable with no replication into it: success, changed false, no mutating call', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    const result = await efsReplication.runEfsReplication(clients, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(result.actions).toEqual([`${WEST_FS} is writable (ENABLED) with no replication into it; nothing to do`]);
    expect(mutatingCalls()).toBe(0);
  });

  test('already flipped and reversed (target replicates to the source region): success, changed false', async () => {
    replications(WEST_FS, [WEST_TO_EAST]);
    protection(WEST_FS, 'ENABLED');
    const result = await efsReplication.runEfsReplication(clients, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(mutatingCalls()).toBe(0);
  });

  test('in progress: a replication already DELETING is waited for, not deleted again', async () => {
    replications(WEST_FS, [replication(EAST_FS, EAST, WEST_FS, WEST, 'DELETING')]);
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    const result = await efsReplication.runEfsReplication(clients, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(result.actions[0]).toBe(`Replication into ${WEST_FS} is already being deleted`);
    expect(mutatingCalls()).toBe(0);
  });

  test('a deletion that outlasts the wait is reported incomplete, for the step to retry', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    await expect(
      efsReplication.runEfsReplication(clients, request(), { ...config, waitSeconds: 30 }, fakeRuntime()),
    ).rejects.toThrow(`INCOMPLETE: ${WEST_FS} is still REPLICATING after the wait`);
  });

  test('a replication deleted meanwhile (ReplicationNotFound) counts as done', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).rejects(replicationNotFound());
    const result = await efsReplication.runEfsReplication(clients, request(), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(result.actions[0]).toContain('already gone (ReplicationNotFound)');
  });

  test("the SDK's ReplicationNotFound class decides, not an error's name: another error so named fails the step", async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    const lookalike = awsError('ReplicationNotFound', 'thrown by something other than the EFS client');
    efs.on(DeleteReplicationConfigurationCommand).rejects(lookalike);
    await expect(efsReplication.runEfsReplication(clients, request(), config, fakeRuntime())).rejects.toBe(lookalike);
  });

  test('reads replications through the paginator: one on a second page is found and deleted', async () => {
    const inputs: DescribeReplicationConfigurationsRequest[] = [];
    efs
      .on(DescribeReplicationConfigurationsCommand, { FileSystemId: WEST_FS })
      .callsFake((input: DescribeReplicationConfigurationsRequest) => {
        inputs.push({ ...input });
        return input.NextToken === 'page-2'
          ? { Replications: [EAST_TO_WEST] }
          : { Replications: [], NextToken: 'page-2' };
      });
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    const result = await efsReplication.runEfsReplication(clients, request(), config, fakeRuntime());
    expect(result.changed).toBe(true);
    expect(inputs).toEqual([
      { FileSystemId: WEST_FS, NextToken: undefined, MaxResults: undefined },
      { FileSystemId: WEST_FS, NextToken: 'page-2', MaxResults: undefined },
    ]);
    expect(efs.commandCalls(DeleteReplicationConfigurationCommand)).toHaveLength(1);
  });

  test("refuses when EFS answers FileSystemNotFound for the target's file system", async () => {
    replications(WEST_FS, []);
    efs
      .on(DescribeFileSystemsCommand, { FileSystemId: WEST_FS })
      .rejects(
        new FileSystemNotFound({ message: 'File system not found', ErrorCode: 'FileSystemNotFound', $metadata: {} }),
      );
    await expect(efsReplication.runEfsReplication(clients, request(), config, fakeRuntime())).rejects.toThrow(
      `REFUSED: file system ${WEST_FS} was not found; check REGIONS.`,
    );
    expect(mutatingCalls()).toBe(0);
  });

  test('refuses when the target replicates to a file system other than the source region one', async () => {
    replications(WEST_FS, [replication(WEST_FS, WEST, 'fs-0aaaaaaaaaaaaaaaa', 'eu-west-1')]);
    protection(WEST_FS, 'ENABLED');
    await expect(efsReplication.runEfsReplication(clients, request(), config, fakeRuntime())).rejects.toThrow(
      `REFUSED: target file system ${WEST_FS} is itself the source of a replication to fs-0aaaaaaaaaaaaaaaa ` +
        `(eu-west-1, ENABLED), not to ${EAST_FS} (us-east-1); resolve it by hand.`,
    );
    expect(mutatingCalls()).toBe(0);
  });

  test('refuses a replication into the target from an unexpected file system', async () => {
    replications(WEST_FS, [replication('fs-0bbbbbbbbbbbbbbbb', 'eu-west-1', WEST_FS, WEST)]);
    protection(WEST_FS, 'REPLICATING');
    await expect(efsReplication.runEfsReplication(clients, request(), config, fakeRuntime())).rejects.toThrow(
      `REFUSED: target file system ${WEST_FS} receives a replication from fs-0bbbbbbbbbbbbbbbb (eu-west-1), ` +
        `not from ${EAST_FS} (us-east-1)`,
    );
  });

  test('refuses replications both ways', async () => {
    replications(WEST_FS, [EAST_TO_WEST, WEST_TO_EAST]);
    protection(WEST_FS, 'REPLICATING');
    await expect(efsReplication.runEfsReplication(clients, request(), config, fakeRuntime())).rejects.toThrow(
      `REFUSED: replications run both ways between ${EAST_FS} and ${WEST_FS}`,
    );
  });

  test('a delete still throttled after the SDK client retried it fails the step; the function does not call again', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING', 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).rejectsOnce(throttled()).resolves({});
    const rt = fakeRuntime();
    await expect(efsReplication.runEfsReplication(clients, request(), config, rt)).rejects.toThrow('Rate exceeded');
    expect(efs.commandCalls(DeleteReplicationConfigurationCommand)).toHaveLength(1);
    expect(rt.sleeps).toEqual([]);
  });

  test('dry run: describes the delete and the wait, calls nothing that changes state', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'REPLICATING');
    const result = await efsReplication.runEfsReplication(
      clients,
      request({ ...OPERATOR_EVENT, dryRun: true }),
      config,
      fakeRuntime(),
    );
    expect(result).toMatchObject({ dryRun: true, changed: false });
    expect(result.actions).toEqual([
      `DRY RUN: would call DeleteReplicationConfiguration(SourceFileSystemId=${EAST_FS}) in us-east-1`,
      `DRY RUN: would then wait up to 600 s for ${WEST_FS} to be writable`,
    ]);
    expect(mutatingCalls()).toBe(0);
  });
});

describe('efs-replication reverse', () => {
  const reverseEvent = { targetRegion: WEST, sourceRegion: EAST, operation: 'reverse' };
  // The old primary's file system has no replication left (the flip deleted both sides).
  beforeEach(() => replications(EAST_FS, []));

  test('refuses while the old primary still holds its side of the old replication, naming the command', async () => {
    replications(WEST_FS, []);
    replications(EAST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'ENABLED');
    await expect(
      efsReplication.runEfsReplication(
        clients,
        request({ ...reverseEvent, allowOverwriteDestination: true }),
        config,
        fakeRuntime(),
      ),
    ).rejects.toThrow(
      `REFUSED: destination ${EAST_FS} (us-east-1) is still the source of a replication to ${WEST_FS} (us-west-2, ENABLED) ` +
        `(left from before the switch); delete it first: aws efs delete-replication-configuration ` +
        `--source-file-system-id ${EAST_FS} --region us-east-1.`,
    );
    expect(efs.commandCalls(UpdateFileSystemProtectionCommand)).toHaveLength(0);
    expect(efs.commandCalls(CreateReplicationConfigurationCommand)).toHaveLength(0);
  });

  test('replicates the new primary to the old one when its overwrite protection is DISABLED', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'DISABLED');
    efs.on(CreateReplicationConfigurationCommand).resolves({});
    const result = await efsReplication.runEfsReplication(clients, request(reverseEvent), config, fakeRuntime());
    expect(result.changed).toBe(true);
    const creates = efs.commandCalls(CreateReplicationConfigurationCommand);
    expect(creates[0]!.args[0].input).toEqual({
      SourceFileSystemId: WEST_FS,
      Destinations: [{ FileSystemId: EAST_FS, Region: EAST }],
    });
    expect(await regionOf(creates[0]!)).toBe(WEST);
    expect(efs.commandCalls(UpdateFileSystemProtectionCommand)).toHaveLength(0);
  });

  test('refuses to overwrite a protected destination and says how to allow it', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'ENABLED');
    await expect(
      efsReplication.runEfsReplication(clients, request(reverseEvent), config, fakeRuntime()),
    ).rejects.toThrow(
      `REFUSED: destination ${EAST_FS} (us-east-1) has ReplicationOverwriteProtection ENABLED; replication would ` +
        'overwrite its files, including any written there after its last replication. To proceed, re-run with ' +
        `"allowOverwriteDestination": true, or run aws efs update-file-system-protection --file-system-id ${EAST_FS} ` +
        '--replication-overwrite-protection DISABLED --region us-east-1.',
    );
    expect(mutatingCalls()).toBe(0);
  });

  test('allowOverwriteDestination disables the protection in the destination region first', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'ENABLED');
    efs.on(UpdateFileSystemProtectionCommand).resolves({});
    efs.on(CreateReplicationConfigurationCommand).resolves({});
    const result = await efsReplication.runEfsReplication(
      clients,
      request({ ...reverseEvent, allowOverwriteDestination: true }),
      config,
      fakeRuntime(),
    );
    expect(result.actions.map((a) => a.split('(')[0])).toEqual([
      'Called UpdateFileSystemProtection',
      'Called CreateReplicationConfiguration',
    ]);
    const update = efs.commandCalls(UpdateFileSystemProtectionCommand)[0]!;
    expect(update.args[0].input).toEqual({ FileSystemId: EAST_FS, ReplicationOverwriteProtection: 'DISABLED' });
    expect(await regionOf(update)).toBe(EAST);
  });

  test('that exact replication already exists: success, changed false, no mutating call', async () => {
    replications(WEST_FS, [WEST_TO_EAST]);
    const result = await efsReplication.runEfsReplication(clients, request(reverseEvent), config, fakeRuntime());
    expect(result.changed).toBe(false);
    expect(result.actions).toEqual([`${WEST_FS} already replicates to ${EAST_FS} (us-east-1); nothing to do`]);
    expect(mutatingCalls()).toBe(0);
  });

  test('refuses while the new primary is still a replication destination', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    await expect(
      efsReplication.runEfsReplication(clients, request(reverseEvent), config, fakeRuntime()),
    ).rejects.toThrow(
      `REFUSED: ${WEST_FS} is still the destination of a replication from ${EAST_FS}; run operation flip first.`,
    );
  });

  test('a create still throttled after the SDK client retried it fails the step; the function does not call again', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'DISABLED');
    efs.on(CreateReplicationConfigurationCommand).rejectsOnce(throttled()).resolves({});
    await expect(
      efsReplication.runEfsReplication(clients, request(reverseEvent), config, fakeRuntime()),
    ).rejects.toThrow('Rate exceeded');
    expect(efs.commandCalls(CreateReplicationConfigurationCommand)).toHaveLength(1);
  });

  test('dry run: lists both calls it would make', async () => {
    replications(WEST_FS, []);
    protection(WEST_FS, 'ENABLED');
    protection(EAST_FS, 'ENABLED');
    const result = await efsReplication.runEfsReplication(
      clients,
      request({ ...reverseEvent, allowOverwriteDestination: true, dryRun: true }),
      config,
      fakeRuntime(),
    );
    expect(result.actions).toEqual([
      `DRY RUN: would call UpdateFileSystemProtection(FileSystemId=${EAST_FS}, ReplicationOverwriteProtection=DISABLED) in us-east-1`,
      `DRY RUN: would call CreateReplicationConfiguration(SourceFileSystemId=${WEST_FS}, Destinations=[{FileSystemId=${EAST_FS}, Region=us-east-1}]) in us-west-2`,
    ]);
    expect(mutatingCalls()).toBe(0);
  });
});

describe('efs-replication handler', () => {
  test('Region switch event flips into the activating region', async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    const result = await efsReplication.handler(REGION_SWITCH_EVENT);
    expect(result).toMatchObject({ targetRegion: WEST, sourceRegion: EAST, mode: 'planned', changed: true });
  });

  test("its clients of both regions have the functions' SDK retry settings", async () => {
    replications(WEST_FS, [EAST_TO_WEST]);
    protection(WEST_FS, 'ENABLED');
    efs.on(DeleteReplicationConfigurationCommand).resolves({});
    await efsReplication.handler(REGION_SWITCH_EVENT);
    const target = efs.commandCalls(DescribeReplicationConfigurationsCommand)[0]!.thisValue;
    const source = efs.commandCalls(DeleteReplicationConfigurationCommand)[0]!.thisValue;
    expect([await regionOf({ thisValue: target }), await regionOf({ thisValue: source })]).toEqual([WEST, EAST]);
    expect(await retrySettings(target)).toEqual(SDK_RETRY);
    expect(await retrySettings(source)).toEqual(SDK_RETRY);
  });

  test('operator event with operation reverse', async () => {
    replications(WEST_FS, [WEST_TO_EAST]);
    const result = await efsReplication.handler({ ...OPERATOR_EVENT, operation: 'reverse' });
    expect(result).toMatchObject({ targetRegion: WEST, changed: false });
  });

  test('rejects an unknown operation before any call', async () => {
    await expect(efsReplication.handler({ ...OPERATOR_EVENT, operation: 'swap' })).rejects.toThrow(
      'Invalid event: operation must be flip or reverse (got "swap")',
    );
    expect(efs.commandCalls(DescribeReplicationConfigurationsCommand)).toHaveLength(0);
  });

  test('a missing or bad environment fails with the setting named', async () => {
    const missing = loadWithEnv<typeof efsReplication>('../../lambda/efs-replication', {});
    await expect(missing.handler(OPERATOR_EVENT)).rejects.toThrow('Invalid configuration: REGIONS is not set');
    const regions = JSON.parse(VALID_ENV.REGIONS!);
    regions[WEST].fileSystemId = 'fs-nothex';
    const bad = loadWithEnv<typeof efsReplication>('../../lambda/efs-replication', {
      REGIONS: JSON.stringify(regions),
    });
    await expect(bad.handler(OPERATOR_EVENT)).rejects.toThrow(
      'Invalid configuration: REGIONS["us-west-2"].fileSystemId must be an EFS file system ID (fs-...) (got "fs-nothex")',
    );
  });
});
