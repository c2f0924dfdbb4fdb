/**
 * preflight: before the target region is activated, checks that it can take the load and the writes.
 *
 * Checks, all read-only, all run in parallel (a failure does not stop the others):
 * - the target region's app stack outputs (CloudFormation DescribeStacks of REGIONS[target].appStackName): the
 *   target group ARN of every service in SERVICES (output `TargetGroupArn<Service>`) and the region's health
 *   check ID (`HealthCheckId`), read now rather than fixed at deploy time, so they are those of the running
 *   stack even after it replaced one; a check whose output cannot be read fails, naming the stack and output.
 * - targetHealth:<service>, for each service: its ALB target group has at least one healthy target.
 * - readiness:<service>, for each service with a readinessPath: one GET of `<REGIONS[target].regionalUrl><path>`
 *   answers HTTP 200 (through the target region's load balancer; its database is not writable yet, so the
 *   writable pointer is post-check's).
 * - route53HealthCheck: the target region's Route 53 health check is healthy (CloudWatch
 *   AWS/Route53 HealthCheckStatus in us-east-1, Minimum over 60 s, latest datapoint of the last
 *   3 minutes; no datapoint counts as not healthy). Advisory in unplanned mode.
 * - auroraCluster, when the environment has a database: the target region's Aurora cluster is `available`.
 * - planned mode only: auroraGlobalCluster (no failover or switchover in progress), when the environment has a
 *   database, and globalDatastore (the ElastiCache Global Datastore is `available`), when it has a cache.
 * Checks of a component the environment does not have are skipped and the actions say so.
 * Any failed check: throws `REFUSED: ...` listing every failed check.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { appStackName, regionalUrl, dbClusterIdentifier?, ... } (both regions; dbClusterIdentifier
 *   in both iff the environment has a database, cacheReplicationGroupId in both iff it has a cache).
 * - SERVICES: JSON array of the services, [{ "name", "readinessPath", "writablePointer" }] (1 to 20; preflight
 *   uses the names and readiness paths).
 * - REQUEST_TIMEOUT_SECONDS (optional, default 5): timeout of one readiness GET.
 * - GLOBAL_CLUSTER_IDENTIFIER (optional): the Aurora global cluster ID; set iff the environment has a database.
 * - GLOBAL_DATASTORE_ID (optional): the full ElastiCache Global Datastore ID; set iff it has a cache.
 * - DRY_RUN (optional, true | false): accepted for uniformity; preflight changes nothing anyway.
 */
import { CloudFormationClient, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { paginateDescribeDBClusters, paginateDescribeGlobalClusters, RDSClient } from '@aws-sdk/client-rds';
import { APP_OUTPUTS, ROUTE53_METRICS_REGION, type FunctionEnv, type SwitchFunctionName } from '../../contract';
import {
  dataComponents,
  listOf,
  readinessConfig,
  switchConfig,
  type DataComponents,
  type ReadinessConfig,
  type SwitchConfig,
} from '../shared/config';
import { readGlobalDatastore, readHealthCheck } from '../shared/global-state';
import { probeReadiness, readinessCheckName, readinessUrl, type Fetch } from '../shared/readiness';
import { errorMessage, errorName, refuse } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import { defineHandler, newResult, type CheckOutcome, type Runtime, type SwitchResult } from '../shared/runtime';
import { allPages, clientConfig } from '../shared/sdk';

export { ROUTE53_METRICS_REGION } from '../../contract';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'preflight' satisfies SwitchFunctionName;

/** How far back preflight looks for the health check's latest datapoint. */
const HEALTH_CHECK_LOOKBACK_MS = 3 * 60_000;

/** Configuration of preflight. */
export interface PreflightConfig extends SwitchConfig, ReadinessConfig {
  /** The data components the environment has, and their global IDs. */
  readonly data: DataComponents;
}

/** Reads and validates preflight's environment. */
export function loadPreflightConfig(env: FunctionEnv<typeof FUNCTION_NAME>): PreflightConfig {
  const base = switchConfig(FUNCTION_NAME, env);
  return { ...base, ...readinessConfig(env), data: dataComponents(env, base.regions) };
}

/**
 * Clients preflight uses: CloudFormation, ELB, RDS and ElastiCache of the target region; CloudWatch of us-east-1.
 * RDS is called only when the environment has a database, ElastiCache only when it has a cache.
 */
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
  /** HTTPS GETs of the services' readiness paths through the target region's load balancer. */
  readonly fetch: Fetch;
}

