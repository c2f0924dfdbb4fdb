import { Stack } from 'aws-cdk-lib';
import { CfnPlan } from 'aws-cdk-lib/aws-arcregionswitch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { FailoverRecord, FailoverRecordProps, planHealthCheckIdOf } from '../../lib/constructs/failover-records';
import { bareStack, templateOf, testHostedZone, TEST_ACCOUNT } from '../harness';
import { logicalIdOf } from '../helpers';
import { evaluatePlanHealthChecks, PLAN_ENTRY_EAST, PLAN_ENTRY_WEST } from '../plan-health-checks';

/** A Region switch plan in `stack`, for its `PlanHealthChecks` attribute (a list token). */
const planIn = (stack: Stack) =>
  new CfnPlan(stack, 'Plan', {
    executionRole: `arn:aws:iam::${TEST_ACCOUNT}:role/x`,
    name: 'p',
    regions: ['us-east-1', 'us-west-2'],
    recoveryApproach: 'activePassive',
    workflows: [],
  });

describe('planHealthCheckIdOf', () => {
  // The attribute as CloudFormation sees it: a list token of a real CfnPlan.
  const real = (region: string) => {
    const stack = bareStack();
    return stack.resolve(planHealthCheckIdOf(planIn(stack).attrPlanHealthChecks, region));
  };

  test.each([
    ['us-east-1', '11111111-aaaa-4bbb-8ccc-000000000001'],
    ['us-west-2', '22222222-aaaa-4bbb-8ccc-000000000002'],
  ])('selects the ID of %s whatever the order of the entries', (region, id) => {
    expect(evaluatePlanHealthChecks(real(region), [PLAN_ENTRY_EAST, PLAN_ENTRY_WEST])).toBe(id);
    expect(evaluatePlanHealthChecks(real(region), [PLAN_ENTRY_WEST, PLAN_ENTRY_EAST])).toBe(id);
  });

  test('fails (Fn::Select out of range) when the plan has no entry for the region', () => {
    expect(() => evaluatePlanHealthChecks(real('eu-west-1'), [PLAN_ENTRY_EAST, PLAN_ENTRY_WEST])).toThrow(
      /out of range/,
    );
  });

  test('does not match a region that is only a prefix of another (us-east-1 vs us-east-10)', () => {
    const lookalike = 'Z0123456789PRODZONE:app.example.com:us-east-10:33333333-aaaa-4bbb-8ccc-000000000003';
    expect(evaluatePlanHealthChecks(real('us-east-1'), [lookalike, PLAN_ENTRY_EAST])).toBe(
      '11111111-aaaa-4bbb-8ccc-000000000001',
    );
  });
});

describe('FailoverRecord', () => {
  /**
   * A bare stack in `region` with one failover record of app.example.com, aliasing an imported load balancer
   * and following an imported endpoint health check; `withPlan` hands it a plan's `PlanHealthChecks`.
   */
  const build = (region: string, failover: route53.Failover, withPlan = false) => {
    const stack = bareStack({ region });
    const props: FailoverRecordProps = {
      hostedZone: testHostedZone(stack),
      domainName: 'app.example.com',
      region,
      failover,
      loadBalancer: elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Lb', {
        loadBalancerArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/0123456789abcdef`,
        securityGroupId: 'sg-12345678',
        loadBalancerDnsName: `lb.${region}.elb.amazonaws.com`,
        loadBalancerCanonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
      }),
      healthCheck: route53.HealthCheck.fromHealthCheckId(stack, 'Endpoint', 'endpoint-check-id'),
      setIdentifier: `test-${region}`,
      planHealthChecks: withPlan ? planIn(stack).attrPlanHealthChecks : undefined,
    };
    const record = new FailoverRecord(stack, 'FailoverRecord', props);
    const template = templateOf(stack);
    const records = Object.values(template.findResources('AWS::Route53::RecordSet'));
    expect(records).toHaveLength(1);
    return { stack, record, template, props: records[0]!.Properties };
  };

  test.each([
    ['PRIMARY', 'us-east-1', route53.Failover.PRIMARY],
    ['SECONDARY', 'us-west-2', route53.Failover.SECONDARY],
  ])(
    '%s without a plan is an A record of the domain, aliasing the load balancer (evaluating target health), following the endpoint check',
    (failover, region, kind) => {
      const { template, record, props } = build(region, kind);
      expect(props).toEqual({
        Type: 'A',
        Name: 'app.example.com.',
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        Failover: failover,
        SetIdentifier: `test-${region}`,
        AliasTarget: {
          DNSName: `dualstack.lb.${region}.elb.amazonaws.com`,
          HostedZoneId: 'Z35SXDOTRQ7X7K',
          EvaluateTargetHealth: true,
        },
        HealthCheckId: 'endpoint-check-id',
      });
      template.resourceCountIs('AWS::Route53::HealthCheck', 0);
      expect(record.gate).toBeUndefined();
      expect(record.planHealthCheckId).toBeUndefined();
    },
  );

  test("PRIMARY with a plan uses a calculated check: healthy only while the endpoint and the plan's check of its region both are", () => {
    const { stack, record, template, props } = build('us-east-1', route53.Failover.PRIMARY, true);
    const gateId = logicalIdOf(record.gate!);
    expect(props.HealthCheckId).toEqual({ Ref: gateId });
    const gate = template.toJSON().Resources[gateId].Properties.HealthCheckConfig;
    expect(gate).toMatchObject({ Type: 'CALCULATED', HealthThreshold: 2 });
    expect(gate.ChildHealthChecks).toHaveLength(2);
    expect(gate.ChildHealthChecks[0]).toBe('endpoint-check-id');
    expect(JSON.stringify(gate.ChildHealthChecks[1])).toContain(
      JSON.stringify({
        'Fn::GetAtt': [stack.getLogicalId(stack.node.findChild('Plan') as CfnPlan), 'PlanHealthChecks'],
      }),
    );
    expect(evaluatePlanHealthChecks(gate.ChildHealthChecks[1], [PLAN_ENTRY_WEST, PLAN_ENTRY_EAST])).toBe(
      '11111111-aaaa-4bbb-8ccc-000000000001',
    );
    expect(stack.resolve(record.planHealthCheckId)).toEqual(gate.ChildHealthChecks[1]);
  });

  test("refuses the plan's health checks on a SECONDARY record, which they would keep from failing over", () => {
    expect(() => build('us-west-2', route53.Failover.SECONDARY, true)).toThrow(
      "Test/FailoverRecord: planHealthChecks gates the PRIMARY record only; on the SECONDARY record the plan's " +
        'check (unhealthy until the plan activates that region) would stop DNS failover from working.',
    );
  });
});
