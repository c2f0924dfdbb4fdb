import { Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PublicLoadBalancer, PublicLoadBalancerProps } from '../../lib/constructs/public-load-balancer';
import { bareStack, templateOf, testHostedZone, testSecurityGroup, testVpc } from '../harness';
import { logicalIdOf, onlyResource } from '../helpers';

const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const DOMAIN_NAME = 'app.example.com';
const REGIONAL_DOMAIN_NAME = `us-east-1.${DOMAIN_NAME}`;

/** The settings a test may change; the inputs (VPC, security group, zone) are made on the bare stack. */
type Settings = Omit<PublicLoadBalancerProps, 'vpc' | 'securityGroup' | 'hostedZone'>;

const DEFAULTS: Settings = {
  domainName: DOMAIN_NAME,
  regionalDomainName: REGIONAL_DOMAIN_NAME,
  deletionProtection: false,
  accessLogRetentionDays: 90,
};

/** A {@link PublicLoadBalancer} on a bare stack with a VPC, a security group and an imported hosted zone. */
function build(settings: Partial<Settings> = {}) {
  const stack = bareStack();
  const vpc = testVpc(stack);
  const securityGroup = testSecurityGroup(stack, vpc, 'LoadBalancerSecurityGroup');
  const hostedZone = testHostedZone(stack, 'example.com');
  const entry = new PublicLoadBalancer(stack, 'LoadBalancer', {
    vpc,
    securityGroup,
    hostedZone,
    ...DEFAULTS,
    ...settings,
  });
  // The web fleet gives the HTTPS listener its default action; a listener without one does not synthesize.
  entry.httpsListener.addAction('Fleet', { action: elbv2.ListenerAction.fixedResponse(503) });
  return { stack, vpc, securityGroup, entry, template: templateOf(stack) };
}

/** The value of one load balancer attribute. */
function attribute(template: Template, key: string): string | undefined {
  const { resource } = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  const attributes = resource.Properties.LoadBalancerAttributes as { Key: string; Value: unknown }[];
  return attributes.find((a) => a.Key === key)?.Value as string | undefined;
}

describe('PublicLoadBalancer', () => {
  const { stack, vpc, securityGroup, entry, template } = build();
  const lbId = logicalIdOf(entry.loadBalancer);
  const bucketId = logicalIdOf(entry.accessLogs);
  const certificateId = logicalIdOf(entry.certificate);

  test('creates one internet-facing application load balancer', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'application',
      Scheme: 'internet-facing',
    });
  });

  test('sits in the three public subnets of the VPC', () => {
    const publicSubnets = vpc.publicSubnets.map((s) => stack.resolve(s.subnetId));
    expect(publicSubnets).toHaveLength(3);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Subnets: publicSubnets });
  });

  test('uses the given security group only', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      SecurityGroups: [stack.resolve(securityGroup.securityGroupId)],
    });
  });

  test('has exactly two listeners: HTTPS 443 and HTTP 80', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    const ports = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener'))
      .map((l) => `${l.Properties.Protocol} ${l.Properties.Port}`)
      .sort();
    expect(ports).toEqual(['HTTP 80', 'HTTPS 443']);
  });

  test('HTTPS listener on 443 presents the ACM certificate', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: { Ref: lbId },
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: certificateId } }],
    });
  });

  test('HTTPS listener uses the TLS 1.3 security policy ELBSecurityPolicy-TLS13-1-2-2021-06', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    });
  });

  test('HTTP listener on 80 only redirects to HTTPS 443 with a 301', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: { Ref: lbId },
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        {
          Type: 'redirect',
          RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' },
        },
      ],
    });
  });

  test('drops invalid HTTP header fields', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
      ]),
    });
  });

  test('writes access logs to its access log bucket', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: bucketId } },
      ]),
    });
  });

  describe('deletion protection', () => {
    test('is off when deletionProtection is false', () => {
      expect(attribute(template, 'deletion_protection.enabled')).toBe('false');
    });

    test('is on when deletionProtection is true', () => {
      expect(attribute(build({ deletionProtection: true }).template, 'deletion_protection.enabled')).toBe('true');
    });
  });

  describe('access log bucket', () => {
    test('is encrypted with SSE-S3 (AES256), the only encryption ALB log delivery accepts', () => {
      const { id, resource } = onlyResource(template, 'AWS::S3::Bucket');
      expect(id).toBe(bucketId);
      expect(resource.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    });

    test('blocks all public access', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
    });

    test('has a policy that denies every request not made over TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    test('expires log objects after accessLogRetentionDays', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', ExpirationInDays: 90 })]),
        },
      });
    });

    test('expiration follows accessLogRetentionDays (33)', () => {
      build({ accessLogRetentionDays: 33 }).template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', ExpirationInDays: 33 })]),
        },
      });
    });

    test('is retained when the stack is deleted or the bucket replaced', () => {
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'RetainExceptOnCreate',
        UpdateReplacePolicy: 'Retain',
      });
    });
  });

  describe('certificate', () => {
    test('is validated by DNS', () => {
      template.hasResourceProperties('AWS::CertificateManager::Certificate', { ValidationMethod: 'DNS' });
    });

    test('is issued for domainName with regionalDomainName as an alternative name', () => {
      template.hasResourceProperties('AWS::CertificateManager::Certificate', {
        DomainName: DOMAIN_NAME,
        SubjectAlternativeNames: [REGIONAL_DOMAIN_NAME],
      });
    });

    test('validates both names in the given hosted zone', () => {
      template.hasResourceProperties('AWS::CertificateManager::Certificate', {
        DomainValidationOptions: Match.arrayWith([
          { DomainName: DOMAIN_NAME, HostedZoneId: ZONE_ID },
          { DomainName: REGIONAL_DOMAIN_NAME, HostedZoneId: ZONE_ID },
        ]),
      });
    });
  });
});
