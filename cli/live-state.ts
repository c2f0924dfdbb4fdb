/**
 * What `check-deploy` and `record-ids` read of the live data tier: its roles and state, each from whichever region
 * answers (the deployed stacks they read are in `cloudformation.ts`).
 */
import { paginateDescribeReplicationConfigurations, ReplicationNotFound } from '@aws-sdk/client-efs';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { regionSwitchPlanName } from '../contract';
import { primaries, readGlobalDatastore } from '../lambda/shared/global-state';
import { firstItem } from '../lambda/shared/sdk';
import { EnvironmentConfig, hasDataComponent } from '../lib/config';
import { physicalNames } from '../lib/names';
import { ArcRegionSwitchApi, ExecutionSummary } from './arc-region-switch-client';
import { NotInEnvironment, notInEnvironment } from './components';
import { RegionClients } from './status';
import { findPlan } from './switch';

/** What the live reads go through. */
export interface LiveDeps {
  /** The SDK clients of a region. */
  readonly clients: (region: string) => RegionClients;
  /** The Region switch API. */
  readonly arc: ArcRegionSwitchApi;
}

/** A role read from whichever region answered, or why it could not be read. */
export type Read<T> = { readonly value: T } | { readonly error: string };

/** The live role of a data component: read, not read, or `{ inEnvironment: false }` when it does not exist. */
export type Role = Read<string> | NotInEnvironment;

/** The live state of the data tier; only the components the environment has are read. */
export interface LiveRoles {
  /** Region whose Aurora cluster is the writer of the global cluster. */
  readonly databaseWriter: Role;
  /** A managed switchover or failover of the global cluster in progress (`FailoverState`), if any. */
  readonly databaseFailover?: string;
  /** Engine version of each region's Aurora cluster, where it was read (none without a database). */
  readonly databaseVersions: Readonly<Record<string, string>>;
  /** Region of the Global Datastore's primary member. */
  readonly cachePrimary: Role;
  /** Status of the Global Datastore (`available` when nothing is changing). */
  readonly cacheStatus?: string;
  /** Region of the EFS replication source; `none` when the file systems do not replicate. */
  readonly filesSource: Role;
  /** Status of the EFS replication (`ENABLED` when it runs), if there is one. */
  readonly filesStatus?: string;
  /**
   * A plan execution in progress: `{ value: executionId }`; `{ value: null }` when none; `{ error }` when the plan
   * could not be read. Undefined when the environment has no Region switch plan.
   */
  readonly switchInProgress?: Read<string | null>;
  /**
   * The plan's most recent execution (`ListPlanExecutions`, latest `startTime`), or null when it never ran.
   * Undefined when the environment has no plan or the executions could not be read.
   */
  readonly lastExecution?: ExecutionSummary | null;
  /** Regions whose APIs could not be reached, with the error. */
  readonly unreachable: Readonly<Record<string, string>>;
}

