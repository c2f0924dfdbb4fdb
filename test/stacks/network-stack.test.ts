import { isDeepStrictEqual } from 'util';
import { logicalIdAt, synthesized, SynthesizedEnvironment, SynthesizedStack } from '../synthesized';
import { propertiesOf, Properties, routesOfSubnet, subnetsOfTier } from '../harness';

/**
 * Whether `value`, in the template of `consumer`, is `direct` (a value of `owner`'s template): `direct` itself in
 * the owner's template, an `Fn::ImportValue` of an owner's export whose value is `direct`, or a
 * `Fn::GetStackOutput` of an owner's output whose value is `direct`.
 */
function refersTo(value: unknown, consumer: SynthesizedStack, owner: SynthesizedStack, direct: unknown): boolean {
  if (consumer === owner) return isDeepStrictEqual(value, direct);
  const outputs = (owner.json.Outputs ?? {}) as Record<string, { Value: unknown; Export?: { Name: string } }>;
  const v = value as { 'Fn::ImportValue'?: unknown; 'Fn::GetStackOutput'?: Record<string, string> } | undefined;
  if (typeof v?.['Fn::ImportValue'] === 'string') {
    const output = Object.values(outputs).find((o) => o.Export?.Name === v['Fn::ImportValue']);
    return output !== undefined && isDeepStrictEqual(output.Value, direct);
  }
  const ref = v?.['Fn::GetStackOutput'];
  return (
    ref !== undefined &&
    ref.StackName === owner.stackName &&
    ref.Region === owner.region &&
    isDeepStrictEqual(outputs[ref.OutputName]?.Value, direct)
  );
}

/** Inline and standalone rules of one direction on the security group `groupId` of `owner`, in every stack. */
function rulesOn(
  env: SynthesizedEnvironment,
  direction: 'Ingress' | 'Egress',
  owner: SynthesizedStack,
  groupId: string,
) {
  const group = { 'Fn::GetAtt': [groupId, 'GroupId'] };
  const inline = (owner.json.Resources[groupId].Properties[`SecurityGroup${direction}`] ?? []) as Properties[];
  const standalone = env.stacks.flatMap((stack) =>
    propertiesOf(stack.template, `AWS::EC2::SecurityGroup${direction}`)
      .map(([, p]) => p)
      .filter((p) => refersTo(p.GroupId, stack, owner, group)),
  );
  return [...inline, ...standalone];
}

/** A rule without its free-text description. */
function withoutDescription(rule: Properties): Properties {
  return Object.fromEntries(Object.entries(rule).filter(([k]) => k !== 'Description'));
}

