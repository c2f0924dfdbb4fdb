import { AutoScalingClient, paginateDescribeAutoScalingGroups } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EFSClient, paginateDescribeReplicationConfigurations, ReplicationNotFound } from '@aws-sdk/client-efs';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  APP_OUTPUTS,
  AURORA_GLOBAL_REPLICATION_LAG,
  DNS_OUTPUTS,
  PLAN_OUTPUTS,
  ROUTE53_METRICS_REGION,
  STORAGE_OUTPUTS,
  stackName,
  type StackLifecycle,
} from '../contract';
import {
  memberIn,
  readGlobalDatastore,
  readHealthCheck as readHealthCheckState,
  latestDatapoint,
} from '../lambda/shared/global-state';
import { allPages, firstItem } from '../lambda/shared/sdk';
import { DATA_COMPONENTS, DataComponent, EnvironmentConfig, hasDataComponent } from '../lib/config';
import { physicalNames, serviceNames } from '../lib/names';
import { describeStackOutputs, requireOutput } from './cloudformation';
import {
  COMPONENT_TEXT,
  NotInEnvironment,
  isNotInEnvironment,
  notInEnvironment,
  presentComponents,
} from './components';

/** How far back the CLI looks for the latest metric datapoint. */
const METRIC_LOOKBACK_MS = 10 * 60_000;

/** The SDK clients of one region. */
export interface RegionClients {
  /** Auto Scaling (the fleet the Region switch plan scales). */
  readonly autoscaling: AutoScalingClient;
  /** Load balancers and target health. */
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** Aurora. */
  readonly rds: RDSClient;
  /** ElastiCache. */
  readonly elasticache: ElastiCacheClient;
  /** EFS. */
  readonly efs: EFSClient;
  /** CloudWatch metrics. */
  readonly cloudwatch: CloudWatchClient;
  /** Lambda (rejoin invokes the region's rejoin function). */
  readonly lambda: LambdaClient;
  /** CloudFormation (the stacks' outputs and status; check-deploy and record-ids also read the deployed templates). */
  readonly cloudformation: CloudFormationClient;
}

/** What the status command reads through. */
export interface StatusDeps {
  /** The clients of a region: its CloudFormation for the stacks' outputs; us-east-1's CloudWatch for Route 53. */
  readonly clients: (region: string) => RegionClients;
  /** The current time. */
  readonly now: () => Date;
}

/** A value that was read, or the error that prevented it. */
export type Field<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * A data component's field: read (or failed) like any {@link Field}, or `{ inEnvironment: false, note }` when no
 * service of the environment uses the component, so it does not exist and nothing was read.
 */
export type ComponentField<T> = Field<T> | NotInEnvironment;

/** Route 53 health check of a region's failover record. */
export interface HealthCheckStatus {
  /** Health check ID (App stack output). */
  readonly healthCheckId: string;
  /** `healthy` (metric 1), `unhealthy` (0) or `unknown` (no datapoint in the last 10 minutes). */
  readonly status: 'healthy' | 'unhealthy' | 'unknown';
  /** Time of the datapoint. */
  readonly at?: string;
}

/** Target counts of one or more target groups. */
export interface TargetCounts {
  /** Targets in state `healthy`. */
  readonly healthy: number;
  /** All registered targets. */
  readonly total: number;
  /** Target count per state. */
  readonly byState: Readonly<Record<string, number>>;
}

/** The targets of one service's target group (App stack output `TargetGroupArn<Service>`). */
export interface GroupTargets extends TargetCounts {
  /** ARN of the service's target group. */
  readonly targetGroupArn: string;
}

/** The targets of one service in a region, or why they could not be read. */
export type ServiceTargets = { readonly service: string } & Field<GroupTargets>;

/** Targets of the region's load balancer: the counts of every target group behind it, and each service's. */
export interface TargetStatus extends TargetCounts {
  /** DNS name of the load balancer. */
  readonly loadBalancerDnsName: string;
  /** Each service of the config, in config order. */
  readonly services: readonly ServiceTargets[];
}

