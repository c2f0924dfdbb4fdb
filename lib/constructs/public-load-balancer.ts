import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { createPrivateBucket } from '../defaults';
import { acknowledgeNag } from '../nag';

/** Properties of a {@link PublicLoadBalancer}. */
export interface PublicLoadBalancerProps {
  /** VPC whose public subnets hold the load balancer. */
  readonly vpc: ec2.IVpc;
  /** Security group of the load balancer (egress to the instances is added by the fleet). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Hosted zone that validates the certificate by DNS. */
  readonly hostedZone: route53.IHostedZone;
  /** The service's public name (the failover record). */
  readonly domainName: string;
  /** This region's own name, which Route 53 health checks use. */
  readonly regionalDomainName: string;
  /** Refuse deletion of the load balancer (production). */
  readonly deletionProtection: boolean;
  /** Days access logs are kept. */
  readonly accessLogRetentionDays: number;
}

/** The body of the listener's answer to a request no service's rule matches. */
export const NOT_FOUND_BODY = '{"error":"not_found","message":"No service serves this path."}';

/**
 * The region's entry point: an internet-facing ALB that ends TLS with an ACM
 * certificate (DNS-validated in the hosted zone, covering the service name and
 * the regional name) under a TLS 1.3 policy, routes by listener rules to the services (a 404 for what none
 * serves), redirects HTTP to HTTPS, drops
 * invalid header fields and writes access logs to an encrypted bucket.
 */
export class PublicLoadBalancer extends Construct {
  /** The load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The shared HTTPS listener: each service adds its rule; the default action answers 404. */
  public readonly httpsListener: elbv2.ApplicationListener;
  /** The certificate. */
  public readonly certificate: acm.Certificate;
  /** The access log bucket. */
  public readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: PublicLoadBalancerProps) {
    super(scope, id);
    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: props.domainName,
      subjectAlternativeNames: [props.regionalDomainName],
      validation: acm.CertificateValidation.fromDns(props.hostedZone),
    });

    // ALB access logs accept SSE-S3 only (not SSE-KMS).
    this.accessLogs = createPrivateBucket(this, 'AccessLogs', { expirationDays: props.accessLogRetentionDays });

    acknowledgeNag(
      this.accessLogs,
      'AwsSolutions-S1',
      'This bucket holds the ALB access logs themselves; only the ELB log delivery service writes to it, ' +
        'it is TLS-only, versioned and private, and server access logs of it would need yet another bucket.',
    );

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Resource', {
      vpc: props.vpc,
      internetFacing: true,
      securityGroup: props.securityGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection,
      http2Enabled: true,
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(this.accessLogs, 'alb');

    this.httpsListener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [this.certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: true,
      // The gateway: each service's listener rule forwards its own requests; what no rule matches is a 404.
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: NOT_FOUND_BODY,
      }),
    });
    this.loadBalancer.addRedirect({
      sourcePort: 80,
      sourceProtocol: elbv2.ApplicationProtocol.HTTP,
      targetPort: 443,
      targetProtocol: elbv2.ApplicationProtocol.HTTPS,
    });
  }
}
