/**
 * preflight: before the target region is activated, checks that it can take the load and the writes.
 *
 * Checks, all read-only, all run (a failure does not stop the others):
 * - the target region's app stack outputs (CloudFormation DescribeStacks of REGIONS[target].appStackName):
 *   its target group ARN and health check ID, read now rather than fixed at deploy time, so they are those of
 *   the running stack even after it replaced either; when they cannot be read, the two checks below fail.
 * - targetHealth: the target region's ALB target group has at least one healthy target.
 * - route53HealthCheck: the target region's Route 53 health check is healthy (CloudWatch
 *   AWS/Route53 HealthCheckStatus in us-east-1, Minimum over 60 s, latest datapoint of the last
 *   3 minutes; no datapoint counts as not healthy).
 * - auroraCluster: the target region's Aurora cluster is `available`.
 * - planned mode only: auroraGlobalCluster (no failover or switchover in progress) and
 *   globalDatastore (the ElastiCache Global Datastore is `available`).
 * Any failed check: throws `REFUSED: ...` listing every failed check.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { appStackName, dbClusterIdentifier, ... } (both regions).
 * - GLOBAL_CLUSTER_IDENTIFIER: the Aurora global cluster ID.
 * - GLOBAL_DATASTORE_ID: the full ElastiCache Global Datastore ID.
 * - DRY_RUN (optional, true | false): accepted for uniformity; preflight changes nothing anyway.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, ScanBy, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeGlobalReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  booleanFromEnv,
  globalClusterIdentifier,
  globalDatastoreId,
  parseRegions,
  type Regions,
} from '../shared/config';
import type { Env } from '../shared/env';
import { errorMessage, errorName, refuse } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import {
  defineHandler,
  newResult,
  withRetry,
  type CheckOutcome,
  type Runtime,
  type SwitchResult,
} from '../shared/runtime';
import { APP_OUTPUTS } from '../../lib/stack-outputs';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'preflight';

/** Region of Route 53 health check metrics. */
export const ROUTE53_METRICS_REGION = 'us-east-1';

/** Configuration of preflight. */
export interface PreflightConfig {
  /** The two regions and their resources. */
  readonly regions: Regions;
  /** Aurora global cluster ID. */
  readonly globalClusterIdentifier: string;
  /** ElastiCache Global Datastore ID. */
  readonly globalDatastoreId: string;
  /** DRY_RUN. */
  readonly dryRun: boolean;
}

/** Reads and validates preflight's environment. */
export function loadPreflightConfig(env: Env): PreflightConfig {
  return {
    regions: parseRegions(env.REGIONS, ['appStackName', 'dbClusterIdentifier']),
    globalClusterIdentifier: globalClusterIdentifier(env),
    globalDatastoreId: globalDatastoreId(env),
    dryRun: booleanFromEnv(env, 'DRY_RUN'),
  };
}

/** Clients preflight uses: CloudFormation, ELB, RDS and ElastiCache of the target region; CloudWatch of us-east-1. */
export interface PreflightClients {
  /** CloudFormation in the target region (the app stack's outputs). */
  readonly cloudformation: CloudFormationClient;
  /** ELBv2 in the target region. */
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** CloudWatch in us-east-1 (Route 53 metrics). */
  readonly cloudwatch: CloudWatchClient;
  /** RDS in the target region. */
  readonly rds: RDSClient;
  /** ElastiCache in the target region. */
  readonly elasticache: ElastiCacheClient;
}

/** What preflight reads from the target region's app stack. */
export interface AppStackOutputs {
  /** ARN of the web fleet's target group. */
  readonly targetGroupArn: string;
  /** ID of the region's Route 53 health check. */
  readonly healthCheckId: string;
}

/**
 * The target group ARN and health check ID among the outputs of the region's app stack. Throws, naming the
 * stack and the missing output, when the stack or an output is not there.
 */
