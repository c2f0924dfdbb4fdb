import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { RegionConfig } from '../config';
import { Network } from '../constructs/network';
import { RegionalStack, RegionalStackProps } from '../regional-stack';
import { acknowledgeNag } from '../nag';
import { servicePascalName } from '../stack-outputs';

/** Properties of a {@link NetworkStack}. */
export interface NetworkStackProps extends RegionalStackProps {
  /** This region's settings. */
  readonly regionConfig: RegionConfig;
  /** The environment's service names (`config.services[].name`): each gets its own security group. */
  readonly services: readonly string[];
}

/**
 * Network of one region: the VPC (with its flow logs, encrypted with the
 * stack's logs key) and the security groups of the load balancer and of each
 * service's instances. The groups live here, below every other stack, so each data
 * store admits exactly the services that use it, and the load balancer can reach
 * each service on its port, without any stack depending on the app stack that
 * creates the instances.
 */
export class NetworkStack extends RegionalStack {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** Security group of each service's instances, by service name. */
  private readonly serviceGroups = new Map<string, ec2.ISecurityGroup>();
  /** Security group of the public load balancer. */
  public readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  /** The stack's CloudWatch Logs key (flow logs). */
  public readonly logsKey: kms.IKey;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.logsKey = this.encryptLogGroups();
    const network = new Network(this, 'Network', {
      cidr: props.regionConfig.vpcCidr,
      natGateways: props.regionConfig.natGateways,
      logsKey: this.logsKey,
    });
    this.vpc = network.vpc;
    for (const service of props.services) {
      this.serviceGroups.set(
        service,
        new ec2.SecurityGroup(this, `Service${servicePascalName(service)}SecurityGroup`, {
          vpc: this.vpc,
          description: `Instances of the service ${service}`,
          // Egress to AWS APIs (SSM, Secrets Manager, CloudWatch), package mirrors and the data tier.
          allowAllOutbound: true,
        }),
      );
    }
    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'Public load balancer: HTTPS and HTTP (redirected) from the internet',
      allowAllOutbound: false,
    });
    acknowledgeNag(
      this.loadBalancerSecurityGroup,
      'AwsSolutions-EC23',
      'The internet-facing ALB must accept any client address on 443 (and on 80, which only redirects to 443); ' +
        'the ALB drops invalid headers and terminates TLS, and egress goes only to the instances.',
    );
  }

  /** Security group of `service`'s instances. Throws for a service the environment does not have. */
  public securityGroupFor(service: string): ec2.ISecurityGroup {
    const group = this.serviceGroups.get(service);
    if (!group)
      throw new Error(`${this.node.path}: no service "${service}" (have ${[...this.serviceGroups.keys()].join(', ')})`);
    return group;
  }
}
