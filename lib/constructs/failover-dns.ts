import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Interval of the Route 53 health checks; 10 s is the fast option. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 10;

/** Properties of a {@link FailoverDns}. */
export interface FailoverDnsProps {
  /** The zone the records go in. */
  readonly hostedZone: route53.IHostedZone;
  /** The region's load balancer. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The service's public name, shared by both regions' failover records. */
  readonly domainName: string;
  /** This region's own name; the health check requests it, so TLS and SNI match the certificate. */
  readonly regionalDomainName: string;
  /** `PRIMARY` or `SECONDARY` failover role of this region's record. */
  readonly failover: route53.Failover;
  /** Unique set identifier of the record, for example the region name. */
  readonly setIdentifier: string;
  /** Path of the deep readiness endpoint. */
  readonly healthCheckPath: string;
  /** Consecutive failures before the region counts as unhealthy. */
  readonly failureThreshold: number;
}

/**
 * One region's half of the DNS failover: a regional alias record for the
 * load balancer, an HTTPS Route 53 health check on the deep readiness path of
 * that name (10 s interval), and the failover alias record of the service's
 * name that uses the health check and evaluates the target's health.
 */
export class FailoverDns extends Construct {
  /** The Route 53 health check of this region. */
  public readonly healthCheck: route53.HealthCheck;
  /** The failover record of the service's name. */
  public readonly record: route53.ARecord;

  constructor(scope: Construct, id: string, props: FailoverDnsProps) {
    super(scope, id);
    const target = route53.RecordTarget.fromAlias(
      new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true }),
    );
    new route53.ARecord(this, 'RegionalRecord', {
      zone: props.hostedZone,
      recordName: props.regionalDomainName,
      target,
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
    this.record = new route53.ARecord(this, 'FailoverRecord', {
      zone: props.hostedZone,
      recordName: props.domainName,
      target,
      failover: props.failover,
      setIdentifier: props.setIdentifier,
      healthCheck: this.healthCheck,
    });
  }
}