export async function readAppStackOutputs(
  cloudformation: CloudFormationClient,
  stackName: string,
  rt: Runtime,
): Promise<AppStackOutputs> {
  const out = await withRetry(rt, 'DescribeStacks', () =>
    cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
  );
  const outputs = new Map((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const value = (key: string): string => {
    const v = outputs.get(key);
    if (!v) throw new Error(`stack ${stackName} has no output ${key}; deploy this version of the app first`);
    return v;
  };
  return { targetGroupArn: value(APP_OUTPUTS.targetGroupArn), healthCheckId: value(APP_OUTPUTS.healthCheckId) };
}

/** Healthy targets of the target group. */
export async function checkTargetHealth(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  rt: Runtime,
): Promise<CheckOutcome> {
  const out = await withRetry(rt, 'DescribeTargetHealth', () =>
    elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
  );
  const targets = out.TargetHealthDescriptions ?? [];
  const healthy = targets.filter((t) => t.TargetHealth?.State === TargetHealthStateEnum.HEALTHY).length;
  return { ok: healthy >= 1, detail: `${healthy} of ${targets.length} targets healthy` };
}

/** The latest value of a GetMetricData result, by timestamp. */
function latest(result: MetricDataResult | undefined): { value: number; at: Date } | undefined {
  const values = result?.Values ?? [];
  const stamps = result?.Timestamps ?? [];
  let best: { value: number; at: Date } | undefined;
  values.forEach((value, i) => {
    const at = stamps[i];
    if (at && (!best || at.getTime() > best.at.getTime())) best = { value, at };
  });
  return best;
}

/** Status of a Route 53 health check from CloudWatch: 1 healthy, 0 unhealthy, no datapoint unknown. */
export async function checkRoute53HealthCheck(
  cloudwatch: CloudWatchClient,
  healthCheckId: string,
  rt: Runtime,
): Promise<CheckOutcome> {
  const end = rt.now();
  const out = await withRetry(rt, 'GetMetricData', () =>
    cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(end - 3 * 60_000),
        EndTime: new Date(end),
        ScanBy: ScanBy.TIMESTAMP_DESCENDING,
        MetricDataQueries: [
          {
            Id: 'status',
            ReturnData: true,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Route53',
                MetricName: 'HealthCheckStatus',
                Dimensions: [{ Name: 'HealthCheckId', Value: healthCheckId }],
              },
              Period: 60,
              Stat: 'Minimum',
            },
          },
        ],
      }),
    ),
  );
  const point = latest(out.MetricDataResults?.find((r) => r.Id === 'status'));
  if (!point) {
    return { ok: false, detail: `health check ${healthCheckId}: no datapoint in the last 3 minutes (unknown)` };
  }
  const healthy = point.value >= 1;
  return {
    ok: healthy,
    detail: `health check ${healthCheckId} ${healthy ? 'healthy' : 'unhealthy'} at ${point.at.toISOString()}`,
  };
}

/** Status of the target region's Aurora cluster. */
export async function checkAuroraCluster(rds: RDSClient, dbClusterIdentifier: string, rt: Runtime) {
  const out = await withRetry(rt, 'DescribeDBClusters', () =>
    rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: dbClusterIdentifier })),
  );
  const status = out.DBClusters?.[0]?.Status ?? 'missing';
  return { ok: status === 'available', detail: `cluster ${dbClusterIdentifier} is ${status}` };
}

/** Whether the Aurora global cluster is idle: available, no failover or switchover in progress. */
export async function checkAuroraGlobalCluster(rds: RDSClient, identifier: string, rt: Runtime): Promise<CheckOutcome> {
  const out = await withRetry(rt, 'DescribeGlobalClusters', () =>
    rds.send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: identifier })),
  );
  const cluster = out.GlobalClusters?.[0];
  if (!cluster) return { ok: false, detail: `global cluster ${identifier} not found` };
  const failover = cluster.FailoverState?.Status;
  if (failover) {
    return {
      ok: false,
      detail:
        `global cluster ${identifier} has a failover or switchover ${failover} ` +
        `(${cluster.FailoverState?.FromDbClusterArn ?? '?'} -> ${cluster.FailoverState?.ToDbClusterArn ?? '?'})`,
    };
  }
  const status = cluster.Status ?? 'unknown';
  return { ok: status === 'available', detail: `global cluster ${identifier} is ${status}, no failover in progress` };
}

