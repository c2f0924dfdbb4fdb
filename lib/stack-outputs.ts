/**
 * Names of the stack outputs that something outside the CDK app reads at run time: the operator CLI and the
 * region switch functions. An output is read from the stack that owns the value, when it is needed, so it is
 * never stale. No aws-cdk-lib import: the Lambda bundles import this module.
 */

/** Outputs of each region's App stack (`HaWeb-<env>-App-<region>`). */
export const APP_OUTPUTS = {
  /** ID of the region's Route 53 health check (its deep readiness endpoint). */
  healthCheckId: 'HealthCheckId',
  /** DNS name of the region's load balancer. */
  loadBalancerDnsName: 'LoadBalancerDnsName',
  /**
   * Output key of the ARN of one service's target group: `TargetGroupArn` + the service name in Pascal case
   * (`web` → `TargetGroupArnWeb`, `order-api` → `TargetGroupArnOrderApi`).
   */
  targetGroupArn: (service: string): string => `TargetGroupArn${servicePascalName(service)}`,
  /** The region's own URL, `https://<region>.<domain>/`. */
  regionalUrl: 'RegionalUrl',
} as const;

/** Outputs of each region's Storage stack. */
export const STORAGE_OUTPUTS = {
  /** ID of the region's EFS file system. */
  fileSystemId: 'FileSystemId',
} as const;

/** Outputs of the primary region's Data stack. */
export const DATA_OUTPUTS = {
  /** Full ID of the ElastiCache Global Datastore (the prefix AWS assigns and the fixed suffix). */
  globalDatastoreId: 'GlobalDatastoreId',
} as const;

/** Outputs of the primary region's Operations stack when a Region switch plan steers DNS. */
export const DNS_OUTPUTS = {
  /** The plan's health check of the primary region. */
  planPrimaryHealthCheckId: 'PlanPrimaryHealthCheckId',
  /** The PRIMARY record's calculated health check. */
  primaryGateHealthCheckId: 'PrimaryGateHealthCheckId',
} as const;

/** Outputs of the primary region's Operations stack when a Region switch plan exists: the groups the plan scales. */
export const PLAN_OUTPUTS = {
  /**
   * Output key of the ARN of `service`'s Auto Scaling group that the plan scales in `region`: `PlanFleetArn` +
   * region without dashes + the service in Pascal case (`PlanFleetArnuseast1Web`).
   */
  fleetArn: (region: string, service: string): string =>
    `PlanFleetArn${region.replace(/-/g, '')}${servicePascalName(service)}`,
} as const;

/**
 * A service name (`config.services[].name`: lower-case letters, digits and single dashes) in Pascal case, for
 * output keys and construct IDs: `order-api` → `OrderApi`.
 */
export function servicePascalName(service: string): string {
  return service
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
