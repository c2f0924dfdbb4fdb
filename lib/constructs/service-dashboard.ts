import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { RegionAlarmRef, ReplicationAlarmId, SERVICE_HEALTH_ALARM, ServiceAlarmId } from '../names';
import { replicationMetrics, ReplicationWatch, WatchedService } from './region-alarms';

/** A dashboard that opens on the last 3 hours and lets CloudWatch pick the period for the range shown. */
function newDashboard(scope: Construct): cloudwatch.Dashboard {
  return new cloudwatch.Dashboard(scope, 'Resource', {
    defaultInterval: Duration.hours(3),
    periodOverride: cloudwatch.PeriodOverride.AUTO,
  });
}

/** Properties of {@link RegionDashboard}. */
export interface RegionDashboardProps {
  /** Title line, for example `HA web service (prod): us-east-1`. */
  readonly title: string;
  /** The region's services, a row each. */
  readonly services: readonly WatchedService[];
  /** The region's Route 53 health check. */
  readonly healthCheckId: string;
  /** The region's ends of the data tier's replication, shown whatever role the region holds now. */
  readonly replication: ReplicationWatch;
}

/**
 * The dashboard of one region, in the stack that owns what it shows (so no value on it can go stale): a row per
 * service (requests, target 5xx, p99 target latency, healthy hosts of its target group), the region's Route 53
 * health check status, and the replication metrics of the region's own end of each data component the
 * environment has: Aurora Global Database and Global Datastore lag (drawn while the region holds a secondary)
 * and EFS time since last sync of its file system as the source (drawn while it replicates its files). The same
 * widgets in every region, whatever its role in the config (the active region is runtime state); the graphs of
 * the ends the region does not hold now are empty.
 */
