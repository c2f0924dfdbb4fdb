import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnPlan } from 'aws-cdk-lib/aws-arcregionswitch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { demo, prod } from '../../lib/config/environments';
import { FailoverRecord, planHealthCheckIdOf } from '../../lib/constructs/failover-records';
import { buildEnvironment, importedValue, logicalIdOf } from '../helpers';

/** Evaluates the intrinsic functions planHealthCheckIdOf emits (Join, Split, Select) over a given attribute value. */
function evaluate(expr: unknown, planHealthChecks: string[]): unknown {
  if (typeof expr === 'string') return expr;
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, planHealthChecks));
  const node = expr as Record<string, unknown>;
  if ('Fn::GetAtt' in node) {
    expect(node['Fn::GetAtt']).toEqual([expect.any(String), 'PlanHealthChecks']);
    return planHealthChecks;
  }
  if ('Fn::Join' in node) {
    const [sep, parts] = node['Fn::Join'] as [string, unknown];
    return (evaluate(parts, planHealthChecks) as string[]).join(sep);
  }
  if ('Fn::Split' in node) {
    const [sep, text] = node['Fn::Split'] as [string, unknown];
    return (evaluate(text, planHealthChecks) as string).split(sep);
  }
  if ('Fn::Select' in node) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    const items = evaluate(list, planHealthChecks) as string[];
    if (index >= items.length) throw new Error(`Fn::Select index ${index} out of range`);
    return items[index];
  }
  throw new Error(`unexpected intrinsic ${JSON.stringify(expr)}`);
}

const ENTRY_EAST = 'Z0123456789PRODZONE:app.example.com:us-east-1:11111111-aaaa-4bbb-8ccc-000000000001';
const ENTRY_WEST = 'Z0123456789PRODZONE:app.example.com:us-west-2:22222222-aaaa-4bbb-8ccc-000000000002';

describe('planHealthCheckIdOf', () => {
  // The attribute as CloudFormation sees it: a list token of a real CfnPlan.
  const real = (region: string) => {
    const s = new Stack(new App(), 'Real');
    const plan = new CfnPlan(s, 'Plan', {
      executionRole: 'arn:aws:iam::123456789012:role/x',
      name: 'p',
      regions: ['us-east-1', 'us-west-2'],
      recoveryApproach: 'activePassive',
      workflows: [],
    });
    return s.resolve(planHealthCheckIdOf(plan.attrPlanHealthChecks, region));
  };

  test.each([
    ['us-east-1', '11111111-aaaa-4bbb-8ccc-000000000001'],
    ['us-west-2', '22222222-aaaa-4bbb-8ccc-000000000002'],
  ])('selects the ID of %s whatever the order of the entries', (region, id) => {
    expect(evaluate(real(region), [ENTRY_EAST, ENTRY_WEST])).toBe(id);
    expect(evaluate(real(region), [ENTRY_WEST, ENTRY_EAST])).toBe(id);
  });

  test('fails (Fn::Select out of range) when the plan has no entry for the region', () => {
    expect(() => evaluate(real('eu-west-1'), [ENTRY_EAST, ENTRY_WEST])).toThrow(/out of range/);
  });

  test('does not match a region that is only a prefix of another (us-east-1 vs us-east-10)', () => {
    const lookalike = 'Z0123456789PRODZONE:app.example.com:us-east-10:33333333-aaaa-4bbb-8ccc-000000000003';
    expect(evaluate(real('us-east-1'), [lookalike, ENTRY_EAST])).toBe('11111111-aaaa-4bbb-8ccc-000000000001');
  });
});

