import { Match } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { FailoverDns, FailoverDnsProps } from '../../lib/constructs/failover-dns';
import { bareStack, templateOf, testHostedZone, testVpc, recordNamed } from '../harness';
import { logicalIdOf, onlyResource } from '../helpers';

const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const REGIONAL_DOMAIN_NAME = 'us-east-1.app.example.com';
const HEALTH_CHECK_PATH = '/health/ready';

/** The settings a test may change; the inputs (zone, load balancer) are made on the bare stack. */
type Settings = Omit<FailoverDnsProps, 'hostedZone' | 'loadBalancer'>;

const DEFAULTS: Settings = {
  regionalDomainName: REGIONAL_DOMAIN_NAME,
  healthCheckPath: HEALTH_CHECK_PATH,
  failureThreshold: 3,
};

/** A {@link FailoverDns} on a bare stack with an imported hosted zone and a load balancer in a VPC. */
function build(settings: Partial<Settings> = {}) {
  const stack = bareStack();
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', {
    vpc: testVpc(stack),
    internetFacing: true,
  });
  new FailoverDns(stack, 'Dns', {
    hostedZone: testHostedZone(stack, 'example.com'),
    loadBalancer,
    ...DEFAULTS,
    ...settings,
  });
  return { loadBalancer, template: templateOf(stack) };
}

describe('FailoverDns', () => {
  const { loadBalancer, template } = build();
  const lbId = logicalIdOf(loadBalancer);

  describe('health check', () => {
    test('is the one health check', () => {
      template.resourceCountIs('AWS::Route53::HealthCheck', 1);
    });

    test('requests HTTPS on port 443 with SNI', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ Type: 'HTTPS', Port: 443, EnableSNI: true }),
      });
    });

    test('requests regionalDomainName', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ FullyQualifiedDomainName: REGIONAL_DOMAIN_NAME }),
      });
    });

    test('requests healthCheckPath, the deep readiness path', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ ResourcePath: HEALTH_CHECK_PATH }),
      });
    });

    test('checks every 10 seconds', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ RequestInterval: 10 }),
      });
    });

    test('fails after failureThreshold consecutive failures', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ FailureThreshold: 3 }),
      });
    });

    test('a failureThreshold of 5 reaches the health check', () => {
      const { resource } = onlyResource(build({ failureThreshold: 5 }).template, 'AWS::Route53::HealthCheck');
      expect(resource.Properties.HealthCheckConfig.FailureThreshold).toBe(5);
    });
  });

  describe('regional record', () => {
    test('is an A record for regionalDomainName in the given hosted zone, without failover', () => {
      const record = recordNamed(template, REGIONAL_DOMAIN_NAME);
      expect(record.Properties).toMatchObject({ Type: 'A', HostedZoneId: ZONE_ID });
      expect(record.Properties.Failover).toBeUndefined();
      expect(record.Properties.HealthCheckId).toBeUndefined();
      expect(record.Properties.SetIdentifier).toBeUndefined();
    });

    test('is the only record', () => {
      template.resourceCountIs('AWS::Route53::RecordSet', 1);
    });

    test('is an alias of the load balancer that evaluates its target health', () => {
      const alias = recordNamed(template, REGIONAL_DOMAIN_NAME).Properties.AliasTarget;
      expect(alias.HostedZoneId).toEqual({ 'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'] });
      expect(JSON.stringify(alias.DNSName)).toContain(JSON.stringify({ 'Fn::GetAtt': [lbId, 'DNSName'] }));
      expect(alias.EvaluateTargetHealth).toBe(true);
    });
  });
});