/** The region's member of the Aurora global cluster. */
export interface DatabaseStatus {
  /** Global cluster identifier. */
  readonly globalClusterIdentifier: string;
  /** Status of the global cluster. */
  readonly globalStatus: string;
  /** The region's cluster identifier. */
  readonly clusterIdentifier: string;
  /** `writer` or `reader`. */
  readonly role: 'writer' | 'reader';
  /** The cluster's status, for example `available`. */
  readonly clusterStatus: string;
  /** Synchronization status of the member, when reported. */
  readonly synchronizationStatus?: string;
  /** Latest AuroraGlobalDBReplicationLag in milliseconds (readers only; null when no datapoint). */
  readonly replicationLagMs?: number | null;
}

/** The region's member of the ElastiCache Global Datastore. */
export interface CacheStatus {
  /** Global Datastore ID. */
  readonly globalReplicationGroupId: string;
  /** Status of the Global Datastore. */
  readonly globalStatus: string;
  /** The region's replication group ID. */
  readonly replicationGroupId: string;
  /** `PRIMARY` or `SECONDARY`. */
  readonly role: string;
  /** Status of the member. */
  readonly status: string;
}

/** One EFS replication that involves the region's file system. */
export interface FileReplication {
  /** `outgoing` when this file system is the source, `incoming` when it is the destination. */
  readonly direction: 'outgoing' | 'incoming';
  /** The other region. */
  readonly peerRegion: string;
  /** The other file system. */
  readonly peerFileSystemId: string;
  /** Replication status, for example `ENABLED`. */
  readonly status: string;
  /** Last completed sync. */
  readonly lastReplicatedAt?: string;
  /** Seconds since the last completed sync. */
  readonly secondsSinceLastSync?: number;
}

/** EFS file system of the region and its replication. */
export interface FilesStatus {
  /** File system ID (Storage stack output). */
  readonly fileSystemId: string;
  /** Replications of the file system; empty when it replicates neither way. */
  readonly replications: readonly FileReplication[];
}

/** Everything `status` reports about one region. */
export interface RegionStatus {
  /** Region name. */
  readonly region: string;
  /** The region's role in the config (not necessarily its role now). */
  readonly configuredRole: 'primary' | 'secondary';
  /** Route 53 health check. */
  readonly healthCheck: Field<HealthCheckStatus>;
  /** ALB targets. */
  readonly targets: Field<TargetStatus>;
  /** Aurora member (not in an environment whose services use no database). */
  readonly database: ComponentField<DatabaseStatus>;
  /** Global Datastore member (not in an environment whose services use no session cache). */
  readonly cache: ComponentField<CacheStatus>;
  /** EFS replication (not in an environment whose services use no shared files). */
  readonly files: ComponentField<FilesStatus>;
}

/** How the PRIMARY failover record is steered. */
export interface DnsStatus {
  /** Whether a Region switch plan gates the PRIMARY record (environments with `regionSwitch.enabled`). */
  readonly steeredByPlan: boolean;
  /** The plan's health check of the primary region: unhealthy once the plan activated the secondary. */
  readonly planPrimaryCheck?: HealthCheckStatus;
  /** The PRIMARY record's calculated check (endpoint AND plan check): unhealthy means DNS answers SECONDARY. */
  readonly primaryGate?: HealthCheckStatus;
}

/** A service's fleet in a region as the Region switch plan scales it, against the live group of the same name. */
export interface PlanFleetStatus {
  /** Region of the fleet. */
  readonly region: string;
  /** The service whose Auto Scaling group it is. */
  readonly service: string;
  /** The group ARN the plan holds (output `PlanFleetArn<region><Service>` of the primary operations stack). */
  readonly planned: string;
  /** The ARN of the group that has the fleet's name now, or undefined when there is none. */
  readonly live?: string;
  /** Whether the plan scales the live group. */
  readonly matches: boolean;
}

