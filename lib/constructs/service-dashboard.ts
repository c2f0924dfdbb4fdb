import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { replicationMetrics } from './region-alarms';

/** What the dashboard shows of one region. */
export interface DashboardRegion {
  /** Column title, for example `primary (us-east-1)`. */
  readonly label: string;
  /** AWS region of the metrics. */
  readonly region: string;
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

/** Properties of {@link ServiceDashboard}. */
export interface ServiceDashboardProps {
  /** The two regions, primary first. */
  readonly regions: [DashboardRegion, DashboardRegion];
  /**
   * Health checks that steer the PRIMARY failover record when a Region switch plan gates it: a full-width
   * row shows them (1 = healthy; the gate at 0 means DNS answers with the secondary).
   * @default - no such row
   */
  readonly dnsSteering?: { readonly primaryGateHealthCheckId: string; readonly planPrimaryHealthCheckId: string };
}

/**
 * One CloudWatch dashboard per environment with both regions side by side:
 * requests, target 5xx, p99 target latency, healthy hosts, Route 53 health
 * check status, Aurora Global Database replication lag, Global Datastore
 * replication lag and EFS time since last sync; with a Region switch plan, a
 * first row with the health checks that steer the PRIMARY failover record.
 */
export class ServiceDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      defaultInterval: Duration.hours(3),
      periodOverride: cloudwatch.PeriodOverride.AUTO,
    });
    const minute = Duration.minutes(1);
    const rows: { title: string; metrics: (r: DashboardRegion) => cloudwatch.IMetric[] }[] = [
      {
        title: 'Requests / min',
        metrics: (r) => [r.targetGroup.metrics.requestCount({ region: r.region, period: minute, statistic: 'Sum' })],
      },
      {
        title: 'Target 5xx / min',
        metrics: (r) => [
          r.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
            region: r.region,
            period: minute,
            statistic: 'Sum',
          }),
        ],
      },
      {
        title: 'Target latency p99 (s)',
        metrics: (r) => [
          r.targetGroup.metrics.targetResponseTime({ region: r.region, period: minute, statistic: 'p99' }),
        ],
      },
      {
        title: 'Healthy hosts',
        metrics: (r) => [
          r.targetGroup.metrics.healthyHostCount({ region: r.region, period: minute, statistic: 'Minimum' }),
        ],
      },
      {
        title: 'Route 53 health check (1 = healthy)',
        metrics: (r) => [replicationMetrics.healthCheck(r.healthCheckId)],
      },
      {
        title: 'Aurora Global Database replication lag (ms)',
        metrics: (r) =>
          r.secondaryDatabaseClusterId ? [replicationMetrics.database(r.secondaryDatabaseClusterId, r.region)] : [],
      },
      {
        title: 'Global Datastore replication lag (s)',
        metrics: (r) => (r.secondaryCacheNodeId ? [replicationMetrics.cache(r.secondaryCacheNodeId, r.region)] : []),
      },
      {
        title: 'EFS time since last sync (s)',
        metrics: (r) =>
          r.fileReplication
            ? [
                replicationMetrics.files(
                  r.fileReplication.sourceFileSystemId,
                  r.fileReplication.destinationFileSystemId,
                  r.region,
                ),
              ]
            : [],
      },
    ];
    if (props.dnsSteering) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'DNS steering of the PRIMARY record (1 = healthy; gate 0 = DNS answers with the secondary)',
          left: [
            replicationMetrics
              .healthCheck(props.dnsSteering.primaryGateHealthCheckId)
              .with({ label: 'PRIMARY record gate (endpoint AND plan)' }),
            replicationMetrics
              .healthCheck(props.dnsSteering.planPrimaryHealthCheckId)
              .with({ label: "Region switch plan's primary check" }),
          ],
          leftYAxis: { min: 0, max: 1 },
          width: 24,
          height: 5,
        }),
      );
    }
    this.dashboard.addWidgets(
      ...props.regions.map((r) => new cloudwatch.TextWidget({ markdown: `## ${r.label}`, width: 12, height: 1 })),
    );
    for (const row of rows) {
      this.dashboard.addWidgets(
        ...props.regions.map((r) => {
          const metrics = row.metrics(r);
          return metrics.length > 0
            ? new cloudwatch.GraphWidget({ title: `${row.title}: ${r.region}`, left: metrics, width: 12, height: 6 })
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
