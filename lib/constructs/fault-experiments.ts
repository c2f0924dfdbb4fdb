import { Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as fis from 'aws-cdk-lib/aws-fis';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createLogGroup } from '../defaults';
import { acknowledgeNag } from '../nag';
import { servicePascalName } from '../stack-outputs';

/** Most stop conditions one experiment template may have ("Stop conditions per experiment template", AWS FIS quotas). */
export const MAX_STOP_CONDITIONS = 5;

/** Properties of {@link FaultExperiments}. */
export interface FaultExperimentsProps {
  /**
   * The region's service fleets, each a target of its own instance experiment (its instances carry the group's
   * name in the tag `aws:autoscaling:groupName`).
   */
  readonly fleets: readonly { readonly service: string; readonly autoScalingGroupName: string }[];
  /** The region's CloudWatch Logs key, which encrypts the experiments' log group. */
  readonly logsKey: kms.IKey;
  /** The region's VPC; the AZ experiment cuts the private and isolated subnets of its first AZ. */
  readonly vpc: ec2.IVpc;
  /**
   * ARN of the region's Aurora cluster to fail over within the region. Give it in every region: the experiment
   * works only while the region holds the Global Database writer (FailoverDBCluster on a secondary cluster
   * fails), and which region that is is runtime state, not the config's.
   * @default - no database experiment
   */
  readonly databaseClusterArn?: string;
  /** Alarms that stop the region-wide experiments (AZ, database) as soon as one is in ALARM: at most 5 (AWS FIS quota). */
  readonly stopAlarms: cloudwatch.IAlarm[];
  /**
   * Alarms that stop each service's instance experiment, by service name: at most 5 each (AWS FIS quota).
   * @default - the `stopAlarms`
   */
  readonly serviceStopAlarms?: Readonly<Record<string, readonly cloudwatch.IAlarm[]>>;
  /** Share of the fleet the instance experiment terminates, percent. @default 33 */
  readonly terminatePercent?: number;
}

/**
 * AWS FIS experiment templates for game days in one region, each stopped by
 * the region's alarms: terminate a share of one service's instances (a template per service), cut the network
 * of one AZ's private and isolated subnets for five minutes, and fail the
 * Aurora cluster over to a reader in another AZ. One role, scoped to what the
 * actions need.
 *
 * The database experiment makes sense only in the region that holds the Global
 * Database writer when it runs: in the other region the cluster is a secondary,
 * which has no writer to fail over, so the experiment fails there
 * (FailoverDBCluster on a secondary cluster fails). Both regions have the
 * template, since a region switch moves the writer without a deploy; run it
 * where `npm run region -- status` shows the writer.
 */