/** The Region switch plan's view of the fleets. */
export interface PlanFleetsStatus {
  /** Whether the environment has a plan. */
  readonly hasPlan: boolean;
  /** With a plan: each service (in config order) in the primary region, then each in the secondary. */
  readonly fleets: readonly PlanFleetStatus[];
}

/** The status document (`status --json`). */
export interface StatusReport {
  /** Environment name. */
  readonly environment: string;
  /** When the status was read. */
  readonly checkedAt: string;
  /** The environment's services, in config order. */
  readonly services: readonly string[];
  /**
   * The data components the environment has (some service uses them); the fields of the others are
   * `{ inEnvironment: false, note }`.
   */
  readonly dataComponents: readonly DataComponent[];
  /** Primary region, then secondary. */
  readonly regions: readonly RegionStatus[];
  /** DNS steering of the failover records. */
  readonly dns: Field<DnsStatus>;
  /** Whether the Region switch plan scales the live fleets (a fleet created again has a new ARN). */
  readonly planFleets: Field<PlanFleetsStatus>;
}

const FIELD_NAMES = ['healthCheck', 'targets', 'database', 'cache', 'files'] as const;

/** Reads the status of both regions; a failure affects only its field. */
export async function gatherStatus(config: EnvironmentConfig, deps: StatusDeps): Promise<StatusReport> {
  const [primary, secondary, dns, planFleets] = await Promise.all([
    regionStatus(config, 'primary', deps),
    regionStatus(config, 'secondary', deps),
    settle(() => readDns(config, deps)),
    settle(() => readPlanFleets(config, deps)),
  ]);
  return {
    environment: config.name,
    checkedAt: deps.now().toISOString(),
    services: config.services.map((s) => s.name),
    dataComponents: presentComponents(config),
    regions: [primary, secondary],
    dns,
    planFleets,
  };
}

/**
 * The Auto Scaling group ARNs the Region switch plan scales, one per service and region (outputs of the primary
 * operations stack), against the groups that have each service's fixed name now. They differ only after an app
 * stack was deleted and created again; the first-deploy runbook says how to make the plan read them again.
 */
export async function readPlanFleets(config: EnvironmentConfig, deps: StatusDeps): Promise<PlanFleetsStatus> {
  if (!config.regionSwitch.enabled) return { hasPlan: false, fleets: [] };
  const home = config.primary.region;
  const outputs = await describeStackOutputs(
    deps.clients(home).cloudformation,
    stackName(config.name, 'Operations', home),
    home,
  );
  const services = config.services.map((s) => ({
    service: s.name,
    groupName: serviceNames(config, s.name).autoScalingGroupName,
  }));
  const perRegion = await Promise.all(
    [config.primary.region, config.secondary.region].map(async (region) => {
      const planned = services.map((s) => requireOutput(outputs, PLAN_OUTPUTS.fleetArn(region, s.service), home));
      const live = await liveGroupArns(
        deps.clients(region).autoscaling,
        services.map((s) => s.groupName),
      );
      return services.map((s, i) => {
        const arn = live.get(s.groupName);
        return { region, service: s.service, planned: planned[i]!, live: arn, matches: arn === planned[i] };
      });
    }),
  );
  return { hasPlan: true, fleets: perRegion.flat() };
}