/** What preflight reads from the target region's app stack. */
export interface AppStackOutputs {
  /** ARN of `service`'s target group (output `TargetGroupArn<Service>`); throws, naming the stack and output, when absent. */
  targetGroupArn(service: string): string;
  /** ID of the region's Route 53 health check (output `HealthCheckId`); throws likewise when absent. */
  healthCheckId(): string;
}

/**
 * The outputs of the region's app stack. Throws when the stack cannot be read; each output, when it is read,
 * throws naming the stack and the missing output, so one missing output fails only the checks that need it.
 */
export async function readAppStackOutputs(
  cloudformation: CloudFormationClient,
  stackName: string,
): Promise<AppStackOutputs> {
  const stacks = await allPages(
    paginateDescribeStacks({ client: cloudformation }, { StackName: stackName }),
    (page) => page.Stacks,
  );
  const outputs = new Map((stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const value = (key: string): string => {
    const v = outputs.get(key);
    if (!v) throw new Error(`stack ${stackName} has no output ${key}; deploy this version of the app first`);
    return v;
  };
  return {
    targetGroupArn: (service) => value(APP_OUTPUTS.targetGroupArn(service)),
    healthCheckId: () => value(APP_OUTPUTS.healthCheckId),
  };
}

/** Healthy targets of a service's target group. */
export async function checkTargetHealth(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
): Promise<CheckOutcome> {
  const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const targets = out.TargetHealthDescriptions ?? [];
  const healthy = targets.filter((t) => t.TargetHealth?.State === TargetHealthStateEnum.HEALTHY).length;
  return { ok: healthy >= 1, detail: `${healthy} of ${targets.length} targets healthy` };
}

/** Status of a Route 53 health check from CloudWatch: 1 healthy, 0 unhealthy, no datapoint unknown. */
export async function checkRoute53HealthCheck(
  cloudwatch: CloudWatchClient,
  healthCheckId: string,
  rt: Runtime,
): Promise<CheckOutcome> {
  const state = await readHealthCheck(cloudwatch, healthCheckId, new Date(rt.now()), HEALTH_CHECK_LOOKBACK_MS);
  if (!state.at) {
    return { ok: false, detail: `health check ${healthCheckId}: no datapoint in the last 3 minutes (unknown)` };
  }
  return {
    ok: state.status === 'healthy',
    detail: `health check ${healthCheckId} ${state.status} at ${state.at.toISOString()}`,
  };
}

/** Status of the target region's Aurora cluster. */
export async function checkAuroraCluster(rds: RDSClient, dbClusterIdentifier: string) {
  const clusters = await allPages(
    paginateDescribeDBClusters({ client: rds }, { DBClusterIdentifier: dbClusterIdentifier }),
    (page) => page.DBClusters,
  );
  const status = clusters[0]?.Status ?? 'missing';
  return { ok: status === 'available', detail: `cluster ${dbClusterIdentifier} is ${status}` };
}

/** Whether the Aurora global cluster is idle: available, no failover or switchover in progress. */
export async function checkAuroraGlobalCluster(rds: RDSClient, identifier: string): Promise<CheckOutcome> {
  const clusters = await allPages(
    paginateDescribeGlobalClusters({ client: rds }, { GlobalClusterIdentifier: identifier }),
    (page) => page.GlobalClusters,
  );
  const cluster = clusters[0];
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
export async function checkGlobalDatastore(elasticache: ElastiCacheClient, id: string): Promise<CheckOutcome> {
  const status = (await readGlobalDatastore(elasticache, { id }))?.status ?? 'missing';
  return { ok: status === 'available', detail: `Global Datastore ${id} is ${status}` };
}

/** Runs a check; an API error (after the SDK client's retries) is a failed check that names the error. */
async function guarded(check: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await check();
  } catch (err) {
    return { ok: false, detail: `could not check: ${errorName(err)}: ${errorMessage(err)}` };
  }
}

/** Name of the target health check of `service`. */
export function targetHealthCheckName(service: string): string {
  return `targetHealth:${service}`;
}

/** Runs every check for `request`; refuses with all failures listed, or returns the checks. */
export async function runPreflight(
  clients: PreflightClients,
  request: SwitchRequest,
  config: PreflightConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const target = config.regions.byName[request.targetRegion]!;
  const planned = request.mode === 'planned';
  const { globalClusterIdentifier, globalDatastoreId } = config.data;
  const app = readAppStackOutputs(clients.cloudformation, target.appStackName!);
  app.catch(() => undefined); // each check below reports the failure

  const pending: [string, Promise<CheckOutcome>][] = [
    ...config.services.map((service): [string, Promise<CheckOutcome>] => [
      targetHealthCheckName(service.name),
      guarded(async () => checkTargetHealth(clients.elbv2, (await app).targetGroupArn(service.name))),
    ]),
    [
      'route53HealthCheck',
      guarded(async () => checkRoute53HealthCheck(clients.cloudwatch, (await app).healthCheckId(), rt)),
    ],
    ...config.services.flatMap((service): [string, Promise<CheckOutcome>][] =>
      service.readinessPath === null
        ? []
        : [
            [
              readinessCheckName(service.name),
              guarded(() =>
                probeReadiness(
                  clients.fetch,
                  readinessUrl(target.regionalUrl!, service.readinessPath!),
                  null,
                  config.requestTimeoutSeconds * 1000,
                ),
              ),
            ],
          ],
    ),
  ];
  const skipped: string[] = [];
  const skippedUnplanned: string[] = [];
  if (globalClusterIdentifier !== undefined) {
    pending.push(['auroraCluster', guarded(() => checkAuroraCluster(clients.rds, target.dbClusterIdentifier!))]);
    if (planned) {
      pending.push([
        'auroraGlobalCluster',
        guarded(() => checkAuroraGlobalCluster(clients.rds, globalClusterIdentifier)),
      ]);
    } else {
      skippedUnplanned.push('auroraGlobalCluster');
    }
  } else {
    skipped.push('Skipped auroraCluster and auroraGlobalCluster: the environment has no database');
  }
  if (globalDatastoreId !== undefined) {
    if (planned) {
      pending.push(['globalDatastore', guarded(() => checkGlobalDatastore(clients.elasticache, globalDatastoreId))]);
    } else {
      skippedUnplanned.push('globalDatastore');
    }
  } else {
    skipped.push('Skipped globalDatastore: the environment has no cache');
  }
  const outcomes = await Promise.all(pending.map(([, outcome]) => outcome));
  const checks: Record<string, CheckOutcome> = Object.fromEntries(pending.map(([name], i) => [name, outcomes[i]!]));

  const result: SwitchResult = { ...newResult(FUNCTION_NAME, request), checks };
  result.actions.push(`Checked ${Object.keys(checks).join(', ')} for ${request.targetRegion} (read-only)`);
  result.actions.push(...skipped);
  if (skippedUnplanned.length > 0) {
    result.actions.push(`Skipped ${listOf(skippedUnplanned)}: unplanned mode`);
  }
  // Route 53 publishes health-check metrics in us-east-1 only, which may be the region that is gone: in unplanned
  // mode that check informs but does not block (the target's own ALB targets are checked regardless).
  const advisory = planned ? [] : ['route53HealthCheck'];
  const route53HealthCheck = checks.route53HealthCheck!;
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
    cloudformation: new CloudFormationClient(clientConfig(region)),
    elbv2: new ElasticLoadBalancingV2Client(clientConfig(region)),
    cloudwatch: new CloudWatchClient(clientConfig(ROUTE53_METRICS_REGION)),
    rds: new RDSClient(clientConfig(region)),
    elasticache: new ElastiCacheClient(clientConfig(region)),
    fetch: (url, init) => fetch(url, init),
  };
  return runPreflight(clients, request, config, rt);
});