describe.each(['primary', 'secondary'] as const)('network stack of the demo %s region', (role) => {
  const env = synthesized('demo');
  const config = env.config[role];
  const stack = env.stack('Network', role);
  const template = stack.template;
  const vpcId = () => logicalIdAt(stack, 'Network/Vpc/Resource');
  const webSecurityGroup = () => logicalIdAt(stack, 'ServiceWebSecurityGroup/Resource');
  const loadBalancerSecurityGroup = () => logicalIdAt(stack, 'LoadBalancerSecurityGroup/Resource');

  test(`is in the configured region (${config.region})`, () => {
    expect(stack.region).toBe(config.region);
  });

  test(`the VPC has the CIDR from config (${config.vpcCidr})`, () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.vpcCidr });
  });

  test('the VPC has nine subnets over exactly the three configured availability zones', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    const zones = propertiesOf(template, 'AWS::EC2::Subnet').map(([, p]) => p.AvailabilityZone);
    expect([...new Set(zones)].sort()).toEqual([...config.availabilityZones].sort());
  });

  test.each(['Public', 'Private', 'Isolated'])('there is one %s subnet in each configured zone', (tier) => {
    const zones = subnetsOfTier(template, tier).map(([, p]) => p.AvailabilityZone);
    expect(zones.sort()).toEqual([...config.availabilityZones].sort());
  });

  test(`there are as many NAT gateways as config natGateways (${config.natGateways})`, () => {
    template.resourceCountIs('AWS::EC2::NatGateway', config.natGateways);
  });

  test("the VPC's flow logs are encrypted with the stack's own logs key", () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: { 'Fn::GetAtt': [logicalIdAt(stack, 'LogsKey/Resource'), 'Arn'] },
    });
  });

  test("the reference service's instances' security group exists in the VPC", () => {
    const resource = stack.json.Resources[webSecurityGroup()];
    expect(resource.Type).toBe('AWS::EC2::SecurityGroup');
    expect(resource.Properties.VpcId).toEqual({ Ref: vpcId() });
  });

  test('the load balancer security group exists in the VPC', () => {
    const resource = stack.json.Resources[loadBalancerSecurityGroup()];
    expect(resource.Type).toBe('AWS::EC2::SecurityGroup');
    expect(resource.Properties.VpcId).toEqual({ Ref: vpcId() });
  });

  test('the load balancer security group admits only TCP 443 and 80 from anywhere (rules of every stack)', () => {
    const rules = rulesOn(env, 'Ingress', stack, loadBalancerSecurityGroup()).map(withoutDescription);
    const byPort = (a: Properties, b: Properties) => Number(a.FromPort) - Number(b.FromPort);
    expect(rules.sort(byPort)).toEqual([
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 80, ToPort: 80 },
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 },
    ]);
  });

  const ports = [...new Set(env.config.services.map((s) => s.port))];
  test(`the load balancer security group sends only to the web security group, on the services' ports (${ports.join(', ')})`, () => {
    const rules = rulesOn(env, 'Egress', stack, loadBalancerSecurityGroup());
    expect(rules.map((r) => r.FromPort).sort()).toEqual([...ports].sort());
    const web = { 'Fn::GetAtt': [webSecurityGroup(), 'GroupId'] };
    for (const rule of rules) {
      expect(rule).toEqual(expect.objectContaining({ IpProtocol: 'tcp', ToPort: rule.FromPort }));
      expect(rule).not.toHaveProperty('CidrIp');
      expect(refersTo(rule.DestinationSecurityGroupId, stack, stack, web)).toBe(true);
    }
  });
});

describe('network stacks of the prod environment', () => {
  const env = synthesized('prod');
  const regions = (['primary', 'secondary'] as const).map((role) => ({
    config: env.config[role],
    template: env.stack('Network', role).template,
  }));

  test('each region has three NAT gateways, one per zone, as prod config asks', () => {
    for (const { config, template } of regions) {
      expect(config.natGateways).toBe(3);
      template.resourceCountIs('AWS::EC2::NatGateway', 3);
      const natSubnets = propertiesOf(template, 'AWS::EC2::NatGateway').map(([, p]) => p.SubnetId);
      const publicSubnets = subnetsOfTier(template, 'Public').map(([id]) => ({ Ref: id }));
      expect(natSubnets).toEqual(expect.arrayContaining(publicSubnets));
    }
  });

  test('each private subnet uses the NAT gateway of its own zone', () => {
    for (const { template } of regions) {
      const natZone = new Map(
        propertiesOf(template, 'AWS::EC2::NatGateway').map(([id, p]) => {
          const subnet = (p.SubnetId as { Ref: string }).Ref;
          return [id, template.toJSON().Resources[subnet].Properties.AvailabilityZone as string];
        }),
      );
      for (const [id, p] of subnetsOfTier(template, 'Private')) {
        const [route] = routesOfSubnet(template, id);
        expect(natZone.get((route.NatGatewayId as { Ref: string }).Ref)).toBe(p.AvailabilityZone);
      }
    }
  });

  test('the prod VPCs have the prod CIDRs', () => {
    for (const { config, template } of regions) {
      template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.vpcCidr });
    }
  });
});