/** The ARN of each named Auto Scaling group that exists, by name (DescribeAutoScalingGroups, every page). */
export async function liveGroupArns(
  autoscaling: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, string>> {
  const groups = await allPages(
    paginateDescribeAutoScalingGroups({ client: autoscaling }, { AutoScalingGroupNames: [...names] }),
    (page) => page.AutoScalingGroups,
  );
  const arns = new Map<string, string>();
  for (const g of groups) {
    if (g.AutoScalingGroupName && g.AutoScalingGroupARN) arns.set(g.AutoScalingGroupName, g.AutoScalingGroupARN);
  }
  return arns;
}

/** The plan's primary health check and the PRIMARY record's gate, from the primary operations stack. */
export async function readDns(config: EnvironmentConfig, deps: StatusDeps): Promise<DnsStatus> {
  if (!config.regionSwitch.enabled) return { steeredByPlan: false };
  const region = config.primary.region;
  const outputs = await describeStackOutputs(
    deps.clients(region).cloudformation,
    stackName(config.name, 'Operations', region),
    region,
  );
  const cw = deps.clients(ROUTE53_METRICS_REGION).cloudwatch;
  const now = deps.now();
  const [planPrimaryCheck, primaryGate] = await Promise.all([
    readHealthCheck(cw, requireOutput(outputs, DNS_OUTPUTS.planPrimaryHealthCheckId, region), now),
    readHealthCheck(cw, requireOutput(outputs, DNS_OUTPUTS.primaryGateHealthCheckId, region), now),
  ]);
  return { steeredByPlan: true, planPrimaryCheck, primaryGate };
}

/** True when at least one field of the report was read (a component not in the environment is not a read). */
export function anythingRead(report: StatusReport): boolean {
  return report.regions.some((r) => FIELD_NAMES.some((f) => r[f].ok === true));
}

async function regionStatus(
  config: EnvironmentConfig,
  role: 'primary' | 'secondary',
  deps: StatusDeps,
): Promise<RegionStatus> {
  const region = config[role].region;
  const names = physicalNames(config);
  const stack = (lifecycle: StackLifecycle) => stackName(config.name, lifecycle, region);
  const clients = deps.clients(region);
  const app = once(() => describeStackOutputs(clients.cloudformation, stack('App'), region));
  const storage = once(() => describeStackOutputs(clients.cloudformation, stack('Storage'), region));
  const now = deps.now();
  const component = <T>(c: DataComponent, read: () => Promise<T>): Promise<ComponentField<T>> =>
    hasDataComponent(config, c) ? settle(read) : Promise.resolve(notInEnvironment(c));

  const [healthCheck, targets, database, cache, files] = await Promise.all([
    settle(async () => {
      const id = requireOutput(await app(), APP_OUTPUTS.healthCheckId, region);
      return readHealthCheck(deps.clients(ROUTE53_METRICS_REGION).cloudwatch, id, now);
    }),
    settle(async () => {
      const outputs = await app();
      const dns = requireOutput(outputs, APP_OUTPUTS.loadBalancerDnsName, region);
      return readTargets(
        clients.elbv2,
        dns,
        config.services.map((s) => ({
          service: s.name,
          targetGroupArn: () => requireOutput(outputs, APP_OUTPUTS.targetGroupArn(s.name), region),
        })),
      );
    }),
    component('database', () => readDatabase(clients, region, names.globalClusterIdentifier, now)),
    component('sessionCache', () => readCache(clients.elasticache, region, names.globalDatastoreSuffix)),
    component('sharedFiles', async () => {
      const id = requireOutput(await storage(), STORAGE_OUTPUTS.fileSystemId, region);
      return readFiles(clients.efs, id, now);
    }),
  ]);
  return { region, configuredRole: role, healthCheck, targets, database, cache, files };
}

/** Latest Route 53 HealthCheckStatus datapoint (1 healthy, 0 unhealthy), read as the switch functions read it. */
export async function readHealthCheck(
  cw: CloudWatchClient,
  healthCheckId: string,
  now: Date,
): Promise<HealthCheckStatus> {
  const { status, at } = await readHealthCheckState(cw, healthCheckId, now, METRIC_LOOKBACK_MS);
  return { healthCheckId, status, ...(at ? { at: at.toISOString() } : {}) };
}

/** A service whose targets {@link readTargets} counts, with its target group's ARN (throws when unknown). */
export interface ServiceTargetGroup {
  /** The service's name. */
  readonly service: string;
  /** The ARN of its target group (App stack output `TargetGroupArn<Service>`); throws the reason when unknown. */
  readonly targetGroupArn: () => string;
}

/**
 * Target health of every target group behind the load balancer with this DNS name, in total and for each
 * service's own target group.
 */
export async function readTargets(
  elb: ElasticLoadBalancingV2Client,
  dnsName: string,
  services: readonly ServiceTargetGroup[] = [],
): Promise<TargetStatus> {
  const arn = (
    await firstItem(
      paginateDescribeLoadBalancers({ client: elb }, { PageSize: 400 }),
      (page) => page.LoadBalancers,
      (lb) => lb.DNSName?.toLowerCase() === dnsName.toLowerCase(),
    )
  )?.LoadBalancerArn;
  if (!arn) throw new Error(`no load balancer with DNS name ${dnsName}`);
  const groups = await allPages(
    paginateDescribeTargetGroups({ client: elb }, { LoadBalancerArn: arn }),
    (page) => page.TargetGroups,
  );
  const health = new Map<string, Promise<TargetCounts>>();
  const countsOf = (groupArn: string): Promise<TargetCounts> => {
    let counts = health.get(groupArn);
    if (!counts) {
      counts = elb
        .send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn }))
        .then((out) => count((out.TargetHealthDescriptions ?? []).map((d) => d.TargetHealth?.State ?? 'unknown')));
      health.set(groupArn, counts);
    }
    return counts;
  };
  const all = await Promise.all(groups.flatMap((g) => (g.TargetGroupArn ? [countsOf(g.TargetGroupArn)] : [])));
  const byService = await Promise.all(
    services.map(async (s): Promise<ServiceTargets> => {
      const field = await settle(async () => {
        const targetGroupArn = s.targetGroupArn();
        return { targetGroupArn, ...(await countsOf(targetGroupArn)) };
      });
      return { service: s.service, ...field };
    }),
  );
  const total = sum(all);
  return { loadBalancerDnsName: dnsName, ...total, services: byService };
}

