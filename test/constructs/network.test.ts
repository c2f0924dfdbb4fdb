import * as logs from 'aws-cdk-lib/aws-logs';
import { Network, NetworkProps } from '../../lib/constructs/network';
import { bareStack, propertiesOf, routesOfSubnet, subnetsOfTier, templateOf, testKey } from '../harness';
import { onlyResource } from '../helpers';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

/** A {@link Network} on a bare stack in us-east-1 (zones a, b and c), with a logs key of its own. */
function network(props: Partial<NetworkProps> = {}) {
  const stack = bareStack({ region: 'us-east-1', availabilityZones: ZONES });
  const logsKey = testKey(stack, 'LogsKey');
  const construct = new Network(stack, 'Network', { cidr: '10.10.0.0/16', natGateways: 1, logsKey, ...props });
  return { stack, logsKey, network: construct, template: templateOf(stack) };
}

describe('Network', () => {
  const { stack, logsKey, network: net, template } = network();
  const vpcId = () => onlyResource(template, 'AWS::EC2::VPC').id;

  test('the VPC has the given CIDR', () => {
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.10.0.0/16' });
  });

  test('the VPC it exposes is the one in the template', () => {
    expect(stack.resolve(net.vpc.vpcId)).toEqual({ Ref: vpcId() });
  });

  test("the VPC has nine subnets over exactly the stack's three availability zones", () => {
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    const zones = propertiesOf(template, 'AWS::EC2::Subnet').map(([, p]) => p.AvailabilityZone);
    expect([...new Set(zones)].sort()).toEqual([...ZONES].sort());
  });

  test.each(['Public', 'Private', 'Isolated'])('there is one %s subnet in each zone', (tier) => {
    const zones = subnetsOfTier(template, tier).map(([, p]) => p.AvailabilityZone);
    expect(zones.sort()).toEqual([...ZONES].sort());
  });

  test('public subnets give no public IP to what launches in them', () => {
    for (const [, p] of subnetsOfTier(template, 'Public')) expect(p.MapPublicIpOnLaunch).toBe(false);
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

  test('there are as many NAT gateways as natGateways (1)', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
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

  test('the flow log group is encrypted with the given logs key, kept a year and retained', () => {
    const { resource } = onlyResource(template, 'AWS::Logs::LogGroup');
    expect(resource.Properties).toEqual(
      expect.objectContaining({ KmsKeyId: stack.resolve(logsKey.keyArn), RetentionInDays: 365 }),
    );
    expect(resource.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  test('flowLogRetention sets how long the flow logs are kept', () => {
    const { template: longer } = network({ flowLogRetention: logs.RetentionDays.TWO_YEARS });
    longer.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 731 });
  });
});

describe('Network with a NAT gateway per zone (natGateways: 3)', () => {
  const { template } = network({ natGateways: 3 });

  test('has three NAT gateways, one in each public subnet', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 3);
    const natSubnets = propertiesOf(template, 'AWS::EC2::NatGateway').map(([, p]) => p.SubnetId);
    const publicSubnets = subnetsOfTier(template, 'Public').map(([id]) => ({ Ref: id }));
    expect(natSubnets).toEqual(expect.arrayContaining(publicSubnets));
  });

  test('each private subnet uses the NAT gateway of its own zone', () => {
    const natZone = new Map(
      propertiesOf(template, 'AWS::EC2::NatGateway').map(([id, p]) => {
        const subnet = (p.SubnetId as { Ref: string }).Ref;
        return [id, template.toJSON().Resources[subnet].Properties.AvailabilityZone as string];
      }),
    );
    const privateSubnets = subnetsOfTier(template, 'Private');
    expect(privateSubnets).toHaveLength(3);
    for (const [id, p] of privateSubnets) {
      const routes = routesOfSubnet(template, id);
      expect(routes).toHaveLength(1);
      expect(natZone.get((routes[0].NatGatewayId as { Ref: string }).Ref)).toBe(p.AvailabilityZone);
    }
  });
});
