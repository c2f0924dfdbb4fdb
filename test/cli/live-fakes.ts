/**
 * Stand-ins for the live environment of `staging` that check-deploy reads: deployed stacks (template, status,
 * outputs), the data tier's roles and the Region switch plan, through aws-sdk-client-mock and a fake ARC client.
 */
import { DescribeStacksCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DescribeReplicationConfigurationsCommand } from '@aws-sdk/client-efs';
import { DescribeGlobalReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { ArcRegionSwitchApi, ExecutionSummary, PlanSummary } from '../../cli/arc-region-switch-client';
import { Template } from '../../cli/check-deploy';
import { RegionClients } from '../../cli/status';
import { staging } from '../../lib/config/environments';
import { regionClients, stackDoesNotExist } from './fakes';

/** staging's regions: eu-west-1 (created as primary), eu-central-1. */
export const [P, S] = [staging.primary.region, staging.secondary.region];
export const ACCOUNT = staging.account;
/** The live file systems (the Storage stacks' FileSystemId outputs). */
export const FS: Record<string, string> = { [P]: 'fs-0123456789abcdef0', [S]: 'fs-0fedcba9876543210' };
const clusterArn = (region: string) => `arn:aws:rds:${region}:${ACCOUNT}:cluster:haweb-staging-aurora`;

export interface Live {
  /** Deployed templates by stack name (missing: the stack does not exist, unless it has outputs below). */
  readonly deployed: Record<string, Template>;
  /** Region of the Aurora writer. */
  readonly writer: string;
  /** A managed switchover of the global cluster in progress (`FailoverState.Status`). */
  readonly failoverStatus?: string;
  /** Engine version of each region's cluster (missing region: the call fails). */
  readonly versions?: Record<string, string>;
  /** Region of the Global Datastore primary. */
  readonly cachePrimary: string;
  /** Region of the EFS replication source, or none. */
  readonly filesSource: string | 'none';
  /** Stack status by name (default UPDATE_COMPLETE). */
  readonly status?: Record<string, string>;
  /** Regions whose APIs fail with a network error. */
  readonly down?: readonly string[];
}

/** The live Global Datastore (the primary Data stack's GlobalDatastoreId output). */
export const GDS = 'gxeiz-haweb-staging-sessions';

/** Outputs of the stacks that have some: the Storage stacks' file systems, the primary Data stack's datastore. */
export function outputsOf(stackName: string): Record<string, string> {
  const region = stackName.split('-').slice(-3).join('-');
  if (stackName.includes('-Storage-')) return { FileSystemId: FS[region]! };
  if (stackName === `HaWeb-staging-Data-${P}`) return { GlobalDatastoreId: GDS };
  return {};
}

/** The mocks behind each {@link liveClients} function, for {@link liveCalls}. */
const MOCKS = new WeakMap<(region: string) => RegionClients, { client: string; mock: { calls(): unknown[] } }[]>();

/**
 * Every call the clients of {@link liveClients} answered, client by client: `<client> <Command>` and, for
 * CloudFormation, the stack name (`cloudformation DescribeStacksCommand HaWeb-staging-App-eu-west-1`).
 */
export function liveCalls(clients: (region: string) => RegionClients): string[] {
  return (MOCKS.get(clients) ?? []).flatMap(({ client, mock }) =>
    mock.calls().map((call) => {
      const command = (call as { args: [{ constructor: { name: string }; input: { StackName?: string } }] }).args[0];
      return [client, command.constructor.name, command.input.StackName].filter(Boolean).join(' ');
    }),
  );
}

/** SDK clients of both regions answering as `live` describes. */
export function liveClients(live: Live): (region: string) => RegionClients {
  const byRegion = new Map<string, RegionClients>();
  const mocks: { client: string; mock: { calls(): unknown[] } }[] = [];
  for (const region of [P, S]) {
    const clients = regionClients(region);
    byRegion.set(region, clients);
    const cfn = mockClient(clients.cloudformation);
    const rds = mockClient(clients.rds);
    const ec = mockClient(clients.elasticache);
    const efs = mockClient(clients.efs);
    mocks.push(
      { client: 'cloudformation', mock: cfn },
      { client: 'rds', mock: rds },
      { client: 'elasticache', mock: ec },
      { client: 'efs', mock: efs },
    );
    if (live.down?.includes(region)) {
      const down = Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
      cfn.onAnyCommand().rejects(down);
      rds.onAnyCommand().rejects(down);
      ec.onAnyCommand().rejects(down);
      efs.onAnyCommand().rejects(down);
      continue;
    }
    const exists = (name: string) => name in live.deployed || Object.keys(outputsOf(name)).length > 0;
    cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      if (!exists(input.StackName)) throw stackDoesNotExist(input.StackName);
      return {
        Stacks: [
          {
            StackName: input.StackName,
            CreationTime: new Date(),
            StackStatus: live.status?.[input.StackName] ?? 'UPDATE_COMPLETE',
            Outputs: Object.entries(outputsOf(input.StackName)).map(([OutputKey, OutputValue]) => ({
              OutputKey,
              OutputValue,
            })),
          },
        ],
      };
    });
    cfn.on(GetTemplateCommand).callsFake((input: { StackName: string }) => {
      if (!exists(input.StackName)) throw stackDoesNotExist(input.StackName);
      return { TemplateBody: JSON.stringify(live.deployed[input.StackName] ?? {}) };
    });
    rds.on(DescribeGlobalClustersCommand).resolves({
      GlobalClusters: [
        {
          EngineVersion: '16.6',
          FailoverState: live.failoverStatus
            ? {
                Status: live.failoverStatus as 'pending',
                FromDbClusterArn: clusterArn(P),
                ToDbClusterArn: clusterArn(S),
              }
            : undefined,
          GlobalClusterMembers: [
            { DBClusterArn: clusterArn(P), IsWriter: live.writer === P },
            { DBClusterArn: clusterArn(S), IsWriter: live.writer === S },
          ],
        },
      ],
    });
    const version = (live.versions ?? { [P]: '16.6', [S]: '16.6' })[region];
    if (version) rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ EngineVersion: version }] });
    else rds.on(DescribeDBClustersCommand).rejects(new Error('AccessDenied'));
    ec.on(DescribeGlobalReplicationGroupsCommand).resolves({
      GlobalReplicationGroups: [
        {
          GlobalReplicationGroupId: GDS,
          Status: 'available',
          Members: [
            { ReplicationGroupRegion: P, Role: live.cachePrimary === P ? 'PRIMARY' : 'SECONDARY' },
            { ReplicationGroupRegion: S, Role: live.cachePrimary === S ? 'PRIMARY' : 'SECONDARY' },
          ],
        },
      ],
    });
    efs.on(DescribeReplicationConfigurationsCommand).resolves({
      Replications:
        live.filesSource === 'none'
          ? []
          : [
              {
                SourceFileSystemId: FS[live.filesSource],
                SourceFileSystemRegion: live.filesSource,
                SourceFileSystemArn: 'arn',
                OriginalSourceFileSystemArn: 'arn',
                CreationTime: new Date(),
                Destinations: [{ Status: 'ENABLED', FileSystemId: 'fs-x', Region: 'r' }],
              },
            ],
    });
  }
  const clients = (region: string) => byRegion.get(region)!;
  MOCKS.set(clients, mocks);
  return clients;
}

