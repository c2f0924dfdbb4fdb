import { Fn } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** One region's end of the failover records. */
export interface FailoverRegion {
  /** Region name. */
  readonly region: string;
  /** The region's load balancer (the alias target). */
  readonly loadBalancer: elbv2.ILoadBalancerV2;
  /** The region's endpoint health check (HTTPS on the deep readiness path). */
  readonly healthCheck: route53.IHealthCheck;
  /** Set identifier of the region's record; the Region switch plan names the records by it. */
  readonly setIdentifier: string;
}

/** Properties of {@link FailoverRecords}. */
export interface FailoverRecordsProps {
  /** The zone the records go in. */
  readonly hostedZone: route53.IHostedZone;
  /** The service's name. */
  readonly domainName: string;
  /** The primary region, then the secondary. */
  readonly regions: [FailoverRegion, FailoverRegion];
  /**
   * The Region switch plan's `PlanHealthChecks` attribute, when a plan steers
   * DNS: the PRIMARY record then also needs the plan's health check of the
   * primary region to be healthy.
   * @default - the records follow the endpoint health checks only
   */
  readonly planHealthChecks?: string[];
}

/**
 * The ID of one region's health check in a Region switch plan's
 * `PlanHealthChecks` attribute, selected by region name rather than by list
 * position (the order is not documented).
 *
 * Each entry reads `<hostedZoneId>:<recordName>:<region>:<healthCheckId>` (the
 * attribute has no published description; this shape was observed on deployed
 * plans). The entries are joined with commas, the text is split at
 * `:<region>:`, and the ID is what follows, up to the next comma. A plan without
 * an entry for the region fails the deployment (Fn::Select out of range)
 * instead of attaching a wrong health check.
 */
export function planHealthCheckIdOf(planHealthChecks: string[], region: string): string {
  const afterRegion = Fn.select(1, Fn.split(`:${region}:`, Fn.join(',', planHealthChecks)));
  return Fn.select(0, Fn.split(',', afterRegion));
}

/**
 * The failover alias records of the service's name, one per region, each an
 * alias of its region's load balancer that evaluates target health.
 *
 * - SECONDARY: healthy while the secondary's endpoint health check is healthy.
 * - PRIMARY: without a plan, the primary's endpoint health check. With a plan,
 *   a calculated health check that is healthy only while both the endpoint
 *   check and the plan's health check of the primary region are healthy. The
 *   plan starts with that check healthy and sets it unhealthy when it activates
 *   the secondary (its Route 53 health check block), so a planned switchover
 *   moves traffic although the primary is still up; activating the primary
 *   again sets it healthy. An unhealthy primary endpoint still moves traffic
 *   by itself, with or without the plan.
 *
 * The plan's health check of the secondary region is left unattached on
 * purpose: it is unhealthy until the plan activates the secondary, and on the
 * SECONDARY record it would stop DNS failover from working before the plan ran.
 */
export class FailoverRecords extends Construct {
  /** PRIMARY record, then SECONDARY. */
  public readonly records: [route53.ARecord, route53.ARecord];
  /** The PRIMARY record's calculated health check (with a plan only). */
  public readonly primaryGate?: route53.HealthCheck;
  /** ID of the plan's health check of the primary region (with a plan only). */
  public readonly planPrimaryHealthCheckId?: string;

  constructor(scope: Construct, id: string, props: FailoverRecordsProps) {
    super(scope, id);
    const [primary, secondary] = props.regions;
    if (primary.setIdentifier === secondary.setIdentifier) {
      throw new Error(
        `${this.node.path}: both regions use the set identifier "${primary.setIdentifier}"; each record needs its own.`,
      );
    }

    let primaryCheck: route53.IHealthCheck = primary.healthCheck;
    if (props.planHealthChecks) {
      this.planPrimaryHealthCheckId = planHealthCheckIdOf(props.planHealthChecks, primary.region);
      const planCheck = route53.HealthCheck.fromHealthCheckId(this, 'PlanPrimaryCheck', this.planPrimaryHealthCheckId);
      this.primaryGate = new route53.HealthCheck(this, 'PrimaryGate', {
        type: route53.HealthCheckType.CALCULATED,
        childHealthChecks: [primary.healthCheck, planCheck],
        healthThreshold: 2,
      });
      primaryCheck = this.primaryGate;
    }

    const record = (name: string, r: FailoverRegion, failover: route53.Failover, check: route53.IHealthCheck) =>
      new route53.ARecord(this, name, {
        zone: props.hostedZone,
        recordName: props.domainName,
        target: route53.RecordTarget.fromAlias(
          new targets.LoadBalancerTarget(r.loadBalancer, { evaluateTargetHealth: true }),
        ),
        failover,
        setIdentifier: r.setIdentifier,
        healthCheck: check,
      });
    this.records = [
      record('Primary', primary, route53.Failover.PRIMARY, primaryCheck),
      record('Secondary', secondary, route53.Failover.SECONDARY, secondary.healthCheck),
    ];
  }
}
