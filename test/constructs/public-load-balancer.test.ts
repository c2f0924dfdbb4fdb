import { Match, Template } from 'aws-cdk-lib/assertions';
import { demo, prod } from '../../lib/config/environments';
import { AppStack } from '../../lib/stacks/app-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { buildEnvironment, logicalIdOf, onlyResource, subnetIdsOf, templatesOf, withConfig } from '../helpers';

const { env } = buildEnvironment();
const templates = templatesOf(env);
const prodTemplates = templatesOf(buildEnvironment(prod).env);
const retentionTemplates = templatesOf(
  buildEnvironment(withConfig({ service: { ...demo.service, accessLogRetentionDays: 33 } })).env,
);

interface Region {
  readonly name: string;
  readonly region: string;
  readonly app: AppStack;
  readonly network: NetworkStack;
  readonly template: Template;
  readonly networkTemplate: Template;
}

const REGIONS: Region[] = [
  {
    name: 'primary',
    region: demo.primary.region,
    app: env.primary.app,
    network: env.primary.network,
    template: templates.appPrimary,
    networkTemplate: templates.networkPrimary,
  },
  {
    name: 'secondary',
    region: demo.secondary.region,
    app: env.secondary.app,
    network: env.secondary.network,
    template: templates.appSecondary,
    networkTemplate: templates.networkSecondary,
  },
];

describe.each(REGIONS)(
  'public load balancer ($name, $region)',
  ({ region, app, network, template, networkTemplate }) => {
    const lbId = logicalIdOf(app.entry.loadBalancer);
    const bucketId = logicalIdOf(app.entry.accessLogs);
    const certificateId = logicalIdOf(app.entry.certificate);

    test('is the only load balancer of the stack and is an internet-facing ALB', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Type: 'application',
        Scheme: 'internet-facing',
      });
    });

    test("sits in the three public subnets of the region's network stack", () => {
      const publicSubnets = subnetIdsOf(networkTemplate, 'Public');
      expect(publicSubnets).toHaveLength(3);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Subnets: publicSubnets.map((id) => ({
          'Fn::ImportValue': Match.stringLikeRegexp(`^${network.stackName}:ExportsOutputRef${id}`),
        })),
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

    test('is not deletion-protected in demo (production: false)', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'false' }]),
      });
    });

    describe('access log bucket', () => {
      test('is encrypted with SSE-S3 (AES256), the only encryption ALB log delivery accepts', () => {
        const { resource } = onlyResource(template, 'AWS::S3::Bucket');
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

      test('expires log objects after service.accessLogRetentionDays', () => {
        template.hasResourceProperties('AWS::S3::Bucket', {
          LifecycleConfiguration: {
            Rules: Match.arrayWith([
              Match.objectLike({ Status: 'Enabled', ExpirationInDays: demo.service.accessLogRetentionDays }),
            ]),
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

      test('is issued for the service name with the regional name as an alternative name', () => {
        template.hasResourceProperties('AWS::CertificateManager::Certificate', {
          DomainName: demo.dns.domainName,
          SubjectAlternativeNames: [`${region}.${demo.dns.domainName}`],
        });
      });

      test('validates both names in the configured hosted zone', () => {
        template.hasResourceProperties('AWS::CertificateManager::Certificate', {
          DomainValidationOptions: Match.arrayWith([
            { DomainName: demo.dns.domainName, HostedZoneId: demo.dns.hostedZoneId },
            { DomainName: `${region}.${demo.dns.domainName}`, HostedZoneId: demo.dns.hostedZoneId },
          ]),
        });
      });
    });
  },
);

describe('public load balancer configuration', () => {
  test.each([
    ['primary', () => prodTemplates.appPrimary],
    ['secondary', () => prodTemplates.appSecondary],
  ])('is deletion-protected in prod (production: true), %s region', (_name, template) => {
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'true' }]),
    });
  });

  test('access log expiration follows service.accessLogRetentionDays', () => {
    retentionTemplates.appPrimary.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 33 })]) },
    });
  });
});
