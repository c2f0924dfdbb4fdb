import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { isDeepStrictEqual } from 'util';
import { RegionConfig } from '../../lib/config';
import { demo, prod } from '../../lib/config/environments';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { buildEnvironment, onlyResource, templatesOf } from '../helpers';

const { env } = buildEnvironment();
const templates = templatesOf(env);

/** Every stack of the environment with its template, to look for rules added from other stacks. */
const everyTemplate: [Stack, Template][] = [
  [env.primary.network, templates.networkPrimary],
  [env.secondary.network, templates.networkSecondary],
  [env.primary.storage, templates.storagePrimary],
  [env.secondary.storage, templates.storageSecondary],
  [env.primary.data, templates.dataPrimary],
  [env.secondary.data, templates.dataSecondary],
  [env.primary.app, templates.appPrimary],
  [env.secondary.app, templates.appSecondary],
];

type Properties = Record<string, unknown>;

/** Properties of every resource of a type. */
function propertiesOf(template: Template, type: string): [string, Properties][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Properties]);
}

/**
 * Whether a value in `template` (of `stack`) names the security group `sg` of
 * `owner`: a GetAtt in the owner's own template, or a Fn::GetStackOutput of the
 * owner's output that holds that GetAtt anywhere else.
 */
function namesGroup(
  value: unknown,
  stack: Stack,
  sg: ec2.ISecurityGroup,
  owner: NetworkStack,
  ownerTemplate: Template,
) {
  const direct = owner.resolve(sg.securityGroupId);
  if (stack === owner) return isDeepStrictEqual(value, direct);
  const ref = (value as { 'Fn::GetStackOutput'?: { StackName: string; Region: string; OutputName: string } })?.[
    'Fn::GetStackOutput'
  ];
  return (
    ref !== undefined &&
    ref.StackName === owner.stackName &&
    ref.Region === owner.region &&
    isDeepStrictEqual(ownerTemplate.toJSON().Outputs?.[ref.OutputName]?.Value, direct)
  );
}

