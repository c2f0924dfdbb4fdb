import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Thresholds of the region alarms. */
export interface AlarmThresholds {
  /** Target 5xx responses per minute. */
  readonly target5xxPerMinute: number;
  /** p99 target response time. */
  readonly latencyP99: Duration;
  /** Fewest healthy targets before the alarm fires. */
  readonly minHealthyHosts: number;
  /** Aurora Global Database replication lag (secondary region). */
  readonly databaseLag: Duration;
  /** Global Datastore replication lag (secondary region). */
  readonly cacheLag: Duration;
  /** Time since the last EFS replication sync (primary region, the source). */
  readonly filesSinceLastSync: Duration;
}

/** Default thresholds: well inside the RPOs the README states. */
export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  target5xxPerMinute: 10,
  latencyP99: Duration.seconds(2),
  minHealthyHosts: 1,
  databaseLag: Duration.seconds(5),
  cacheLag: Duration.seconds(10),
  filesSinceLastSync: Duration.minutes(30),
};

/** Properties of {@link RegionAlarms}. */
export interface RegionAlarmsProps {
  /** The region's target group (and through it, its load balancer). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** Topic the alarms notify. */
  readonly topic: sns.ITopic;
  /** Thresholds. @default DEFAULT_ALARM_THRESHOLDS */
  readonly thresholds?: AlarmThresholds;
  /**
   * Identifier of this region's Aurora cluster when it is the Global Database secondary.
   * @default - no replication lag alarm (the primary region)
   */
  readonly secondaryDatabaseClusterId?: string;
  /**
   * Node ID of this region's cache primary when it is the Global Datastore secondary (`<group>-001`).
   * @default - no cache lag alarm (the primary region)
   */
  readonly secondaryCacheNodeId?: string;
  /**
   * Source and destination file systems when this region is the EFS replication source.
   * @default - no sync alarm
   */
  readonly fileReplication?: { readonly sourceFileSystemId: string; readonly destinationFileSystemId: string };
}

/** The replication metrics of the data tier, shared by the alarms and the dashboard. */
export const replicationMetrics = {
  /** Aurora Global Database lag of a secondary cluster, ms. */
  database: (clusterId: string, region?: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName: 'AuroraGlobalDBReplicationLag',
      dimensionsMap: { DBClusterIdentifier: clusterId },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      region,
    }),
  /** Global Datastore lag of the secondary's primary node, seconds. */
  cache: (nodeId: string, region?: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ElastiCache',
      metricName: 'GlobalDatastoreReplicationLag',
      dimensionsMap: { CacheClusterId: nodeId },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      region,
    }),
  /** Seconds since the last completed EFS replication sync. */
  files: (sourceFileSystemId: string, destinationFileSystemId: string, region?: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/EFS',
      metricName: 'TimeSinceLastSync',
      dimensionsMap: { FileSystemId: sourceFileSystemId, DestinationFileSystemId: destinationFileSystemId },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
      region,
    }),
  /** Route 53 health check status (1 healthy, 0 not), published in us-east-1 only. */
  healthCheck: (healthCheckId: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Route53',
      metricName: 'HealthCheckStatus',
      dimensionsMap: { HealthCheckId: healthCheckId },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
      region: 'us-east-1',
    }),
};

/**
 * The alarms of one region, all to the region's alarm topic: target 5xx, p99
 * latency and healthy hosts of the web fleet, and the replication health of
 * the data tier where this region holds one end of it (Aurora and Global
 * Datastore lag in the secondary, EFS time since last sync at the source).
 * Missing data counts as OK for traffic alarms and as breaching for
 * replication alarms (a replication that stops reporting has stopped).
 */
export class RegionAlarms extends Construct {
  /** Every alarm created, by name. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: RegionAlarmsProps) {
    super(scope, id);
    const t = props.thresholds ?? DEFAULT_ALARM_THRESHOLDS;
    const tg = props.targetGroup;
    const minute = Duration.minutes(1);

    this.add(
      'Target5xx',
      'Targets answer with 5xx',
      {
        metric: tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute, statistic: 'Sum' }),
        threshold: t.target5xxPerMinute,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
      props.topic,
    );
    this.add(
      'LatencyP99',
      'p99 target response time is high',
      {
        metric: tg.metrics.targetResponseTime({ period: minute, statistic: 'p99' }),
        threshold: t.latencyP99.toSeconds(),
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
      props.topic,
    );
    this.add(
      'HealthyHosts',
      'Too few healthy targets behind the load balancer',
      {
        metric: tg.metrics.healthyHostCount({ period: minute, statistic: 'Minimum' }),
        threshold: t.minHealthyHosts,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
      props.topic,
    );

    if (props.secondaryDatabaseClusterId) {
      this.add(
        'DatabaseReplicationLag',
        'Aurora Global Database replication lag is high',
        {
          metric: replicationMetrics.database(props.secondaryDatabaseClusterId),
          threshold: t.databaseLag.toMilliseconds(),
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
        props.topic,
      );
    }
    if (props.secondaryCacheNodeId) {
      this.add(
        'CacheReplicationLag',
        'Global Datastore replication lag is high',
        {
          metric: replicationMetrics.cache(props.secondaryCacheNodeId),
          threshold: t.cacheLag.toSeconds(),
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
        props.topic,
      );
    }
    if (props.fileReplication) {
      this.add(
        'FilesSinceLastSync',
        'EFS replication has not synced recently',
        {
          metric: replicationMetrics.files(
            props.fileReplication.sourceFileSystemId,
            props.fileReplication.destinationFileSystemId,
          ),
          threshold: t.filesSinceLastSync.toSeconds(),
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
        props.topic,
      );
    }
  }

  private add(id: string, description: string, props: cloudwatch.AlarmProps, topic: sns.ITopic): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...props,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
    this.alarms[id] = alarm;
  }
}
