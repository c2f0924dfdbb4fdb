import { EnvironmentConfig } from './config';
import { HEALTH_CHECK_INTERVAL_SECONDS } from './constructs/failover-dns';

/**
 * TTL that Route 53 gives alias records pointing at an ALB; resolvers may
 * keep the old answer this long after the failover record changes.
 */
export const ALB_ALIAS_TTL_SECONDS = 60;

/** Expected detection and switch times of an environment, in seconds. */
export interface FailoverTiming {
  /** Dead instance to out of the ALB's rotation: ALB interval x unhealthy threshold, the longest of the services'. */
  readonly targetDetectionSeconds: number;
  /** Unhealthy region to failover record switched: Route 53 interval x failure threshold. */
  readonly regionDetectionSeconds: number;
  /** Worst case until every client resolves the other region: detection + alias TTL. */
  readonly dnsFailoverWorstCaseSeconds: number;
}

/** Computes the expected failover times from an environment's health check settings. */
export function failoverTiming(config: EnvironmentConfig): FailoverTiming {
  const regionDetectionSeconds = HEALTH_CHECK_INTERVAL_SECONDS * config.dns.healthCheckFailureThreshold;
  return {
    targetDetectionSeconds: Math.max(
      ...config.services.map((s) => s.healthCheck.intervalSeconds * s.healthCheck.unhealthyThresholdCount),
    ),
    regionDetectionSeconds,
    dnsFailoverWorstCaseSeconds: regionDetectionSeconds + ALB_ALIAS_TTL_SECONDS,
  };
}