/** A Region switch API whose plan has `activePlanExecution` when given. */
/** Executions of the plan: a completed switchover to the secondary an hour ago, unless a test says otherwise. */
export const PAST: ExecutionSummary[] = [
  {
    executionId: 'exec-1',
    executionState: 'completed',
    executionAction: 'activate',
    executionRegion: P,
    startTime: 1000,
  },
  {
    executionId: 'exec-2',
    executionState: 'completed',
    executionAction: 'activate',
    executionRegion: S,
    startTime: 2000,
  },
];

export function arcWith(
  activePlanExecution?: string,
  executions: readonly ExecutionSummary[] = PAST,
): ArcRegionSwitchApi {
  const plan: PlanSummary = {
    arn: `arn:aws:arc-region-switch::${ACCOUNT}:plan/haweb-staging:abc`,
    name: 'haweb-staging',
    owner: ACCOUNT,
    regions: [P, S],
    recoveryApproach: 'activePassive',
    primaryRegion: P,
    activePlanExecution,
  };
  const unused = async () => {
    throw new Error('unexpected call');
  };
  return {
    listPlansInRegion: async () => ({ plans: [plan] }),
    startPlanExecution: unused,
    getPlanExecution: unused,
    listPlanExecutionEvents: unused,
    // Two pages, the later execution on the first: check-deploy must read them all and take the latest start.
    listPlanExecutions: async (_region, input) =>
      input.nextToken
        ? { items: executions.slice(0, 1) }
        : { items: executions.slice(1), nextToken: executions.length > 1 ? 'page-2' : undefined },
  };
}