describe.each([
  ['demo (no plan)', demo],
  ['prod (plan)', prod],
])('failover records, %s', (_name, config) => {
  const { env } = buildEnvironment(config);
  const opsP = Template.fromStack(env.primary.operations);
  const opsS = Template.fromStack(env.secondary.operations);
  const appP = Template.fromStack(env.primary.app);
  const appS = Template.fromStack(env.secondary.app);
  const recordOf = (ops: Template) => {
    const records = Object.values(ops.findResources('AWS::Route53::RecordSet')) as {
      Properties: Record<string, any>;
    }[];
    expect(records).toHaveLength(1);
    return records[0]!.Properties;
  };
  const primary = recordOf(opsP);
  const secondary = recordOf(opsS);

  test(`are one A record for ${config.dns.domainName} per region, each in its own region's operations stack`, () => {
    expect(primary.Failover).toBe('PRIMARY');
    expect(secondary.Failover).toBe('SECONDARY');
    for (const r of [primary, secondary]) {
      expect(r).toMatchObject({ Type: 'A', Name: `${config.dns.domainName}.`, HostedZoneId: config.dns.hostedZoneId });
    }
  });

  test('have distinct set identifiers that name their region (the plan maps records to regions by them)', () => {
    expect(primary.SetIdentifier).toBe(`${config.name}-${config.primary.region}`);
    expect(secondary.SetIdentifier).toBe(`${config.name}-${config.secondary.region}`);
  });

  test.each([
    ['PRIMARY', () => primary, () => env.primary.app, () => appP],
    ['SECONDARY', () => secondary, () => env.secondary.app, () => appS],
  ])(
    "%s is an alias of its own region's load balancer (same-region import) that evaluates target health",
    (_f, record, app, appT) => {
      const alias = record().AliasTarget;
      expect(alias.EvaluateTargetHealth).toBe(true);
      const lbId = logicalIdOf(app().entry.loadBalancer);
      expect(alias.HostedZoneId).toHaveProperty('Fn::ImportValue');
      expect(importedValue(alias.HostedZoneId, app(), appT())).toEqual({
        'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'],
      });
      expect(importedValue(alias.DNSName['Fn::Join'][1][1], app(), appT())).toEqual({
        'Fn::GetAtt': [lbId, 'DNSName'],
      });
    },
  );

  test("SECONDARY uses the secondary's endpoint health check only", () => {
    expect(importedValue(secondary.HealthCheckId, env.secondary.app, appS)).toEqual({
      Ref: logicalIdOf(env.secondary.app.dns.healthCheck),
    });
    opsS.resourceCountIs('AWS::Route53::HealthCheck', 0);
  });

  if (!config.regionSwitch.enabled) {
    test("PRIMARY uses the primary's endpoint health check (no plan, no calculated check)", () => {
      expect(importedValue(primary.HealthCheckId, env.primary.app, appP)).toEqual({
        Ref: logicalIdOf(env.primary.app.dns.healthCheck),
      });
      opsP.resourceCountIs('AWS::Route53::HealthCheck', 0);
    });
  } else {
    test("PRIMARY uses a calculated check: healthy only while the endpoint and the plan's primary check both are", () => {
      const gateId = logicalIdOf(env.primary.operations.failoverRecord.gate!);
      expect(primary.HealthCheckId).toEqual({ Ref: gateId });
      const gate = opsP.toJSON().Resources[gateId].Properties.HealthCheckConfig;
      expect(gate).toMatchObject({ Type: 'CALCULATED', HealthThreshold: 2 });
      expect(gate.ChildHealthChecks).toHaveLength(2);
      expect(importedValue(gate.ChildHealthChecks[0], env.primary.app, appP)).toEqual({
        Ref: logicalIdOf(env.primary.app.dns.healthCheck),
      });
      const planId = env.primary.operations.getLogicalId(env.primary.operations.plan!.plan);
      const planEntries = [
        ENTRY_WEST.replace('us-west-2', config.secondary.region),
        ENTRY_EAST.replace('us-east-1', config.primary.region),
      ];
      expect(JSON.stringify(gate.ChildHealthChecks[1])).toContain(
        JSON.stringify({ 'Fn::GetAtt': [planId, 'PlanHealthChecks'] }),
      );
      expect(evaluate(gate.ChildHealthChecks[1], planEntries)).toBe('11111111-aaaa-4bbb-8ccc-000000000001');
    });

    test("the plan's DNS block names the same records (hosted zone, record name, set identifiers per region)", () => {
      const plan = Object.values(opsP.findResources('AWS::ARCRegionSwitch::Plan'))[0].Properties;
      const dns = plan.Workflows[0].Steps.find((s: any) => s.ExecutionBlockType === 'Route53HealthCheck');
      expect(dns.ExecutionBlockConfiguration.Route53HealthCheckConfig).toMatchObject({
        HostedZoneId: config.dns.hostedZoneId,
        RecordName: config.dns.domainName,
        RecordSets: [
          { RecordSetIdentifier: primary.SetIdentifier, Region: config.primary.region },
          { RecordSetIdentifier: secondary.SetIdentifier, Region: config.secondary.region },
        ],
      });
    });

    test('outputs the gate (calculated check) ID for the CLI status', () => {
      expect(opsP.toJSON().Outputs.PrimaryGateHealthCheckId.Value).toEqual({
        Ref: logicalIdOf(env.primary.operations.failoverRecord.gate!),
      });
    });

    test("outputs the plan's primary health check ID the PRIMARY record is gated on", () => {
      expect(opsP.toJSON().Outputs.PlanPrimaryHealthCheckId.Value).toEqual(
        opsP.toJSON().Resources[logicalIdOf(env.primary.operations.failoverRecord.gate!)].Properties.HealthCheckConfig
          .ChildHealthChecks[1],
      );
    });
  }
});

describe('FailoverRecord', () => {
  test("refuses the plan's health checks on a SECONDARY record, which they would keep from failing over", () => {
    const stack = new Stack(new App(), 'Records', { env: { account: '123456789012', region: 'us-west-2' } });
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z1',
      zoneName: 'example.com',
    });
    const lb = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Lb', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/lb/0123456789abcdef',
      securityGroupId: 'sg-12345678',
      loadBalancerDnsName: 'lb.example.com',
      loadBalancerCanonicalHostedZoneId: 'Z2',
    });
    expect(
      () =>
        new FailoverRecord(stack, 'Secondary', {
          hostedZone: zone,
          domainName: 'app.example.com',
          region: 'us-west-2',
          failover: route53.Failover.SECONDARY,
          loadBalancer: lb,
          healthCheck: route53.HealthCheck.fromHealthCheckId(stack, 'Check', 'check-id'),
          setIdentifier: 'demo-us-west-2',
          planHealthChecks: ['Z1:app.example.com:us-west-2:id'],
        }),
    ).toThrow(/planHealthChecks gates the PRIMARY record only/);
  });
});
