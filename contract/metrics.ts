/**
 * The CloudWatch metrics that the CDK app alarms on and that the switch functions and the operator CLI read.
 */

/** A CloudWatch metric with one dimension. */
export interface MetricName {
  /** Namespace, for example `AWS/Route53`. */
  readonly namespace: string;
  /** Metric name. */
  readonly metricName: string;
  /** Name of its one dimension. */
  readonly dimension: string;
}

/** Route 53 publishes health-check metrics in us-east-1 only. */
export const ROUTE53_METRICS_REGION = 'us-east-1';

/** Status of a Route 53 health check: 1 healthy, 0 not (its `Minimum` over a minute), in {@link ROUTE53_METRICS_REGION}. */
export const HEALTH_CHECK_STATUS = {
  namespace: 'AWS/Route53',
  metricName: 'HealthCheckStatus',
  dimension: 'HealthCheckId',
} as const satisfies MetricName;

/** Aurora Global Database lag of a secondary cluster, in milliseconds (published only while it is a secondary). */
export const AURORA_GLOBAL_REPLICATION_LAG = {
  namespace: 'AWS/RDS',
  metricName: 'AuroraGlobalDBReplicationLag',
  dimension: 'DBClusterIdentifier',
} as const satisfies MetricName;
