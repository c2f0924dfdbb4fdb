import { Fn } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** Properties of a {@link FailoverRecord}. */
export interface FailoverRecordProps {
  /** The zone the record goes in. */
  readonly hostedZone: route53.IHostedZone;
  /** The service's name. */
  readonly domainName: string;
  /** Region of the record, whose load balancer it aliases. */
  readonly region: string;
  /** `PRIMARY` for the region the environment was created in, `SECONDARY` for the other. */
  readonly failover: route53.Failover;
  /** The region's load balancer (the alias target). */
  readonly loadBalancer: elbv2.ILoadBalancerV2;
  /** The region's endpoint health check (HTTPS on the deep readiness path). */
  readonly healthCheck: route53.IHealthCheck;
  /** Set identifier of the record; the Region switch plan names the records by it. */
  readonly setIdentifier: string;
  /**
   * The Region switch plan's `PlanHealthChecks` attribute, on the PRIMARY record when a plan steers DNS: the
   * record then also needs the plan's health check of its region to be healthy.
   * @default - the record follows its endpoint health check only
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
 * One region's failover alias record of the service's name: an alias of the region's load balancer that
 * evaluates target health. Each region's record lives in that region's operations stack, next to what it
 * describes, so nothing in it is read from the other region.
 *
 * - SECONDARY: healthy while the region's endpoint health check is healthy. The plan's health check of the
 *   secondary region is left unattached on purpose: it is unhealthy until the plan activates the secondary,
 *   and on this record it would stop DNS failover from working before the plan ran.
 * - PRIMARY: without a plan, the endpoint health check. With a plan, a calculated health check that is
 *   healthy only while both the endpoint check and the plan's health check of the primary region are
 *   healthy. The plan starts with that check healthy and sets it unhealthy when it activates the secondary
 *   (its Route 53 health check block), so a planned switchover moves traffic although the primary is still
 *   up; activating the primary again sets it healthy. An unhealthy primary endpoint still moves traffic by
 *   itself, with or without the plan.
 */
export class FailoverRecord extends Construct {
  /** The record. */
  public readonly record: route53.ARecord;
  /** The record's calculated health check (PRIMARY with a plan only). */
  public readonly gate?: route53.HealthCheck;
  /** ID of the plan's health check of the record's region (PRIMARY with a plan only). */
  public readonly planHealthCheckId?: string;

  constructor(scope: Construct, id: string, props: FailoverRecordProps) {
    super(scope, id);
    if (props.planHealthChecks && props.failover !== route53.Failover.PRIMARY) {
      throw new Error(
        `${this.node.path}: planHealthChecks gates the PRIMARY record only; on the SECONDARY record the plan's ` +
          'check (unhealthy until the plan activates that region) would stop DNS failover from working.',
      );
    }
    let check: route53.IHealthCheck = props.healthCheck;
    if (props.planHealthChecks) {
      this.planHealthCheckId = planHealthCheckIdOf(props.planHealthChecks, props.region);
      const planCheck = route53.HealthCheck.fromHealthCheckId(this, 'PlanCheck', this.planHealthCheckId);
      this.gate = new route53.HealthCheck(this, 'Gate', {
        type: route53.HealthCheckType.CALCULATED,
        childHealthChecks: [props.healthCheck, planCheck],
        healthThreshold: 2,
      });
      check = this.gate;
    }
    this.record = new route53.ARecord(this, 'Resource', {
      zone: props.hostedZone,
      recordName: props.domainName,
      target: route53.RecordTarget.fromAlias(
        new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true }),
      ),
      failover: props.failover,
      setIdentifier: props.setIdentifier,
      healthCheck: check,
    });
  }
}
