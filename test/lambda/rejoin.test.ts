import {
  EAST,
  envWithout,
  fakeRuntime,
  loadWithEnv,
  RESOURCES,
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
  ReplicationNotFound,
  UpdateFileSystemProtectionCommand,
} from '@aws-sdk/client-efs';
import {
  DescribeGlobalReplicationGroupsCommand,
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
  GlobalReplicationGroupNotFoundFault,
  type DescribeGlobalReplicationGroupsResult,
} from '@aws-sdk/client-elasticache';
import {
  DBClusterNotFoundFault,
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  GlobalClusterNotFoundFault,
  RDSClient,
  type DescribeGlobalClustersMessage,
  type GlobalClustersMessage,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import * as rejoin from '../../lambda/rejoin';
import { ConfigError } from '../../lambda/shared/errors';
import { parseSwitchEvent } from '../../lambda/shared/event';
import { SDK_RETRY } from '../../lambda/shared/sdk';

const EAST_FS = RESOURCES[EAST].fileSystemId;
const WEST_FS = RESOURCES[WEST].fileSystemId;
const ARN = (region: string) =>
  `arn:aws:rds:${region}:123456789012:cluster:${RESOURCES[region as typeof EAST].dbClusterIdentifier}`;

const rds = mockClient(RDSClient);
const elasticache = mockClient(ElastiCacheClient);
const efs = mockClient(EFSClient);
const clients: rejoin.RejoinClients = {
  rds: new RDSClient({ region: WEST }),
  rejoiningRds: new RDSClient({ region: EAST }),
  elasticache: new ElastiCacheClient({ region: WEST }),
  efs: { target: new EFSClient({ region: WEST }), source: new EFSClient({ region: EAST }) },
};
const config = rejoin.loadRejoinConfig(VALID_ENV);

/** Every call made to any fake client. */
function allCalls(): number {
  return rds.calls().length + elasticache.calls().length + efs.calls().length;
}

/** West is active; east rejoins. */
function request(extra: object = {}, dryRun = false) {
  return parseSwitchEvent({ targetRegion: WEST, ...extra }, config.regions.names, dryRun);
}

interface GlobalShape {
  readonly writer?: string;
  readonly east?: 'connected' | 'pending-resync' | 'absent';
  readonly failover?: string;
}

function globalCluster({ writer = WEST, east = 'connected', failover }: GlobalShape): GlobalClustersMessage {
  const members = [{ DBClusterArn: ARN(WEST), IsWriter: writer === WEST }];
  if (east !== 'absent') {
    members.push({ DBClusterArn: ARN(EAST), IsWriter: writer === EAST, SynchronizationStatus: east } as never);
  }
  return {
    GlobalClusters: [
      {
        GlobalClusterIdentifier: 'haweb-prod-global',
        Status: 'available',
        FailoverState: failover ? { Status: failover as never } : undefined,
        GlobalClusterMembers: members,
      },
    ],
  };
}

function eastCluster(status: string): void {
  rds
    .on(DescribeDBClustersCommand, { DBClusterIdentifier: RESOURCES[EAST].dbClusterIdentifier })
    .resolves({ DBClusters: [{ DBClusterIdentifier: RESOURCES[EAST].dbClusterIdentifier, Status: status }] });
}

function datastore(
  east: { role: string; status: string } | 'absent',
  status = 'available',
  westRole = 'PRIMARY',
): DescribeGlobalReplicationGroupsResult {
  const members = [
    {
      ReplicationGroupId: RESOURCES[WEST].cacheReplicationGroupId,
      ReplicationGroupRegion: WEST,
      Role: westRole,
      Status: 'associated',
    },
  ];
  if (east !== 'absent') {
    members.push({
      ReplicationGroupId: RESOURCES[EAST].cacheReplicationGroupId,
      ReplicationGroupRegion: EAST,
      Role: east.role,
      Status: east.status,
    });
  }
  return {
    GlobalReplicationGroups: [
      { GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions', Status: status, Members: members },
    ],
  };
}

const READY_CACHE = datastore({ role: 'SECONDARY', status: 'associated' });

/** EFS's answer for a file system without replications. */
function replicationNotFound(): ReplicationNotFound {
  return new ReplicationNotFound({ message: 'Replication does not exist', $metadata: { httpStatusCode: 404 } });
}

/** EFS: `westToEast` replication present or not; east's overwrite protection. */
function files(westToEast: boolean, eastProtection = 'DISABLED'): void {
  const description = {
    SourceFileSystemId: WEST_FS,
    SourceFileSystemRegion: WEST,
    SourceFileSystemArn: `arn:aws:elasticfilesystem:${WEST}:123456789012:file-system/${WEST_FS}`,
    OriginalSourceFileSystemArn: `arn:aws:elasticfilesystem:${WEST}:123456789012:file-system/${WEST_FS}`,
    CreationTime: new Date('2025-01-01T00:00:00Z'),
    Destinations: [{ FileSystemId: EAST_FS, Region: EAST, Status: 'ENABLED' as const }],
  };
  if (westToEast) {
    efs
      .on(DescribeReplicationConfigurationsCommand, { FileSystemId: WEST_FS })
      .resolves({ Replications: [description] });
  } else {
    efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: WEST_FS }).rejects(replicationNotFound());
  }
  efs.on(DescribeReplicationConfigurationsCommand, { FileSystemId: EAST_FS }).rejects(replicationNotFound());
  efs.on(DescribeFileSystemsCommand, { FileSystemId: WEST_FS }).resolves({
    FileSystems: [
      { FileSystemId: WEST_FS, FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' } },
    ] as never,
  });
  efs.on(DescribeFileSystemsCommand, { FileSystemId: EAST_FS }).resolves({
    FileSystems: [
      { FileSystemId: EAST_FS, FileSystemProtection: { ReplicationOverwriteProtection: eastProtection } },
    ] as never,
  });
  efs.on(CreateReplicationConfigurationCommand).resolves({});
  efs.on(UpdateFileSystemProtectionCommand).resolves({});
}

/** Every mutating call the function could make, by name, with their counts. */
function mutatingCalls(): Record<string, number> {
  return {
    CreateReplicationConfiguration: efs.commandCalls(CreateReplicationConfigurationCommand).length,
    UpdateFileSystemProtection: efs.commandCalls(UpdateFileSystemProtectionCommand).length,
    DeleteReplicationConfiguration: efs.commandCalls(DeleteReplicationConfigurationCommand).length,
    FailoverGlobalCluster: rds.commandCalls(FailoverGlobalClusterCommand).length,
    FailoverGlobalReplicationGroup: elasticache.commandCalls(FailoverGlobalReplicationGroupCommand).length,
  };
}
const NO_MUTATION = {
  CreateReplicationConfiguration: 0,
  UpdateFileSystemProtection: 0,
  DeleteReplicationConfiguration: 0,
  FailoverGlobalCluster: 0,
  FailoverGlobalReplicationGroup: 0,
};

beforeEach(() => {
  rds.reset();
  elasticache.reset();
  efs.reset();
});

describe('rejoin', () => {
  test('waits for the old cluster and cache group to resynchronise, then reverses EFS replication', async () => {
    rds
      .on(DescribeGlobalClustersCommand)
      .resolvesOnce(globalCluster({ east: 'pending-resync' }))
      .resolvesOnce(globalCluster({ east: 'pending-resync' }))
      .resolves(globalCluster({}));
    eastCluster('available');
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolvesOnce(datastore({ role: 'SECONDARY', status: 'associating' }, 'modifying'))
      .resolves(READY_CACHE);
    files(false, 'ENABLED');
    const rt = fakeRuntime();
    const result = await rejoin.runRejoin(clients, request({ allowOverwriteDestination: true }), config, rt);

    expect(result).toMatchObject({ function: 'rejoin', targetRegion: WEST, sourceRegion: EAST, changed: true });
    expect(Object.fromEntries(Object.entries(result.checks!).map(([k, v]) => [k, v.ok]))).toEqual({
      database: true,
      cache: true,
      files: true,
    });
    expect(rt.sleeps).toEqual([15_000]);
    expect(efs.commandCalls(UpdateFileSystemProtectionCommand)[0]!.args[0].input).toEqual({
      FileSystemId: EAST_FS,
      ReplicationOverwriteProtection: 'DISABLED',
    });
    expect(efs.commandCalls(CreateReplicationConfigurationCommand)[0]!.args[0].input).toEqual({
      SourceFileSystemId: WEST_FS,
      Destinations: [{ FileSystemId: EAST_FS, Region: EAST }],
    });
    expect(result.actions).toEqual([
      'database: Waited for haweb-prod-east to be connected and available (3 reads)',
      'cache: Waited for haweb-prod-east-cache to be an associated SECONDARY (2 reads)',
      expect.stringMatching(/^files: Called UpdateFileSystemProtection/),
      expect.stringMatching(/^files: Called CreateReplicationConfiguration/),
    ]);
  });

  test('a second run after success: no wait, no mutating call, changed false', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
    eastCluster('available');
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(READY_CACHE);
    files(true);
    const rt = fakeRuntime();
    const result = await rejoin.runRejoin(clients, request(), config, rt);
    expect(result.changed).toBe(false);
    expect(rt.sleeps).toEqual([]);
    expect(mutatingCalls()).toEqual(NO_MUTATION);
    expect(result.actions).toEqual([
      'database: haweb-prod-east (us-east-1) is a connected secondary of haweb-prod-west; nothing to do',
      'cache: haweb-prod-east-cache (us-east-1) is an associated SECONDARY',
      `files: ${WEST_FS} already replicates to ${EAST_FS} (us-east-1); nothing to do`,
    ]);
  });

  test('waits while a global failover or switchover is in progress', async () => {
    rds
      .on(DescribeGlobalClustersCommand)
      .resolvesOnce(globalCluster({ failover: 'failing-over' }))
      .resolvesOnce(globalCluster({ failover: 'failing-over' }))
      .resolves(globalCluster({}));
    eastCluster('available');
    const rt = fakeRuntime();
    const result = await rejoin.runRejoin(clients, request({ components: ['database'] }), config, rt);
    expect(result.checks!.database!.ok).toBe(true);
    expect(result.actions[0]).toBe('database: Waited for the failing-over failover/switchover to end');
    expect(rt.sleeps).toEqual([15_000]);
  });

  test('still resynchronising when the wait ends: INCOMPLETE, and the components already done are named', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ east: 'pending-resync' }));
    eastCluster('available');
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(READY_CACHE);
    files(true);
    const rt = fakeRuntime(90_000);
    await expect(rejoin.runRejoin(clients, request(), config, rt)).rejects.toThrow(
      /^INCOMPLETE: database: haweb-prod-east is still resynchronising \(.*synchronization pending-resync.*\); run rejoin again to keep waiting \(done: cache, files\)$/,
    );
    expect(rt.now()).toBeLessThanOrEqual(rt.deadline);
  });

  test('refuses when the target is not the active region (the writer and PRIMARY are elsewhere)', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ writer: EAST }));
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'PRIMARY', status: 'associated' }, 'available', 'SECONDARY'));
    await expect(
      rejoin.runRejoin(clients, request({ components: ['database', 'cache'] }), config, fakeRuntime()),
    ).rejects.toThrow(
      /^REFUSED: us-east-1 cannot rejoin yet: database: the writer is haweb-prod-east \(us-east-1\), not haweb-prod-west \(us-west-2\): us-west-2 is not the active region.*; cache: the PRIMARY of ldgnf-haweb-prod-sessions is haweb-prod-east-cache \(us-east-1\)/,
    );
    expect(mutatingCalls()).toEqual(NO_MUTATION);
  });

  test('refuses a detached old cluster and a group that left the datastore, with the fix, but still reverses files', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ east: 'absent' }));
    eastCluster('available');
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(datastore('absent', 'primary-only'));
    files(false);
    const error = await rejoin.runRejoin(clients, request(), config, fakeRuntime()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^REFUSED: us-east-1 cannot rejoin yet: /);
    expect(message).toContain('haweb-prod-east (us-east-1) exists but is not a member of haweb-prod-global (detached)');
    expect(message).toContain('redeploy the us-east-1 data stack');
    expect(message).toContain('ldgnf-haweb-prod-sessions has no member in us-east-1');
    expect(message).toMatch(/\(done: files\)$/);
    expect(efs.commandCalls(CreateReplicationConfigurationCommand)).toHaveLength(1);
  });

  test('a deleted old cluster: refused with "does not exist yet"', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ east: 'absent' }));
    rds
      .on(DescribeDBClustersCommand)
      .rejects(new DBClusterNotFoundFault({ message: 'DBCluster haweb-prod-east not found', $metadata: {} }));
    await expect(
      rejoin.runRejoin(clients, request({ components: ['database'] }), config, fakeRuntime()),
    ).rejects.toThrow(/haweb-prod-east \(us-east-1\) does not exist yet/);
  });

  test('refuses two PRIMARY members', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'PRIMARY', status: 'associated' }));
    await expect(rejoin.runRejoin(clients, request({ components: ['cache'] }), config, fakeRuntime())).rejects.toThrow(
      /reports more than one PRIMARY/,
    );
  });

  test('files: refuses to overwrite the old file system without allowOverwriteDestination', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(READY_CACHE);
    files(false, 'ENABLED');
    await expect(rejoin.runRejoin(clients, request({ components: ['files'] }), config, fakeRuntime())).rejects.toThrow(
      /REFUSED: us-east-1 cannot rejoin yet: files: destination .* ReplicationOverwriteProtection ENABLED/,
    );
    expect(mutatingCalls()).toEqual(NO_MUTATION);
  });

  test('a read still throttled after the SDK client retried it fails the run; the function does not read again', async () => {
    rds.on(DescribeGlobalClustersCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves(globalCluster({}));
    eastCluster('available');
    const rt = fakeRuntime();
    await expect(rejoin.runRejoin(clients, request({ components: ['database'] }), config, rt)).rejects.toThrow(
      'Rate exceeded',
    );
    expect(rds.commandCalls(DescribeGlobalClustersCommand)).toHaveLength(1);
    expect(rt.sleeps).toEqual([]);
  });

  test("RDS's GlobalClusterNotFoundFault and ElastiCache's GlobalReplicationGroupNotFoundFault are refusals", async () => {
    rds
      .on(DescribeGlobalClustersCommand)
      .rejects(new GlobalClusterNotFoundFault({ message: 'GlobalCluster not found', $metadata: {} }));
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .rejects(new GlobalReplicationGroupNotFoundFault({ message: 'GlobalReplicationGroup not found', $metadata: {} }));
    await expect(
      rejoin.runRejoin(clients, request({ components: ['database', 'cache'] }), config, fakeRuntime()),
    ).rejects.toThrow(
      'REFUSED: us-east-1 cannot rejoin yet: database: global cluster haweb-prod-global was not found from us-west-2.; ' +
        'cache: Global Datastore ldgnf-haweb-prod-sessions was not found from us-west-2.',
    );
  });

  test('reads the global cluster through the paginator: a result on a second page is found', async () => {
    const markers: (string | undefined)[] = [];
    rds.on(DescribeGlobalClustersCommand).callsFake((input: DescribeGlobalClustersMessage) => {
      markers.push(input.Marker);
      return input.Marker === 'page-2' ? globalCluster({}) : { GlobalClusters: [], Marker: 'page-2' };
    });
    eastCluster('available');
    const result = await rejoin.runRejoin(clients, request({ components: ['database'] }), config, fakeRuntime());
    expect(result.actions).toEqual([
      'database: haweb-prod-east (us-east-1) is a connected secondary of haweb-prod-west; nothing to do',
    ]);
    expect(markers).toEqual([undefined, 'page-2']);
  });

  test("handler: clients in the active and the rejoining region, each with the functions' SDK retry settings", async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
    eastCluster('available');
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(READY_CACHE);
    files(false, 'DISABLED');
    const result = await rejoin.handler({ targetRegion: WEST });
    expect(result).toMatchObject({ targetRegion: WEST, sourceRegion: EAST, changed: true });
    const efsCall = (fileSystemId: string) =>
      efs.commandCalls(DescribeFileSystemsCommand).find((c) => c.args[0].input.FileSystemId === fileSystemId)!;
    const used: [unknown, string][] = [
      [rds.commandCalls(DescribeGlobalClustersCommand)[0]!.thisValue, WEST],
      [rds.commandCalls(DescribeDBClustersCommand)[0]!.thisValue, EAST],
      [elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand)[0]!.thisValue, WEST],
      [efsCall(WEST_FS).thisValue, WEST],
      [efsCall(EAST_FS).thisValue, EAST],
    ];
    for (const [client, region] of used) {
      expect(await (client as RDSClient).config.region()).toBe(region);
      expect(await retrySettings(client)).toEqual(SDK_RETRY);
    }
  });

  test('dry run: reads only, waits for nothing, reports what it would do', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ east: 'pending-resync' }));
    eastCluster('available');
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'SECONDARY', status: 'associating' }));
    files(false, 'ENABLED');
    const rt = fakeRuntime();
    const result = await rejoin.runRejoin(clients, request({ allowOverwriteDestination: true }, true), config, rt);
    expect(result).toMatchObject({ dryRun: true, changed: false });
    expect(rt.sleeps).toEqual([]);
    expect(mutatingCalls()).toEqual(NO_MUTATION);
    expect(result.actions).toEqual([
      'database: DRY RUN: would wait up to 600 s for haweb-prod-east to be connected and available',
      'cache: DRY RUN: would wait up to 600 s for haweb-prod-east-cache to be an associated SECONDARY',
      expect.stringMatching(/^files: DRY RUN: would call UpdateFileSystemProtection/),
      expect.stringMatching(/^files: DRY RUN: would call CreateReplicationConfiguration/),
    ]);
  });

  test('components limits the work to those named (files still checks which region is active)', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ east: 'pending-resync' }));
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'SECONDARY', status: 'associating' }));
    files(true);
    const rt = fakeRuntime();
    const result = await rejoin.runRejoin(clients, request({ components: ['files'] }), config, rt);
    expect(Object.keys(result.checks!)).toEqual(['files']);
    expect(rt.sleeps).toEqual([]);
    expect(rds.commandCalls(DescribeDBClustersCommand)).toHaveLength(0);
  });

  test('files never overwrite the active region: a target that is not active is refused before any EFS change', async () => {
    // After a switchover to west, an operator runs rejoin naming east with --only files by mistake.
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves(READY_CACHE);
    files(false, 'DISABLED');
    const eastNamed = parseSwitchEvent(
      { targetRegion: EAST, components: ['files'], allowOverwriteDestination: true },
      config.regions.names,
      false,
    );
    await expect(rejoin.runRejoin(clients, eastNamed, config, fakeRuntime())).rejects.toThrow(
      /^REFUSED: us-west-2 cannot rejoin yet: files: the Aurora writer is haweb-prod-west \(us-west-2\), not haweb-prod-east \(us-east-1\): us-east-1 is not the active region, and replicating its files would overwrite the active region's/,
    );
    expect(mutatingCalls()).toEqual(NO_MUTATION);
  });

  test('files: refused when the Global Datastore PRIMARY is not in the target either', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'PRIMARY', status: 'associated' }, 'available', 'SECONDARY'));
    files(false, 'DISABLED');
    await expect(rejoin.runRejoin(clients, request({ components: ['files'] }), config, fakeRuntime())).rejects.toThrow(
      /files: the Global Datastore PRIMARY is haweb-prod-east-cache \(us-east-1\), not haweb-prod-west-cache/,
    );
    expect(mutatingCalls()).toEqual(NO_MUTATION);
  });

  test('cache: a datastore without any PRIMARY is refused', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves(datastore({ role: 'SECONDARY', status: 'associated' }, 'available', 'SECONDARY'));
    await expect(rejoin.runRejoin(clients, request({ components: ['cache'] }), config, fakeRuntime())).rejects.toThrow(
      /reports no PRIMARY/,
    );
  });

  test.each([[[]], [['database', 'dns']], ['files'], [[1]]])('components %j is an invalid event', (components) => {
    expect(() => rejoin.rejoinOptions({ components }, rejoin.COMPONENTS)).toThrow(
      /^Invalid event: components must be a non-empty list/,
    );
  });

  test('allowOverwriteDestination must be a boolean', () => {
    expect(() => rejoin.rejoinOptions({ allowOverwriteDestination: 'yes' }, rejoin.COMPONENTS)).toThrow(
      /allowOverwriteDestination must be true or false/,
    );
  });

  test('components defaults to those the environment has, and may name only those', () => {
    expect(rejoin.rejoinOptions({}, ['database', 'files']).components).toEqual(['database', 'files']);
    expect(rejoin.rejoinOptions({}, []).components).toEqual([]);
    expect(rejoin.rejoinOptions({ components: ['files', 'database'] }, ['database', 'files']).components).toEqual([
      'database',
      'files',
    ]);
    expect(() => rejoin.rejoinOptions({ components: ['cache', 'files'] }, ['database', 'files'])).toThrow(
      'Invalid event: components names cache, which this environment does not have (it has database and files); ' +
        'leave it out, or omit components to rejoin everything it has.',
    );
    expect(() => rejoin.rejoinOptions({ components: ['database', 'cache'] }, ['files'])).toThrow(
      'Invalid event: components names database and cache, which this environment does not have (it has files); ' +
        'leave them out',
    );
    expect(() => rejoin.rejoinOptions({ components: ['files'] }, [])).toThrow('(it has no database, cache or files)');
  });

  test('its configuration refuses a component given in part', () => {
    const regions = JSON.parse(VALID_ENV.REGIONS!);
    delete regions[EAST].cacheReplicationGroupId;
    expect(() => rejoin.loadRejoinConfig({ ...VALID_ENV, REGIONS: JSON.stringify(regions) })).toThrow(ConfigError);
    expect(() => rejoin.loadRejoinConfig({ ...VALID_ENV, REGIONS: JSON.stringify(regions) })).toThrow(
      'GLOBAL_DATASTORE_ID is set (the environment has a cache) but REGIONS["us-east-1"].cacheReplicationGroupId is ' +
        'missing',
    );
    expect(() => rejoin.loadRejoinConfig({ ...VALID_ENV, GLOBAL_CLUSTER_IDENTIFIER: '' })).toThrow(
      'REGIONS["us-east-1"].dbClusterIdentifier and REGIONS["us-west-2"].dbClusterIdentifier are set but ' +
        'GLOBAL_CLUSTER_IDENTIFIER is not',
    );
    const oneFs = JSON.parse(VALID_ENV.REGIONS!);
    delete oneFs[WEST].fileSystemId;
    expect(() => rejoin.loadRejoinConfig({ ...VALID_ENV, REGIONS: JSON.stringify(oneFs) })).toThrow(
      'REGIONS["us-east-1"].fileSystemId is set but REGIONS["us-west-2"].fileSystemId is not',
    );
  });

  describe('an environment without some data components', () => {
    test('without a cache: the default is database and files, and the cache is never read', async () => {
      const noCache = rejoin.loadRejoinConfig(envWithout('cache'));
      rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({}));
      eastCluster('available');
      files(true);
      const result = await rejoin.runRejoin(clients, request(), noCache, fakeRuntime());
      expect(Object.keys(result.checks!)).toEqual(['database', 'files']);
      expect(elasticache.calls()).toHaveLength(0);
      expect(result.actions).toEqual([
        'database: haweb-prod-east (us-east-1) is a connected secondary of haweb-prod-west; nothing to do',
        `files: ${WEST_FS} already replicates to ${EAST_FS} (us-east-1); nothing to do`,
      ]);
    });

    test('without a cache: asking for it is an invalid event, before any call', async () => {
      const noCache = rejoin.loadRejoinConfig(envWithout('cache'));
      await expect(
        rejoin.runRejoin(clients, request({ components: ['cache', 'files'] }), noCache, fakeRuntime()),
      ).rejects.toThrow(
        'Invalid event: components names cache, which this environment does not have (it has database and files)',
      );
      expect(allCalls()).toBe(0);
    });

    test('without a cache, files still refuse a target that does not hold the Aurora writer', async () => {
      const noCache = rejoin.loadRejoinConfig(envWithout('cache'));
      rds.on(DescribeGlobalClustersCommand).resolves(globalCluster({ writer: EAST }));
      files(false, 'DISABLED');
      await expect(
        rejoin.runRejoin(clients, request({ components: ['files'] }), noCache, fakeRuntime()),
      ).rejects.toThrow(
        /^REFUSED: us-east-1 cannot rejoin yet: files: the Aurora writer is haweb-prod-east \(us-east-1\)/,
      );
      expect(mutatingCalls()).toEqual(NO_MUTATION);
    });

    test('without a database, files confirm the active region by the Global Datastore PRIMARY alone', async () => {
      const noDatabase = rejoin.loadRejoinConfig(envWithout('database'));
      elasticache
        .on(DescribeGlobalReplicationGroupsCommand)
        .resolves(datastore({ role: 'PRIMARY', status: 'associated' }, 'available', 'SECONDARY'));
      files(false, 'DISABLED');
      await expect(
        rejoin.runRejoin(clients, request({ components: ['files'] }), noDatabase, fakeRuntime()),
      ).rejects.toThrow(/files: the Global Datastore PRIMARY is haweb-prod-east-cache \(us-east-1\)/);
      expect(rds.calls()).toHaveLength(0);
      expect(mutatingCalls()).toEqual(NO_MUTATION);
    });

    test('files only: nothing to confirm the active region by, so the reversal runs and the actions say so', async () => {
      const filesOnly = rejoin.loadRejoinConfig(envWithout('database', 'cache'));
      files(false, 'DISABLED');
      const result = await rejoin.runRejoin(clients, request(), filesOnly, fakeRuntime());
      expect(Object.keys(result.checks!)).toEqual(['files']);
      expect(rds.calls()).toHaveLength(0);
      expect(elasticache.calls()).toHaveLength(0);
      expect(result.changed).toBe(true);
      expect(result.actions).toEqual([
        'files: The environment has no database or cache to confirm that us-west-2 is the active region by; ' +
          'reversing as asked',
        expect.stringMatching(/^files: Called CreateReplicationConfiguration/),
      ]);
    });

    test('no data component at all: nothing to rejoin, nothing called', async () => {
      const none = rejoin.loadRejoinConfig(envWithout('database', 'cache', 'files'));
      const result = await rejoin.runRejoin(clients, request(), none, fakeRuntime());
      expect(result).toMatchObject({ changed: false, checks: {} });
      expect(result.actions).toEqual(['Nothing to rejoin: the environment has no database, cache or files']);
      expect(allCalls()).toBe(0);
    });

    test('handler: an environment without a database rejects a request for it', async () => {
      const loaded = loadWithEnv<typeof rejoin>('../../lambda/rejoin', envWithout('database'));
      await expect(loaded.handler({ targetRegion: WEST, components: ['database'] })).rejects.toThrow(
        'Invalid event: components names database, which this environment does not have (it has cache and files)',
      );
    });
  });

  test('clusterOfArn reads the region and identifier of a cluster ARN', () => {
    expect(rejoin.clusterOfArn(ARN(EAST))).toEqual({ region: EAST, id: 'haweb-prod-east' });
  });
});