export class FaultExperiments extends Construct {
  private readonly byId = new Map<string, fis.CfnExperimentTemplate>();
  private readonly role: iam.Role;
  private readonly stopConditions: fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty[];
  private readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FaultExperimentsProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com'),
      description: 'AWS FIS experiments of the HA web service',
    });
    this.logGroup = createLogGroup(this, 'Logs', { encryptionKey: props.logsKey });
    // FIS delivers its logs through CloudWatch Logs log delivery, which needs these on the caller.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogDelivery',
          'logs:DescribeLogGroups',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
        ],
        resources: ['*'],
      }),
    );
    for (const [what, alarms] of [
      ['stopAlarms', props.stopAlarms],
      ...Object.entries(props.serviceStopAlarms ?? {}).map(([s, a]) => [`serviceStopAlarms.${s}`, a] as const),
    ] as const) {
      if (alarms.length > MAX_STOP_CONDITIONS) {
        throw new Error(
          `${this.node.path}: ${what} has ${alarms.length} alarms; an experiment template takes at most ` +
            `${MAX_STOP_CONDITIONS} stop conditions (AWS FIS quotas): combine them in a composite alarm.`,
        );
      }
    }
    this.stopConditions = props.stopAlarms.map((a) => ({ source: 'aws:cloudwatch:alarm', value: a.alarmArn }));

    this.addInstanceExperiments(props);
    this.addZoneExperiment(props.vpc);
    if (props.databaseClusterArn) this.addDatabaseExperiment(props.databaseClusterArn);
    this.acknowledgeRolePolicy();
  }

  /** 1. Instances: only those of the services' fleets, a template per service. */
  private addInstanceExperiments(props: FaultExperimentsProps): void {
    const stack = Stack.of(this);
    // Found by the tag Auto Scaling puts on them.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:TerminateInstances'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
        conditions: {
          StringEquals: {
            'aws:ResourceTag/aws:autoscaling:groupName': props.fleets.map((f) => f.autoScalingGroupName),
          },
        },
      }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    const percent = props.terminatePercent ?? 33;
    for (const fleet of props.fleets) {
      this.add(
        `TerminateInstances${servicePascalName(fleet.service)}`,
        `Terminate ${percent} % of the instances of the service ${fleet.service}`,
        {
          actions: {
            terminate: { actionId: 'aws:ec2:terminate-instances', targets: { Instances: 'serviceInstances' } },
          },
          targets: {
            serviceInstances: {
              resourceType: 'aws:ec2:instance',
              resourceTags: { 'aws:autoscaling:groupName': fleet.autoScalingGroupName },
              filters: [{ path: 'State.Name', values: ['running'] }],
              selectionMode: `PERCENT(${percent})`,
            },
          },
        },
        props.serviceStopAlarms?.[fleet.service],
      );
    }
  }

  /** 2. An AZ: the private and isolated subnets of the VPC's first zone lose all traffic for 5 minutes. */
  private addZoneExperiment(vpc: ec2.IVpc): void {
    const stack = Stack.of(this);
    const zone = vpc.availabilityZones[0];
    const subnets = [
      ...vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, availabilityZones: [zone] }).subnetIds,
      ...vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED, availabilityZones: [zone] }).subnetIds,
    ];
    const subnetArns = subnets.map((s) => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: s }));
    // As AWS's AWSFaultInjectionSimulatorNetworkAccess policy: FIS may create and change only the network
    // ACLs it tags `managedByFIS` itself, and swap the association of these subnets only.
    const networkAcls = stack.formatArn({ service: 'ec2', resource: 'network-acl', resourceName: '*' });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkAcl'],
        resources: [networkAcls],
        conditions: { StringEquals: { 'aws:RequestTag/managedByFIS': 'true' } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkAcl'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'vpc', resourceName: vpc.vpcId })],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [networkAcls],
        conditions: { StringEquals: { 'ec2:CreateAction': 'CreateNetworkAcl', 'aws:RequestTag/managedByFIS': 'true' } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkAclEntry', 'ec2:DeleteNetworkAcl'],
        resources: [networkAcls],
        conditions: { StringEquals: { 'ec2:ResourceTag/managedByFIS': 'true' } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:ReplaceNetworkAclAssociation'],
        resources: [...subnetArns, networkAcls],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:DescribeNetworkAcls',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
          'ec2:DescribeManagedPrefixLists',
        ],
        resources: ['*'],
      }),
    );
    this.add('DisruptZone', `Cut the network of ${zone}'s private and isolated subnets for 5 minutes`, {
      actions: {
        disrupt: {
          actionId: 'aws:network:disrupt-connectivity',
          parameters: { duration: 'PT5M', scope: 'all' },
          targets: { Subnets: 'zoneSubnets' },
        },
      },
      targets: {
        zoneSubnets: { resourceType: 'aws:ec2:subnet', resourceArns: subnetArns, selectionMode: 'ALL' },
      },
    });
  }

  /** 3. The database: fail the cluster over to a reader in another AZ (only while it holds the writer). */
  private addDatabaseExperiment(databaseClusterArn: string): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['rds:FailoverDBCluster'], resources: [databaseClusterArn] }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBClusters'], resources: ['*'] }));
    this.add('FailoverDatabase', 'Fail the Aurora cluster over to a reader in another AZ (where the writer is)', {
      actions: {
        failover: { actionId: 'aws:rds:failover-db-cluster', targets: { Clusters: 'cluster' } },
      },
      targets: {
        cluster: { resourceType: 'aws:rds:cluster', resourceArns: [databaseClusterArn], selectionMode: 'ALL' },
      },
    });
  }

  /** The reviewers' reasons for the role's wildcards. */
  private acknowledgeRolePolicy(): void {
    const stack = Stack.of(this);
    acknowledgeNag(
      this.role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'Describe* and log-delivery calls accept no resource scope (EC2 and RDS Describe APIs, CloudWatch Logs ' +
        'CreateLogDelivery); every mutating action is scoped to this fleet, these subnets or this cluster.',
    );
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    for (const resource of ['instance', 'network-acl']) {
      acknowledgeNag(
        this.role.node.findChild('DefaultPolicy'),
        `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${stack.region}:${stack.account}:${resource}/*]`,
        resource === 'instance'
          ? "Instances come and go; TerminateInstances is limited by condition to the tag aws:autoscaling:groupName of the services' fleets."
          : 'FIS creates the network ACL during the experiment, so its ID is unknown beforehand.',
      );
    }
  }

  /** The templates' IDs (`TerminateInstances<Service>`, `DisruptZone`, `FailoverDatabase`), in creation order. */
  public get templateIds(): readonly string[] {
    return [...this.byId.keys()];
  }

  /** The template `id`. Throws for an ID this region does not have. */
  public template(id: string): fis.CfnExperimentTemplate {
    const found = this.byId.get(id);
    if (!found)
      throw new Error(`${this.node.path}: no experiment template "${id}" (have ${this.templateIds.join(', ')})`);
    return found;
  }

  private add(
    id: string,
    description: string,
    spec: Pick<fis.CfnExperimentTemplateProps, 'actions' | 'targets'>,
    stopAlarms?: readonly cloudwatch.IAlarm[],
  ): void {
    const template = new fis.CfnExperimentTemplate(this, id, {
      description,
      roleArn: this.role.roleArn,
      stopConditions: stopAlarms
        ? stopAlarms.map((a) => ({ source: 'aws:cloudwatch:alarm', value: a.alarmArn }))
        : this.stopConditions,
      actions: spec.actions,
      targets: spec.targets,
      logConfiguration: {
        logSchemaVersion: 2,
        cloudWatchLogsConfiguration: { LogGroupArn: this.logGroup.logGroupArn },
      },
      tags: { Name: `${Stack.of(this).stackName}-${id}` },
    });
    this.byId.set(id, template);
  }
}