function count(states: readonly string[]): TargetCounts {
  const byState: Record<string, number> = {};
  for (const state of states) byState[state] = (byState[state] ?? 0) + 1;
  return { healthy: byState.healthy ?? 0, total: states.length, byState };
}

function sum(counts: readonly TargetCounts[]): TargetCounts {
  const byState: Record<string, number> = {};
  for (const c of counts)
    for (const [state, n] of Object.entries(c.byState)) byState[state] = (byState[state] ?? 0) + n;
  return { healthy: byState.healthy ?? 0, total: counts.reduce((n, c) => n + c.total, 0), byState };
}

/** The region's member of the global cluster, its status and (readers) its replication lag. */
export async function readDatabase(
  clients: RegionClients,
  region: string,
  globalClusterIdentifier: string,
  now: Date,
): Promise<DatabaseStatus> {
  const out = await clients.rds.send(
    new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: globalClusterIdentifier }),
  );
  const global = out.GlobalClusters?.[0];
  if (!global) throw new Error(`global cluster ${globalClusterIdentifier} not found`);
  const member = global.GlobalClusterMembers?.find((m) => arnRegion(m.DBClusterArn) === region);
  if (!member?.DBClusterArn) throw new Error(`no member of global cluster ${globalClusterIdentifier} in ${region}`);
  const clusterIdentifier = member.DBClusterArn.split(':cluster:').pop()!;
  const clusters = await clients.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: member.DBClusterArn }));
  const role = member.IsWriter ? 'writer' : 'reader';
  let replicationLagMs: number | null | undefined;
  if (role === 'reader') {
    const lag = await latestDatapoint(clients.cloudwatch, AURORA_GLOBAL_REPLICATION_LAG, clusterIdentifier, {
      end: now,
      lookbackMs: METRIC_LOOKBACK_MS,
      statistic: 'Average',
    });
    replicationLagMs = lag ? lag.value : null;
  }
  return {
    globalClusterIdentifier,
    globalStatus: global.Status ?? 'unknown',
    clusterIdentifier,
    role,
    clusterStatus: clusters.DBClusters?.[0]?.Status ?? 'unknown',
    synchronizationStatus: member.SynchronizationStatus,
    replicationLagMs,
  };
}

