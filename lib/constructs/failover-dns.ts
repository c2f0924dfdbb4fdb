import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Interval of the Route 53 health checks; 10 s is the fast option. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 10;

/** Properties of a {@link FailoverDns}. */
export interface FailoverDnsProps {
  /** The zone the regional record goes in. */
  readonly hostedZone: route53.IHostedZone;
  /** The region's load balancer. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** This region's own name; the health check requests it, so TLS and SNI match the certificate. */
  readonly regionalDomainName: string;
  /** Path of the deep readiness endpoint. */
  readonly healthCheckPath: string;
  /** Consecutive failures before the region counts as unhealthy. */
  readonly failureThreshold: number;
}

/**
 * One region's input to the DNS failover: a regional alias record for the
 * load balancer and an HTTPS Route 53 health check on the deep readiness path
 * of that name (10 s interval). The failover records of the service's name,
 * which use these health checks, are a {@link FailoverRecords} in the primary
 * region's operations stack, next to the Region switch plan that also steers them.
 */
export class FailoverDns extends Construct {
  /** The Route 53 health check of this region's endpoint. */
  public readonly healthCheck: route53.HealthCheck;
  /** The regional record (`<region>.<domain>`). */
  public readonly regionalRecord: route53.ARecord;

  constructor(scope: Construct, id: string, props: FailoverDnsProps) {
    super(scope, id);
    this.regionalRecord = new route53.ARecord(this, 'RegionalRecord', {
      zone: props.hostedZone,
      recordName: props.regionalDomainName,
      target: route53.RecordTarget.fromAlias(
        new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true }),
      ),
    });
    this.healthCheck = new route53.HealthCheck(this, 'HealthCheck', {
      type: route53.HealthCheckType.HTTPS,
      fqdn: props.regionalDomainName,
      port: 443,
      resourcePath: props.healthCheckPath,
      enableSNI: true,
      requestInterval: Duration.seconds(HEALTH_CHECK_INTERVAL_SECONDS),
      failureThreshold: props.failureThreshold,
      measureLatency: true,
    });
  }
}
