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