/** Whether the Global Datastore is `available`. */
export async function checkGlobalDatastore(
  elasticache: ElastiCacheClient,
  id: string,
  rt: Runtime,
): Promise<CheckOutcome> {
  const out = await withRetry(rt, 'DescribeGlobalReplicationGroups', () =>
    elasticache.send(new DescribeGlobalReplicationGroupsCommand({ GlobalReplicationGroupId: id })),
  );
  const status = out.GlobalReplicationGroups?.[0]?.Status ?? 'missing';
  return { ok: status === 'available', detail: `Global Datastore ${id} is ${status}` };
}

/** Runs a check; an API error (after retries) is a failed check that names the error. */
async function guarded(check: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await check();
  } catch (err) {
    return { ok: false, detail: `could not check: ${errorName(err)}: ${errorMessage(err)}` };
  }
}

/** Runs every check for `request`; refuses with all failures listed, or returns the checks. */
export async function runPreflight(
  clients: PreflightClients,
  request: SwitchRequest,
  config: PreflightConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const target = config.regions.byName[request.targetRegion]!;
  const checks: Record<string, CheckOutcome> = {};
  const planned = request.mode === 'planned';
  const app = readAppStackOutputs(clients.cloudformation, target.appStackName!, rt);
  app.catch(() => undefined); // each check below reports the failure
  const [targetHealth, route53HealthCheck, auroraCluster, auroraGlobalCluster, globalDatastore] = await Promise.all([
    guarded(async () => checkTargetHealth(clients.elbv2, (await app).targetGroupArn, rt)),
    guarded(async () => checkRoute53HealthCheck(clients.cloudwatch, (await app).healthCheckId, rt)),
    guarded(() => checkAuroraCluster(clients.rds, target.dbClusterIdentifier!, rt)),
    planned ? guarded(() => checkAuroraGlobalCluster(clients.rds, config.globalClusterIdentifier, rt)) : undefined,
    planned ? guarded(() => checkGlobalDatastore(clients.elasticache, config.globalDatastoreId, rt)) : undefined,
  ]);
  checks.targetHealth = targetHealth;
  checks.route53HealthCheck = route53HealthCheck;
  checks.auroraCluster = auroraCluster;
  if (auroraGlobalCluster) checks.auroraGlobalCluster = auroraGlobalCluster;
  if (globalDatastore) checks.globalDatastore = globalDatastore;

  const result: SwitchResult = { ...newResult(FUNCTION_NAME, request), checks };
  result.actions.push(`Checked ${Object.keys(checks).join(', ')} for ${request.targetRegion} (read-only)`);
  if (!planned) {
    result.actions.push('Skipped auroraGlobalCluster and globalDatastore: unplanned mode');
  }
  // Route 53 publishes health-check metrics in us-east-1 only, which may be the region that is gone: in unplanned
  // mode that check informs but does not block (the target's own ALB targets are checked regardless).
  const advisory = planned ? [] : ['route53HealthCheck'];
  if (!planned && !route53HealthCheck.ok) {
    result.actions.push(`route53HealthCheck did not pass (${route53HealthCheck.detail}); advisory in unplanned mode`);
  }
  const failed = Object.entries(checks).filter(([name, c]) => !c.ok && !advisory.includes(name));
  if (failed.length > 0) {
    rt.log.warn('Preflight failed', { checks });
    refuse(
      `preflight for ${request.targetRegion} failed ${failed.length} check(s): ` +
        failed.map(([name, c]) => `${name}: ${c.detail}`).join('; '),
    );
  }
  return result;
}

/** Lambda entry point. */
export const handler = defineHandler(FUNCTION_NAME, loadPreflightConfig, (request, config, rt) => {
  const region = request.targetRegion;
  const clients: PreflightClients = {
    cloudformation: new CloudFormationClient({ region }),
    elbv2: new ElasticLoadBalancingV2Client({ region }),
    cloudwatch: new CloudWatchClient({ region: ROUTE53_METRICS_REGION }),
    rds: new RDSClient({ region }),
    elasticache: new ElastiCacheClient({ region }),
  };
  return runPreflight(clients, request, config, rt);
});
