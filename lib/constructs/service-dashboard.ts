import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { RegionAlarmId } from '../names';
import { replicationMetrics } from './region-alarms';

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
  /** The region's target group. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** The region's Route 53 health check. */
  readonly healthCheckId: string;
  /** Aurora cluster ID when the region is the Global Database secondary. @default - none */
  readonly secondaryDatabaseClusterId?: string;
  /** Cache node ID when the region is the Global Datastore secondary. @default - none */
  readonly secondaryCacheNodeId?: string;
  /** EFS source and destination when the region replicates its files. @default - none */
  readonly fileReplication?: { readonly sourceFileSystemId: string; readonly destinationFileSystemId: string };
}

/**
 * The dashboard of one region, in the stack that owns what it shows (so no value on it can go stale):
 * requests, target 5xx, p99 target latency, healthy hosts, the region's Route 53 health check status, and the
 * replication metrics of the data-tier ends the region holds (Aurora Global Database and Global Datastore lag
 * in the secondary, EFS time since last sync at the source).
 */
export class RegionDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RegionDashboardProps) {
    super(scope, id);
    this.dashboard = newDashboard(this);
    const minute = Duration.minutes(1);
    const tg = props.targetGroup;
    const graph = (title: string, metrics: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left: metrics, width: 12, height: 6 });
    const widgets: cloudwatch.IWidget[] = [
      graph('Requests / min', [tg.metrics.requestCount({ period: minute, statistic: 'Sum' })]),
      graph('Target 5xx / min', [
        tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute, statistic: 'Sum' }),
      ]),
      graph('Target latency p99 (s)', [tg.metrics.targetResponseTime({ period: minute, statistic: 'p99' })]),
      graph('Healthy hosts', [tg.metrics.healthyHostCount({ period: minute, statistic: 'Minimum' })]),
      graph('Route 53 health check (1 = healthy)', [replicationMetrics.healthCheck(props.healthCheckId)]),
    ];
    if (props.secondaryDatabaseClusterId) {
      widgets.push(
        graph('Aurora Global Database replication lag (ms)', [
          replicationMetrics.database(props.secondaryDatabaseClusterId),
        ]),
      );
    }
    if (props.secondaryCacheNodeId) {
      widgets.push(
        graph('Global Datastore replication lag (s)', [replicationMetrics.cache(props.secondaryCacheNodeId)]),
      );
    }
    if (props.fileReplication) {
      widgets.push(
        graph('EFS time since last sync (s)', [
          replicationMetrics.files(
            props.fileReplication.sourceFileSystemId,
            props.fileReplication.destinationFileSystemId,
          ),
        ]),
      );
    }
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${props.title}`, width: 24, height: 1 }));
    for (let i = 0; i < widgets.length; i += 2) this.dashboard.addWidgets(...widgets.slice(i, i + 2));
  }
}

/** One region as the environment dashboard sees it: alarms found by ARN, never by a reference. */
export interface EnvironmentDashboardRegion {
  /** Column title, for example `Primary: us-east-1`. */
  readonly label: string;
  /** AWS region. */
  readonly region: string;
  /** ARN of each of the region's alarms that exist there (computed from the fixed names of `names.ts`). */
  readonly alarmArns: Partial<Record<RegionAlarmId, string>>;
}

/** Properties of {@link EnvironmentDashboard}. */
export interface EnvironmentDashboardProps {
  /** The two regions, primary first. */
  readonly regions: [EnvironmentDashboardRegion, EnvironmentDashboardRegion];
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

/** The rows of the environment dashboard, in order, each one alarm of each region. */
const ENVIRONMENT_ROWS: readonly { readonly alarm: RegionAlarmId; readonly title: string }[] = [
  { alarm: 'Target5xx', title: 'Target 5xx / min' },
  { alarm: 'LatencyP99', title: 'Target latency p99 (s)' },
  { alarm: 'HealthyHosts', title: 'Healthy hosts' },
  { alarm: 'DatabaseReplicationLag', title: 'Aurora Global Database replication lag (ms)' },
  { alarm: 'CacheReplicationLag', title: 'Global Datastore replication lag (s)' },
  { alarm: 'FilesSinceLastSync', title: 'EFS time since last sync (s)' },
];

/**
 * The environment's dashboard, both regions side by side: with a Region switch plan, a first row with the
 * health checks that steer the PRIMARY record; then the state of every region alarm, and a row per alarm with
 * its metric and threshold in each region. The other region's alarms are named by the ARNs their fixed names
 * give (`names.ts`), so nothing here reads a value of the other region's stacks. The full metrics of a region
 * (requests, its health check) are on that region's own dashboard, in its app stack.
 */
export class EnvironmentDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: EnvironmentDashboardProps) {
    super(scope, id);
    this.dashboard = newDashboard(this);
    if (props.dnsSteering) {
      const steering = props.dnsSteering;
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
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
        }),
      );
    }
    const imported = props.regions.map((r, i) =>
      Object.fromEntries(
        Object.entries(r.alarmArns).map(([alarm, arn]) => [
          alarm,
          cloudwatch.Alarm.fromAlarmArn(this, `Region${i + 1}${alarm}`, arn as string),
        ]),
      ),
    ) as Partial<Record<RegionAlarmId, cloudwatch.IAlarm>>[];
    this.dashboard.addWidgets(
      ...props.regions.map(
        (r, i) =>
          new cloudwatch.AlarmStatusWidget({
            title: `Alarms: ${r.label}`,
            alarms: Object.values(imported[i]!).filter((a): a is cloudwatch.IAlarm => a !== undefined),
            width: 12,
            height: 4,
          }),
      ),
    );
    for (const row of ENVIRONMENT_ROWS) {
      this.dashboard.addWidgets(
        ...props.regions.map((r, i) => {
          const alarm = imported[i]![row.alarm];
          return alarm
            ? new cloudwatch.AlarmWidget({
                title: `${row.title}: ${r.label}`,
                alarm,
                region: r.region,
                width: 12,
                height: 6,
              })
            : new cloudwatch.TextWidget({
                markdown: `${row.title}: not replicated into ${r.region}`,
                width: 12,
                height: 6,
              });
        }),
      );
    }
  }
}