/** An error's message. */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first region whose `read` succeeds, or the errors of both. */
async function fromEither<T>(regions: readonly string[], read: (region: string) => Promise<T>): Promise<Read<T>> {
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
 * Reads the live state of the data tier from whichever region answers: the Aurora writer and any managed
 * switchover or failover in progress (`DescribeGlobalClusters`), each cluster's engine version
 * (`DescribeDBClusters`), the Global Datastore primary and status (`DescribeGlobalReplicationGroups`), the EFS
 * replication source and status (`DescribeReplicationConfigurations` of `fileSystemIds`) and the plan's
 * execution in progress (`ListPlansInRegion`'s `activePlanExecution`). A component the environment does not
 * have is not read: its role is `{ inEnvironment: false, note }`.
 */
export async function readLiveRoles(
  config: EnvironmentConfig,
  deps: LiveDeps,
  fileSystemIds: Readonly<Record<string, string>>,
): Promise<LiveRoles> {
  const names = physicalNames(config);
  const regions = [config.primary.region, config.secondary.region];
  const unreachable: Record<string, string> = {};

  const readGlobalCluster = () =>
    fromEither(regions, async (region) => {
      const out = await deps
        .clients(region)
        .rds.send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: names.globalClusterIdentifier }));
      const cluster = out.GlobalClusters?.[0];
      const writer = regionOfArn(cluster?.GlobalClusterMembers?.find((m) => m.IsWriter)?.DBClusterArn);
      if (!writer) throw new Error(`global cluster ${names.globalClusterIdentifier} has no writer`);
      const f = cluster?.FailoverState;
      const failover = f?.Status
        ? `${f.Status} from ${regionOfArn(f.FromDbClusterArn) ?? '?'} to ${regionOfArn(f.ToDbClusterArn) ?? '?'}`
        : undefined;
      return { writer, failover };
    });
  const readVersions = async () => {
    const versions: Record<string, string> = {};
    await Promise.all(
      regions.map(async (region) => {
        try {
          const out = await deps
            .clients(region)
            .rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: names.databaseClusterIdentifier }));
          const version = out.DBClusters?.[0]?.EngineVersion;
          if (version) versions[region] = version;
        } catch (err) {
          unreachable[region] = message(err);
        }
      }),
    );
    return versions;
  };
  const readCache = () =>
    fromEither(regions, async (region) => {
      const datastore = await readGlobalDatastore(deps.clients(region).elasticache, {
        suffix: names.globalDatastoreSuffix,
      });
      if (!datastore) throw new Error(`no Global Datastore whose ID ends with ${names.globalDatastoreSuffix}`);
      const primary = primaries(datastore)[0]?.region;
      if (!primary) throw new Error(`Global Datastore ${datastore.id} has no primary member`);
      return { primary, status: datastore.status };
    });
  const readFiles = () =>
    fromEither(regions, async (region) => {
      const id = fileSystemIds[region];
      if (!id) throw new Error(`the file system ID of ${region} is unknown`);
      const replication = await firstItem(
        paginateDescribeReplicationConfigurations({ client: deps.clients(region).efs }, { FileSystemId: id }),
        (page) => page.Replications,
        () => true,
        ReplicationNotFound,
      );
      if (!replication) return { source: 'none' };
      return { source: replication.SourceFileSystemRegion ?? 'unknown', status: replication.Destinations?.[0]?.Status };
    });

  const [global, databaseVersions, cache, files] = await Promise.all([
    hasDataComponent(config, 'database') ? readGlobalCluster() : undefined,
    hasDataComponent(config, 'database') ? readVersions() : {},
    hasDataComponent(config, 'sessionCache') ? readCache() : undefined,
    hasDataComponent(config, 'sharedFiles') ? readFiles() : undefined,
  ]);

  let switchInProgress: LiveRoles['switchInProgress'];
  let lastExecution: LiveRoles['lastExecution'];
  if (config.regionSwitch.enabled) {
    const plan = await fromEither(regions, async (region) => {
      const found = await findPlan(deps.arc, region, regionSwitchPlanName(config.name));
      return { found, last: await latestExecution(deps.arc, region, found.arn).catch(() => undefined) };
    });
    switchInProgress = 'error' in plan ? plan : { value: plan.value.found.activePlanExecution ?? null };
    lastExecution = 'error' in plan ? undefined : plan.value.last;
  }

  return {
    databaseWriter: !global
      ? notInEnvironment('database')
      : 'value' in global
        ? { value: global.value.writer }
        : global,
    databaseFailover: global && 'value' in global ? global.value.failover : undefined,
    databaseVersions,
    cachePrimary: !cache ? notInEnvironment('sessionCache') : 'value' in cache ? { value: cache.value.primary } : cache,
    cacheStatus: cache && 'value' in cache ? cache.value.status : undefined,
    filesSource: !files ? notInEnvironment('sharedFiles') : 'value' in files ? { value: files.value.source } : files,
    filesStatus: files && 'value' in files ? files.value.status : undefined,
    switchInProgress,
    lastExecution,
    unreachable,
  };
}

/** The plan's execution with the latest start (the API does not document the order of its list). */
async function latestExecution(
  arc: ArcRegionSwitchApi,
  region: string,
  planArn: string,
): Promise<ExecutionSummary | null> {
  let latest: ExecutionSummary | null = null;
  let nextToken: string | undefined;
  do {
    const page = await arc.listPlanExecutions(region, { planArn, maxResults: 100, nextToken });
    for (const e of page.items ?? []) {
      if (!latest || (e.startTime ?? 0) > (latest.startTime ?? 0)) latest = e;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return latest;
}
