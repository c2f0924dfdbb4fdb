/**
 * A bare regional stack for construct tests, in the style of aws-cdk-lib's own construct tests: one stack, one
 * construct under test, the inputs it needs made on the spot. Building one costs milliseconds; a whole
 * ten-stack environment costs seconds, so construct tests use this and only tests about the whole app use
 * test/synthesized.ts.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { isDeepStrictEqual } from 'util';
import { RegionalStack } from '../lib/regional-stack';
import { newApp } from './helpers';

/** Account of the bare stacks (the demo environment's). */
export const TEST_ACCOUNT = '111111111111';

/** Options of {@link bareStack}. */
export interface BareStackOptions {
  /** Region of the stack. Default `us-east-1`. */
  readonly region?: string;
  /** Availability zones. Default the region's `a`, `b` and `c`. */
  readonly availabilityZones?: readonly string[];
  /** App to add the stack to. Default a new app with the project's feature flags (`newApp`). */
  readonly app?: App;
  /** Stack ID. Default `Test`. */
  readonly id?: string;
}

/**
 * A bare {@link RegionalStack} (the base of every stack of the app: configured zones, RetainExceptOnCreate)
 * bound to {@link TEST_ACCOUNT} and a region, in an app with the project's feature flags and no built-in
 * CloudFormation validation.
 */
export function bareStack(options: BareStackOptions = {}): RegionalStack {
  const region = options.region ?? 'us-east-1';
  const zones = options.availabilityZones ?? ['a', 'b', 'c'].map((z) => `${region}${z}`);
  return new RegionalStack(options.app ?? newApp(), options.id ?? 'Test', {
    env: { account: TEST_ACCOUNT, region },
    availabilityZones: zones,
  });
}

/** A VPC like the app's (public, private with egress and isolated subnets, one NAT gateway) in `stack`. */
export function testVpc(stack: Stack, id = 'Vpc'): ec2.Vpc {
  return new ec2.Vpc(stack, id, {
    ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
    maxAzs: 3,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
}

/** A security group in `vpc`, standing for a client of the construct under test. */
export function testSecurityGroup(stack: Stack, vpc: ec2.IVpc, id = 'Clients'): ec2.SecurityGroup {
  return new ec2.SecurityGroup(stack, id, { vpc, allowAllOutbound: false });
}

/** A customer managed KMS key in `stack`. */
export function testKey(stack: Stack, id = 'Key'): kms.Key {
  return new kms.Key(stack, id, { enableKeyRotation: true });
}

/** A hosted zone imported by ID and name (no lookup), as the app's config gives it. */
export function testHostedZone(stack: Stack, zoneName = 'example.com', id = 'Zone'): route53.IHostedZone {
  return route53.HostedZone.fromHostedZoneAttributes(stack, id, { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName });
}

/** The template of a bare stack. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** Properties of a template resource. */
export type Properties = Record<string, any>;

/** Logical ID and properties of every resource of a type. */
export function propertiesOf(template: Template, type: string): [string, Properties][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r.Properties ?? {}) as Properties]);
}

/** Subnets of one tier (the `aws-cdk:subnet-type` tag: Public, Private or Isolated), with their properties. */
export function subnetsOfTier(template: Template, tier: string): [string, Properties][] {
  return propertiesOf(template, 'AWS::EC2::Subnet').filter(([, p]) =>
    (p.Tags as { Key: string; Value: string }[]).some((t) => t.Key === 'aws-cdk:subnet-type' && t.Value === tier),
  );
}

/** The routes of the route table associated with the subnet `subnetId` (a logical ID). */
export function routesOfSubnet(template: Template, subnetId: string): Properties[] {
  const associations = propertiesOf(template, 'AWS::EC2::SubnetRouteTableAssociation').filter(([, p]) =>
    isDeepStrictEqual(p.SubnetId, { Ref: subnetId }),
  );
  if (associations.length !== 1)
    throw new Error(`expected one route table of ${subnetId}, found ${associations.length}`);
  const routeTable = associations[0][1].RouteTableId;
  return propertiesOf(template, 'AWS::EC2::Route')
    .map(([, p]) => p)
    .filter((p) => isDeepStrictEqual(p.RouteTableId, routeTable));
}

/**
 * Checks that the security group `securityGroupId` (a logical ID in `template`) has no inline ingress and exactly
 * one ingress rule: TCP `port`, from `source` (the rule's `SourceSecurityGroupId` as it appears in the
 * template), no CIDR.
 */
export function expectOnlyIngressFrom(
  template: Template,
  securityGroupId: string,
  port: number,
  source: unknown,
): void {
  const group = template.toJSON().Resources[securityGroupId];
  expect(group.Type).toBe('AWS::EC2::SecurityGroup');
  expect(group.Properties.SecurityGroupIngress).toBeUndefined();
  const rules = propertiesOf(template, 'AWS::EC2::SecurityGroupIngress')
    .map(([, p]) => p)
    .filter((p) => isDeepStrictEqual(p.GroupId, { 'Fn::GetAtt': [securityGroupId, 'GroupId'] }));
  expect(rules).toHaveLength(1);
  expect(rules[0]).toEqual(
    expect.objectContaining({ IpProtocol: 'tcp', FromPort: port, ToPort: port, SourceSecurityGroupId: source }),
  );
  expect(rules[0]).not.toHaveProperty('CidrIp');
}

/**
 * Every string value of a template that is data: keys, logical IDs in Ref and Fn::GetAtt, and output names
 * are left out, since they are not values that could carry a secret.
 */
export function stringValues(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(stringValues);
  if (node && typeof node === 'object') {
    return (
      Object.entries(node)
        // Names, not values: references, dependencies, and exports (their names embed logical IDs).
        .filter(([k]) => !['Ref', 'Fn::GetAtt', 'OutputName', 'DependsOn', 'Fn::ImportValue', 'Export'].includes(k))
        .flatMap(([, v]) => stringValues(v))
    );
  }
  return [];
}

/** The parts of an `AWS::Route53::RecordSet` these tests read. */
export interface RecordSet {
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
export function recordNamed(template: Template, name: string): RecordSet {
  const matches = Object.values(
    template.findResources('AWS::Route53::RecordSet', { Properties: { Name: `${name.replace(/\.$/, '')}.` } }),
  );
  if (matches.length !== 1) throw new Error(`expected one record named ${name}, found ${matches.length}`);
  return matches[0] as RecordSet;
}
