import { Match, Template } from 'aws-cdk-lib/assertions';
import { demo } from '../../lib/config/environments';
import { AppStack } from '../../lib/stacks/app-stack';
import { buildEnvironment, logicalIdOf, onlyResource, templatesOf, withConfig } from '../helpers';

const { env } = buildEnvironment();
const templates = templatesOf(env);
const stricter = templatesOf(
  buildEnvironment(withConfig({ dns: { ...demo.dns, healthCheckFailureThreshold: 5 } })).env,
);

interface Region {
  readonly name: string;
  readonly region: string;
  readonly app: AppStack;
  readonly template: Template;
}

const REGIONS: Region[] = [
  {
    name: 'primary',
    region: demo.primary.region,
    app: env.primary.app,
    template: templates.appPrimary,
  },
  {
    name: 'secondary',
    region: demo.secondary.region,
    app: env.secondary.app,
    template: templates.appSecondary,
  },
];

/** The parts of an `AWS::Route53::RecordSet` these tests read. */
interface RecordSet {
  readonly Properties: {
    readonly Type: string;
    readonly HostedZoneId: unknown;
    readonly Failover?: string;
    readonly HealthCheckId?: unknown;
    readonly SetIdentifier?: string;
    readonly AliasTarget: {
      readonly DNSName: unknown;
      readonly HostedZoneId: unknown;
      readonly EvaluateTargetHealth?: boolean;
    };
  };
}

/** The record set of a template with the given DNS name (with or without the trailing dot). */
function recordNamed(template: Template, name: string): RecordSet {
  const matches = Object.values(
    template.findResources('AWS::Route53::RecordSet', { Properties: { Name: `${name.replace(/\.$/, '')}.` } }),
  );
  if (matches.length !== 1) throw new Error(`expected one record named ${name}, found ${matches.length}`);
  return matches[0] as RecordSet;
}

describe.each(REGIONS)('failover DNS ($name, $region)', ({ region, app, template }) => {
  const regionalName = `${region}.${demo.dns.domainName}`;
  const lbId = logicalIdOf(app.entry.loadBalancer);

  describe('health check', () => {
    test('is the one health check of the region', () => {
      template.resourceCountIs('AWS::Route53::HealthCheck', 1);
    });

    test('requests HTTPS on port 443 with SNI', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ Type: 'HTTPS', Port: 443, EnableSNI: true }),
      });
    });

    test(`requests the regional name ${regionalName}`, () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ FullyQualifiedDomainName: regionalName }),
      });
    });

    test('requests dns.healthCheckPath, the deep readiness path', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ ResourcePath: demo.dns.healthCheckPath }),
      });
    });

    test('checks every 10 seconds', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ RequestInterval: 10 }),
      });
    });

    test('fails after dns.healthCheckFailureThreshold consecutive failures', () => {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({ FailureThreshold: demo.dns.healthCheckFailureThreshold }),
      });
    });
  });

  describe('regional record', () => {
    test(`is an A record for ${regionalName} in the configured hosted zone, without failover`, () => {
      const record = recordNamed(template, regionalName);
      expect(record.Properties).toMatchObject({ Type: 'A', HostedZoneId: demo.dns.hostedZoneId });
      expect(record.Properties.Failover).toBeUndefined();
      expect(record.Properties.HealthCheckId).toBeUndefined();
    });

    test("is an alias of this region's load balancer", () => {
      const alias = recordNamed(template, regionalName).Properties.AliasTarget;
      expect(alias.HostedZoneId).toEqual({ 'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'] });
      expect(JSON.stringify(alias.DNSName)).toContain(JSON.stringify({ 'Fn::GetAtt': [lbId, 'DNSName'] }));
    });
  });
});

describe('failover DNS across regions', () => {
  test.each([
    ['primary', () => stricter.appPrimary],
    ['secondary', () => stricter.appSecondary],
  ])('a dns.healthCheckFailureThreshold of 5 reaches the %s health check', (_name, template) => {
    const { resource } = onlyResource(template(), 'AWS::Route53::HealthCheck');
    expect(resource.Properties.HealthCheckConfig.FailureThreshold).toBe(5);
  });

  test('the app stacks hold no failover record (they are in the primary operations stack)', () => {
    for (const template of [templates.appPrimary, templates.appSecondary]) {
      const failover = template.findResources('AWS::Route53::RecordSet', {
        Properties: { Failover: Match.anyValue() },
      });
      expect(Object.keys(failover)).toEqual([]);
    }
  });
});
