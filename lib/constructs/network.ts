import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createLogGroup } from '../defaults';

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /** IPv4 CIDR of the VPC (/16 to /20). */
  readonly cidr: string;
  /** NAT gateways, one per AZ at most. */
  readonly natGateways: number;
  /** The region's CloudWatch Logs key, which encrypts the flow logs. */
  readonly logsKey: kms.IKey;
  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * A VPC over every availability zone of its stack (three, from config) with
 * three tiers: public subnets for the load balancer (no public IP for what
 * launches there by default: the ALB and the NAT gateways get theirs from AWS),
 * private subnets with NAT egress for the instances and EFS mount targets, and
 * isolated subnets for Aurora and ElastiCache. All traffic is recorded in flow
 * logs, encrypted with the region's logs key.
 */
export class Network extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: 3,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason:
        'The zones are named in the environment config on purpose: synthesis stays offline and deterministic, ' +
        'and config validation checks that each zone belongs to the stack region.',
    });
    const flowLogGroup = createLogGroup(this, 'FlowLogs', {
      encryptionKey: props.logsKey,
      retention: props.flowLogRetention,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }
}
