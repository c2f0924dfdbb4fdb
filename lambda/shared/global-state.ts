/**
 * The one reader of the state of the global resources that both the region switch functions and the operator CLI
 * (`cli/status.ts`, `cli/live-state.ts`) judge: the ElastiCache Global Datastore's members and roles, and the
 * latest datapoint of a CloudWatch metric, of which a Route 53 health check's status. Each takes its SDK client, so
 * the functions hand in theirs (`./sdk.ts`) and the CLI its own (`cli/clients.ts`); every list is read through the
 * SDK's paginator.
 */
import { paginateGetMetricData, ScanBy, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  GlobalReplicationGroupNotFoundFault,
  paginateDescribeGlobalReplicationGroups,
  type ElastiCacheClient,
  type GlobalReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { HEALTH_CHECK_STATUS, type MetricName } from '../../contract';
import { firstItem } from './sdk';

/** A member of a Global Datastore: one region's replication group. */
export interface DatastoreMember {
  /** ID of the replication group (`?` when AWS does not say). */
  readonly replicationGroupId: string;
  /** Its region (`?` when AWS does not say). */
  readonly region: string;
  /** Its role, upper case: `PRIMARY` or `SECONDARY` (`UNKNOWN` when AWS does not say). */
  readonly role: string;
  /** Its status in the datastore, for example `associated` (`unknown` when AWS does not say). */
  readonly status: string;
}

/** A Global Datastore and its members. */
export interface GlobalDatastoreState {
  /** Its full ID (the prefix AWS assigns and the suffix the app fixes). */
  readonly id: string;
  /** Its status, for example `available`, `modifying`, `primary-only`. */
  readonly status: string;
  /** Its members. */
  readonly members: readonly DatastoreMember[];
}

/**
 * Which Global Datastore to read: by its full ID (the functions, from `GLOBAL_DATASTORE_ID`), or by the suffix the
 * app fixes (the CLI, which finds it without the prefix AWS assigns: the first whose ID is the suffix or ends with
 * `-<suffix>`).
 */
export type DatastoreQuery = { readonly id: string } | { readonly suffix: string };

/** The members that are PRIMARY (one, unless a failover left the datastore split or none is). */
export function primaries(state: GlobalDatastoreState): DatastoreMember[] {
  return state.members.filter((m) => m.role === 'PRIMARY');
}

/** The member in `region`, if any. */
export function memberIn(state: GlobalDatastoreState, region: string): DatastoreMember | undefined {
  return state.members.find((m) => m.region === region);
}

/** `members` as a list for messages: `g1 (us-east-1), g2 (us-west-2)`, or `none`. */
export function describeMembers(members: readonly DatastoreMember[]): string {
  return members.map((m) => `${m.replicationGroupId} (${m.region})`).join(', ') || 'none';
}

function stateOf(group: GlobalReplicationGroup, id: string): GlobalDatastoreState {
  return {
    id: group.GlobalReplicationGroupId ?? id,
    status: group.Status ?? 'unknown',
    members: (group.Members ?? []).map((m) => ({
      replicationGroupId: m.ReplicationGroupId ?? '?',
      region: m.ReplicationGroupRegion ?? '?',
      role: (m.Role ?? 'unknown').toUpperCase(),
      status: m.Status ?? 'unknown',
    })),
  };
}

/**
 * The Global Datastore with its members (`DescribeGlobalReplicationGroups` with `ShowMemberInfo`, every page), or
 * undefined when it does not exist (`GlobalReplicationGroupNotFoundFault`, or no datastore with the suffix).
 * @throws the SDK's error for anything else (after the client's retries).
 */
export async function readGlobalDatastore(
  elasticache: ElastiCacheClient,
  query: DatastoreQuery,
): Promise<GlobalDatastoreState | undefined> {
  const byId = 'id' in query;
  const wanted = byId ? query.id : query.suffix;
  const matches = (g: GlobalReplicationGroup) =>
    byId || g.GlobalReplicationGroupId === wanted || g.GlobalReplicationGroupId?.endsWith(`-${wanted}`) === true;
  const group = await firstItem(
    paginateDescribeGlobalReplicationGroups(
      { client: elasticache },
      { ShowMemberInfo: true, ...(byId ? { GlobalReplicationGroupId: wanted } : {}) },
    ),
    (page) => page.GlobalReplicationGroups,
    matches,
    GlobalReplicationGroupNotFoundFault,
  );
  return group && stateOf(group, wanted);
}

/** A metric's datapoint. */
export interface Datapoint {
  /** Its value. */
  readonly value: number;
  /** Its time. */
  readonly at: Date;
}

/** Which datapoints of a metric {@link latestDatapoint} considers. */
export interface MetricWindow {
  /** The end of the window. */
  readonly end: Date;
  /** How far back from `end` it looks, in milliseconds. */
  readonly lookbackMs: number;
  /** The statistic of each 60-second period. */
  readonly statistic: 'Minimum' | 'Maximum' | 'Average';
}

/**
 * The latest datapoint of `metric` with the dimension value `dimensionValue` in `window` (`GetMetricData`, periods of
 * 60 s, every page), or undefined when there is none.
 */
export async function latestDatapoint(
  cloudwatch: CloudWatchClient,
  metric: MetricName,
  dimensionValue: string,
  window: MetricWindow,
): Promise<Datapoint | undefined> {
  const pages = paginateGetMetricData(
    { client: cloudwatch },
    {
      StartTime: new Date(window.end.getTime() - window.lookbackMs),
      EndTime: window.end,
      ScanBy: ScanBy.TIMESTAMP_DESCENDING,
      MetricDataQueries: [
        {
          Id: 'latest',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: metric.namespace,
              MetricName: metric.metricName,
              Dimensions: [{ Name: metric.dimension, Value: dimensionValue }],
            },
            Period: 60,
            Stat: window.statistic,
          },
        },
      ],
    },
  );
  let best: Datapoint | undefined;
  for await (const page of pages) {
    for (const result of page.MetricDataResults ?? []) {
      const stamps = result.Timestamps ?? [];
      (result.Values ?? []).forEach((value, i) => {
        const at = stamps[i];
        if (at && (!best || at.getTime() > best.at.getTime())) best = { value, at };
      });
    }
  }
  return best;
}

/** A Route 53 health check's status from its latest datapoint. */
export interface HealthCheckState {
  /** The health check's ID. */
  readonly healthCheckId: string;
  /** `healthy` (1), `unhealthy` (0) or `unknown` (no datapoint in the window). */
  readonly status: 'healthy' | 'unhealthy' | 'unknown';
  /** Time of the datapoint. */
  readonly at?: Date;
}

/**
 * The status of a Route 53 health check: the latest `HealthCheckStatus` datapoint (the Minimum of each minute) of the
 * last `lookbackMs` before `end`. `cloudwatch` must be a client of `ROUTE53_METRICS_REGION`, the only region Route 53
 * publishes these metrics in.
 */
export async function readHealthCheck(
  cloudwatch: CloudWatchClient,
  healthCheckId: string,
  end: Date,
  lookbackMs: number,
): Promise<HealthCheckState> {
  const point = await latestDatapoint(cloudwatch, HEALTH_CHECK_STATUS, healthCheckId, {
    end,
    lookbackMs,
    statistic: 'Minimum',
  });
  if (!point) return { healthCheckId, status: 'unknown' };
  return { healthCheckId, status: point.value >= 1 ? 'healthy' : 'unhealthy', at: point.at };
}