export class RegionDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RegionDashboardProps) {
    super(scope, id);
    this.dashboard = newDashboard(this);
    const minute = Duration.minutes(1);
    const { replication } = props;
    const graph = (title: string, metrics: cloudwatch.IMetric[], width = 12) =>
      new cloudwatch.GraphWidget({ title, left: metrics, width, height: 6 });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${props.title}`, width: 24, height: 1 }));
    for (const { name, targetGroup: tg } of props.services) {
      this.dashboard.addWidgets(
        graph(`${name}: requests / min`, [tg.metrics.requestCount({ period: minute, statistic: 'Sum' })], 6),
        graph(
          `${name}: target 5xx / min`,
          [tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute, statistic: 'Sum' })],
          6,
        ),
        graph(
          `${name}: target latency p99 (s)`,
          [tg.metrics.targetResponseTime({ period: minute, statistic: 'p99' })],
          6,
        ),
        graph(`${name}: healthy hosts`, [tg.metrics.healthyHostCount({ period: minute, statistic: 'Minimum' })], 6),
      );
    }
    const widgets: cloudwatch.IWidget[] = [
      graph('Route 53 health check (1 = healthy)', [replicationMetrics.healthCheck(props.healthCheckId)]),
    ];
    if (replication.databaseClusterId !== undefined) {
      widgets.push(
        graph('Aurora Global Database replication lag (ms)', [
          replicationMetrics.database(replication.databaseClusterId),
        ]),
      );
    }
    if (replication.cacheNodeIds !== undefined) {
      widgets.push(graph('Global Datastore replication lag (s)', [replicationMetrics.cache(replication.cacheNodeIds)]));
    }
    if (replication.fileSystemId !== undefined) {
      widgets.push(graph('EFS time since last sync (s)', [replicationMetrics.files(replication.fileSystemId)]));
    }
    for (let i = 0; i < widgets.length; i += 2) this.dashboard.addWidgets(...widgets.slice(i, i + 2));
  }
}

/** One region as the environment dashboard sees it: alarms found by ARN, never by a reference. */
export interface EnvironmentDashboardRegion {
  /** Column title, for example `us-east-1 (created as primary)`. */
  readonly label: string;
  /** AWS region. */
  readonly region: string;
  /**
   * ARN of each of the region's alarms (computed from the fixed names of `names.ts`), in the order of
   * {@link EnvironmentDashboardProps.alarms}.
   */
  readonly alarmArns: readonly string[];
}

/** Properties of {@link EnvironmentDashboard}. */
export interface EnvironmentDashboardProps {
  /** The two regions, the config's primary first. */
  readonly regions: [EnvironmentDashboardRegion, EnvironmentDashboardRegion];
  /** The alarms every region has (`regionAlarms` of `names.ts`), a row each, in this order. */
  readonly alarms: readonly RegionAlarmRef[];
  /**
   * Health checks that steer the PRIMARY failover record when a Region switch plan gates it: a full-width
   * row shows them (1 = healthy; the gate at 0 means DNS answers with the secondary).
   * @default - no such row
   */
  readonly dnsSteering?: {
    readonly primaryGateHealthCheckId: string;
    readonly planPrimaryHealthCheckId: string;
    readonly primaryEndpointHealthCheckId: string;
  };
}

/** What each alarm's graph shows. */
const ALARM_TITLES: Readonly<Record<ServiceAlarmId | ReplicationAlarmId | typeof SERVICE_HEALTH_ALARM, string>> = {
  Target5xx: 'target 5xx / min',
  LatencyP99: 'target latency p99 (s)',
  HealthyHosts: 'healthy hosts',
  DatabaseReplicationLag: 'Aurora Global Database replication lag (ms)',
  CacheReplicationLag: 'Global Datastore replication lag (s)',
  FilesSinceLastSync: 'EFS time since last sync (s)',
  ServiceHealth: "any service's 5xx or healthy hosts",
};

/** Title of an alarm's row: `web: target 5xx / min`, or the replication metric's name. */
export function alarmTitle(ref: RegionAlarmRef): string {
  return ref.service === undefined ? ALARM_TITLES[ref.alarm] : `${ref.service}: ${ALARM_TITLES[ref.alarm]}`;
}

/**
 * The environment's dashboard, both regions side by side: with a Region switch plan, a first row with the
 * health checks that steer the PRIMARY record; then the state of every region alarm, and a row per alarm with
 * its metric and threshold in each region (every region has every alarm, whatever its role): each service's
 * alarms, then one per data component the environment has. The other region's alarms are named by the ARNs their fixed names
 * give (`names.ts`), so nothing here reads a value of the other region's stacks. The full metrics of a region
 * (requests, its health check) are on that region's own dashboard, in its app stack.
 */
export class EnvironmentDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: EnvironmentDashboardProps) {
    super(scope, id);
    this.dashboard = newDashboard(this);
    if (props.dnsSteering) this.dashboard.addWidgets(dnsSteeringWidget(props.dnsSteering));
    const imported = this.importAlarms(props);
    this.dashboard.addWidgets(
      ...props.regions.map(
        (r, i) =>
          new cloudwatch.AlarmStatusWidget({ title: `Alarms: ${r.label}`, alarms: imported[i]!, width: 12, height: 4 }),
      ),
    );
    for (const [j, ref] of props.alarms.entries()) {
      this.dashboard.addWidgets(
        ...props.regions.map(
          (r, i) =>
            new cloudwatch.AlarmWidget({
              title: `${alarmTitle(ref)}: ${r.label}`,
              alarm: imported[i]![j]!,
              region: r.region,
              width: 12,
              height: 6,
            }),
        ),
      );
    }
  }

  /** Each region's alarms, by ARN, in the order of `props.alarms`. */
  private importAlarms(props: EnvironmentDashboardProps): cloudwatch.IAlarm[][] {
    return props.regions.map((r, i) => {
      if (r.alarmArns.length !== props.alarms.length) {
        throw new Error(
          `${this.node.path}: ${r.region} has ${r.alarmArns.length} alarm ARNs for ${props.alarms.length} alarms`,
        );
      }
      return props.alarms.map((ref, j) =>
        cloudwatch.Alarm.fromAlarmArn(this, `Region${i + 1}${ref.service ?? ''}${ref.alarm}`, r.alarmArns[j]!),
      );
    });
  }
}

/** The three health checks that steer the PRIMARY record, on one graph. */
function dnsSteeringWidget(steering: NonNullable<EnvironmentDashboardProps['dnsSteering']>): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: 'DNS steering of the PRIMARY record (1 = healthy; gate 0 = DNS answers with the secondary)',
    left: [
      replicationMetrics
        .healthCheck(steering.primaryGateHealthCheckId)
        .with({ label: 'PRIMARY record gate (endpoint AND plan)' }),
      replicationMetrics
        .healthCheck(steering.planPrimaryHealthCheckId)
        .with({ label: "Region switch plan's primary check" }),
      replicationMetrics
        .healthCheck(steering.primaryEndpointHealthCheckId)
        .with({ label: "Primary region's endpoint check" }),
    ],
    leftYAxis: { min: 0, max: 1 },
    width: 24,
    height: 5,
  });
}