/**
 * The region's member of the Global Datastore whose ID ends with the environment's suffix (every page of
 * DescribeGlobalReplicationGroups until it is found, read as the switch functions read it).
 */
export async function readCache(ec: ElastiCacheClient, region: string, suffix: string): Promise<CacheStatus> {
  const datastore = await readGlobalDatastore(ec, { suffix });
  if (!datastore) throw new Error(`no Global Datastore whose ID ends with ${suffix}`);
  const member = memberIn(datastore, region);
  if (!member) throw new Error(`no member of Global Datastore ${datastore.id} in ${region}`);
  return {
    globalReplicationGroupId: datastore.id,
    globalStatus: datastore.status,
    replicationGroupId: member.replicationGroupId,
    role: member.role,
    status: member.status,
  };
}

/** Replications in which the file system is the source or the destination. */
export async function readFiles(efs: EFSClient, fileSystemId: string, now: Date): Promise<FilesStatus> {
  const replications = await allPages(
    paginateDescribeReplicationConfigurations({ client: efs }, { FileSystemId: fileSystemId }),
    (page) => page.Replications,
    ReplicationNotFound,
  );
  const result: FileReplication[] = [];
  for (const r of replications) {
    for (const d of r.Destinations ?? []) {
      const outgoing = r.SourceFileSystemId === fileSystemId;
      const last = d.LastReplicatedTimestamp;
      result.push({
        direction: outgoing ? 'outgoing' : 'incoming',
        peerRegion: (outgoing ? d.Region : r.SourceFileSystemRegion) ?? 'unknown',
        peerFileSystemId: (outgoing ? d.FileSystemId : r.SourceFileSystemId) ?? 'unknown',
        status: d.Status ?? 'unknown',
        lastReplicatedAt: last?.toISOString(),
        secondsSinceLastSync: last ? Math.max(0, Math.round((now.getTime() - last.getTime()) / 1000)) : undefined,
      });
    }
  }
  return { fileSystemId, replications: result };
}

function arnRegion(arn: string | undefined): string | undefined {
  return arn?.split(':')[3];
}

async function settle<T>(read: () => Promise<T>): Promise<Field<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}

/**
 * Renders the report as a table: one row per check, one column per region. The targets and the plan's fleets
 * have a row per service; a data component the environment does not have shows "not in this environment".
 */