/** The security group resource of `sg` in its stack's template. */
function groupResource(owner: NetworkStack, template: Template, sg: ec2.ISecurityGroup) {
  const [id] = (owner.resolve(sg.securityGroupId) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
  return { id, resource: template.toJSON().Resources[id] as { Type: string; Properties: Properties } };
}

/** Inline and standalone rules of one direction on a security group, across every stack. */
function rulesOn(
  direction: 'Ingress' | 'Egress',
  owner: NetworkStack,
  ownerTemplate: Template,
  sg: ec2.ISecurityGroup,
) {
  const inline = (groupResource(owner, ownerTemplate, sg).resource.Properties[`SecurityGroup${direction}`] ??
    []) as Properties[];
  const standalone = everyTemplate.flatMap(([stack, template]) =>
    propertiesOf(template, `AWS::EC2::SecurityGroup${direction}`)
      .map(([, p]) => p)
      .filter((p) => namesGroup(p.GroupId, stack, sg, owner, ownerTemplate)),
  );
  return [...inline, ...standalone];
}

/** A rule without its free-text description. */
function withoutDescription(rule: Properties): Properties {
  return Object.fromEntries(Object.entries(rule).filter(([k]) => k !== 'Description'));
}

/** Subnets of one tier (the `aws-cdk:subnet-type` tag: Public, Private or Isolated). */
function subnetsOfTier(template: Template, tier: string): [string, Properties][] {
  return propertiesOf(template, 'AWS::EC2::Subnet').filter(([, p]) =>
    (p.Tags as { Key: string; Value: string }[]).some((t) => t.Key === 'aws-cdk:subnet-type' && t.Value === tier),
  );
}

/** The routes of the route table associated with a subnet. */
function routesOfSubnet(template: Template, subnetId: string): Properties[] {
  const associations = propertiesOf(template, 'AWS::EC2::SubnetRouteTableAssociation').filter(([, p]) =>
    isDeepStrictEqual(p.SubnetId, { Ref: subnetId }),
  );
  expect(associations).toHaveLength(1);
  const routeTable = associations[0][1].RouteTableId;
  return propertiesOf(template, 'AWS::EC2::Route')
    .map(([, p]) => p)
    .filter((p) => isDeepStrictEqual(p.RouteTableId, routeTable));
}

const regions: { role: string; config: RegionConfig; stack: NetworkStack; template: Template }[] = [
  { role: 'primary', config: demo.primary, stack: env.primary.network, template: templates.networkPrimary },
  { role: 'secondary', config: demo.secondary, stack: env.secondary.network, template: templates.networkSecondary },
];

describe.each(regions)('Network of the $role region', ({ config, stack, template }) => {
  const vpcId = () => onlyResource(template, 'AWS::EC2::VPC').id;

  test('the VPC has the CIDR from config', () => {
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

  test('public subnets route to the internet through the internet gateway', () => {
    const igw = onlyResource(template, 'AWS::EC2::InternetGateway').id;
    for (const [id] of subnetsOfTier(template, 'Public')) {
      expect(routesOfSubnet(template, id)).toEqual([
        expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: igw } }),
      ]);
    }
  });

  test('private subnets have egress to the internet only through a NAT gateway', () => {
    const nats = Object.keys(template.findResources('AWS::EC2::NatGateway'));
    for (const [id] of subnetsOfTier(template, 'Private')) {
      const routes = routesOfSubnet(template, id);
      expect(routes).toHaveLength(1);
      expect(routes[0]).toEqual(expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0' }));
      expect(nats).toContainEqual((routes[0].NatGatewayId as { Ref: string }).Ref);
    }
  });

  test('isolated subnets have no route out of the VPC', () => {
    for (const [id] of subnetsOfTier(template, 'Isolated')) {
      expect(routesOfSubnet(template, id)).toEqual([]);
    }
  });

  test(`there are as many NAT gateways as config natGateways (${config.natGateways})`, () => {
    template.resourceCountIs('AWS::EC2::NatGateway', config.natGateways);
  });

  test('VPC flow logs record ALL traffic of the VPC in a CloudWatch Logs group', () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    const logGroup = onlyResource(template, 'AWS::Logs::LogGroup').id;
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      ResourceId: { Ref: vpcId() },
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logGroup },
    });
  });

  test('the web instance security group exists in the VPC', () => {
    const { resource } = groupResource(stack, template, stack.webSecurityGroup);
    expect(resource.Type).toBe('AWS::EC2::SecurityGroup');
    expect(resource.Properties.VpcId).toEqual({ Ref: vpcId() });
  });

  test('the load balancer security group exists in the VPC', () => {
    const { resource } = groupResource(stack, template, stack.loadBalancerSecurityGroup);
    expect(resource.Type).toBe('AWS::EC2::SecurityGroup');
    expect(resource.Properties.VpcId).toEqual({ Ref: vpcId() });
  });

  test('the load balancer security group admits only TCP 443 and 80 from anywhere', () => {
    const rules = rulesOn('Ingress', stack, template, stack.loadBalancerSecurityGroup).map(withoutDescription);
    const byPort = (a: Properties, b: Properties) => Number(a.FromPort) - Number(b.FromPort);
    expect(rules.sort(byPort)).toEqual([
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 80, ToPort: 80 },
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 },
    ]);
  });

  test(`the load balancer security group sends only to the web security group on the service port (${demo.service.port})`, () => {
    const rules = rulesOn('Egress', stack, template, stack.loadBalancerSecurityGroup);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toEqual(
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: demo.service.port, ToPort: demo.service.port }),
    );
    expect(rules[0]).not.toHaveProperty('CidrIp');
    expect(namesGroup(rules[0].DestinationSecurityGroupId, stack, stack.webSecurityGroup, stack, template)).toBe(true);
  });
});

describe('Network of the prod environment', () => {
  let prodTemplates: { config: RegionConfig; template: Template }[];
  beforeAll(() => {
    const built = buildEnvironment(prod).env;
    prodTemplates = [
      { config: prod.primary, template: Template.fromStack(built.primary.network) },
      { config: prod.secondary, template: Template.fromStack(built.secondary.network) },
    ];
  });

  test('each region has three NAT gateways, one per zone, as prod config asks', () => {
    for (const { config, template } of prodTemplates) {
      expect(config.natGateways).toBe(3);
      template.resourceCountIs('AWS::EC2::NatGateway', 3);
      const natSubnets = propertiesOf(template, 'AWS::EC2::NatGateway').map(([, p]) => p.SubnetId);
      const publicSubnets = subnetsOfTier(template, 'Public').map(([id]) => ({ Ref: id }));
      expect(natSubnets).toEqual(expect.arrayContaining(publicSubnets));
    }
  });

  test('each private subnet uses the NAT gateway of its own zone', () => {
    for (const { template } of prodTemplates) {
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
    for (const { config, template } of prodTemplates) {
      template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.vpcCidr });
    }
  });
});