export function renderStatusTable(report: StatusReport): string {
  const { services } = report;
  const rows: [string, ...string[]][] = [
    ['', ...report.regions.map((r) => `${r.region} (${r.configuredRole} in config)`)],
    ['Route 53 health check', ...report.regions.map((r) => show(r.healthCheck, fmtHealthCheck))],
    ['ALB targets (all)', ...report.regions.map((r) => show(r.targets, fmtTargets))],
    ...services.map((service): [string, ...string[]] => [
      `  service ${service}`,
      ...report.regions.map((r) => show(r.targets, (t) => fmtServiceTargets(t, service))),
    ]),
    ['Aurora', ...report.regions.map((r) => showComponent(r.database, fmtDatabase))],
    ['Aurora replication lag', ...report.regions.map((r) => showComponent(r.database, fmtLag))],
    ['Cache (Global Datastore)', ...report.regions.map((r) => showComponent(r.cache, fmtCache))],
    ['EFS replication', ...report.regions.map((r) => showComponent(r.files, fmtFiles))],
    ['DNS (PRIMARY record)', show(report.dns, fmtDns), 'endpoint check only'],
    ...planFleetRows(report),
  ];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, col) => cell.padEnd(widths[col]))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const absent = DATA_COMPONENTS.filter((c) => !report.dataComponents.includes(c));
  return [
    `Environment ${report.environment}, checked ${report.checkedAt}`,
    `Services: ${services.join(', ')}`,
    `Data components: ${report.dataComponents.map((c) => COMPONENT_TEXT[c]).join(', ') || 'none'}` +
      (absent.length > 0 ? `; not in this environment: ${absent.map((c) => COMPONENT_TEXT[c]).join(', ')}` : ''),
    '',
    line(rows[0]),
    rule,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** The plan's fleets: one row per service, or one row when there is no plan or it could not be read. */
function planFleetRows(report: StatusReport): [string, ...string[]][] {
  const p = report.planFleets;
  if (!p.ok || !p.value.hasPlan) {
    return [["Plan's fleets", ...report.regions.map(() => show(p, () => '- (no plan)'))]];
  }
  const services = [...new Set(p.value.fleets.map((f) => f.service))];
  return services.map((service): [string, ...string[]] => [
    `Plan's fleet: ${service}`,
    ...report.regions.map((r) => fmtPlanFleet(p.value, r.region, service, report.environment)),
  ]);
}

function show<T>(field: Field<T>, fmt: (v: T) => string): string {
  return field.ok ? fmt(field.value) : `error: ${field.error}`;
}

/** A data component's cell: the header line says why one is not in the environment. */
function showComponent<T>(field: ComponentField<T>, fmt: (v: T) => string): string {
  return isNotInEnvironment(field) ? 'not in this environment' : show(field, fmt);
}

function fmtHealthCheck(h: HealthCheckStatus): string {
  return h.status === 'unknown' ? 'unknown (no data in 10 min)' : h.status;
}

function fmtDns(d: DnsStatus): string {
  if (!d.steeredByPlan) return 'endpoint check only (no plan)';
  const gate = d.primaryGate!.status;
  const answering = gate === 'healthy' ? 'answers PRIMARY' : gate === 'unhealthy' ? 'answers SECONDARY' : 'unknown';
  return `gate ${gate} (${answering}), plan check ${d.planPrimaryCheck!.status}`;
}

function fmtPlanFleet(p: PlanFleetsStatus, region: string, service: string, environment: string): string {
  const fleet = p.fleets.find((f) => f.region === region && f.service === service);
  if (!fleet) return 'unknown';
  if (fleet.matches) return 'the live group';
  return (
    `STALE: the plan scales ${fleet.planned}, the live group is ${fleet.live ?? 'missing'}; ` +
    `redeploy ${stackName(environment, 'Operations', '<primary>')} with a new PlanFleetLookup (runbook: first deploy)`
  );
}

function fmtServiceTargets(t: TargetStatus, service: string): string {
  const s = t.services.find((x) => x.service === service);
  if (!s) return 'unknown';
  return s.ok ? fmtTargets(s.value) : `error: ${s.error}`;
}

function fmtTargets(t: TargetCounts): string {
  const others = Object.entries(t.byState)
    .filter(([state]) => state !== 'healthy')
    .map(([state, n]) => `${n} ${state}`);
  return `${t.healthy}/${t.total} healthy${others.length ? ` (${others.join(', ')})` : ''}`;
}

function fmtDatabase(d: DatabaseStatus): string {
  return `${d.role}, ${d.clusterStatus}${d.synchronizationStatus ? `, ${d.synchronizationStatus}` : ''}`;
}

function fmtLag(d: DatabaseStatus): string {
  if (d.role === 'writer') return '- (writer)';
  return d.replicationLagMs === null || d.replicationLagMs === undefined
    ? 'no data in 10 min'
    : `${Math.round(d.replicationLagMs)} ms`;
}

function fmtCache(c: CacheStatus): string {
  return `${c.role.toLowerCase()}, ${c.status}`;
}

function fmtFiles(f: FilesStatus): string {
  if (f.replications.length === 0) return 'none';
  return f.replications
    .map((r) => {
      const arrow = r.direction === 'outgoing' ? `to ${r.peerRegion}` : `from ${r.peerRegion}`;
      const since = r.secondsSinceLastSync === undefined ? 'never synced' : `last sync ${r.secondsSinceLastSync} s ago`;
      return `${arrow}: ${r.status}, ${since}`;
    })
    .join('; ');
}
