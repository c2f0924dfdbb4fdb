import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { roleStatements } from '../../lambda/database-roles/roles';
import { lambdaBundleDir } from '../bundling';
import { ServiceDatabaseRole } from '../config';
import { createLogGroup } from '../defaults';
import { acknowledgeNag } from '../nag';

/** Role of which a member signs in with IAM database authentication tokens (Aurora PostgreSQL). */
export const IAM_AUTH_ROLE = 'rds_iam';

/** Properties of {@link DatabaseRoles}. */
export interface DatabaseRolesProps {
  /** The region's VPC: the function runs in its subnets with egress (it reads the secret, answers CloudFormation). */
  readonly vpc: ec2.IVpc;
  /**
   * The function's security group, made by the caller so that the cluster's security group can admit it (pass it
   * among the cluster's clients). Its egress is set here.
   */
  readonly securityGroup: ec2.SecurityGroup;
  /** The administrator's secret in this region (the primary's, or its replica in the secondary). */
  readonly adminSecret: secretsmanager.ISecret;
  /** Hostname of the cluster (writer) endpoint; inactive on a secondary cluster. */
  readonly writerHost: string;
  /** Hostname of the reader endpoint. */
  readonly readerHost: string;
  /** PostgreSQL port. */
  readonly port: number;
  /** The application database. */
  readonly databaseName: string;
  /** The services' roles and schemas (`databaseRoles(config)`). */
  readonly roles: readonly ServiceDatabaseRole[];
  /** The region's logs key (the log groups are encrypted with it). */
  readonly logsKey: kms.IKey;
  /**
   * What must exist before the roles can be made: the cluster and the instance that answers on its writer (or, on
   * a secondary, reader) endpoint. Not every instance: a reader added later must not touch this resource.
   */
  readonly dependsOn: readonly IConstruct[];
}

/**
 * The services' least-privilege PostgreSQL roles, made at deploy by a custom resource (`lambda/database-roles`)
 * that signs in as the administrator. The administrator's secret is read by this function only; the service
 * instances sign in as their own roles with IAM database authentication and never see it. In the region whose
 * cluster is the read-only secondary it verifies that the roles have replicated, and fails naming the deploy
 * order when they have not (see lambda/database-roles/index.ts).
 *
 * The statements it will run are a property of the resource (`Statements`), so `cdk diff` shows any change of them
 * for review; a change of the roles or the statements updates the resource, which runs them again (each is
 * idempotent).
 */
export class DatabaseRoles extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The function that applies or verifies the roles. */
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: DatabaseRolesProps) {
    super(scope, id);
    props.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'Secrets Manager, Lambda and the CloudFormation response URL, through the NAT gateways',
    );
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.function = new lambda.Function(this, 'Function', {
      description: 'Makes the services’ least-privilege database roles (or verifies them on the read-only cluster)',
      code: lambda.Code.fromAsset(lambdaBundleDir('database-roles')),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // The replica wait (2 minutes) and a connection attempt to each endpoint.
      timeout: Duration.minutes(5),
      vpc: props.vpc,
      vpcSubnets: subnets,
      securityGroups: [props.securityGroup],
      logGroup: createLogGroup(this, 'Logs', { encryptionKey: props.logsKey }),
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        SECRET_ID: props.adminSecret.secretArn,
        WRITER_HOST: props.writerHost,
        READER_HOST: props.readerHost,
        PORT: String(props.port),
        REPLICA_WAIT_SECONDS: '120',
        // Lambda's Node.js runtimes from 20 on load Amazon's CA certificates (the RDS ones among them) only when
        // told to (AWS Lambda developer guide, "Building Lambda functions with Node.js", CA certificate loading).
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    });
    props.adminSecret.grantRead(this.function);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      vpc: props.vpc,
      vpcSubnets: subnets,
      securityGroups: [props.securityGroup],
      logGroup: createLogGroup(this, 'ProviderLogs', { encryptionKey: props.logsKey }),
    });
    const roles = props.roles.map(({ role, schema }) => ({ role, schema }));
    const options = { database: props.databaseName, iamRole: IAM_AUTH_ROLE };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DatabaseRoles',
      properties: {
        Roles: JSON.stringify(roles),
        Database: props.databaseName,
        IamRole: IAM_AUTH_ROLE,
        Statements: JSON.stringify(roleStatements(roles, new Set(), options)),
      },
    });
    this.resource.node.addDependency(...props.dependsOn);
    this.acknowledge(provider);
  }

  private acknowledge(provider: cr.Provider): void {
    const nodeVersion =
      'Node.js 22 on purpose: the same major version as the instances (Amazon Linux 2023 nodejs22), an LTS line.';
    acknowledgeNag(this.function, 'AwsSolutions-L1', nodeVersion);
    const framework = provider.node.findChild('framework-onEvent');
    acknowledgeNag(
      framework,
      'AwsSolutions-L1',
      "aws-cdk-lib's provider framework picks its own runtime (the latest Node.js it knows for the region).",
    );
    const region = Stack.of(this).region;
    for (const scope of [this.function, framework]) {
      acknowledgeNag(
        scope,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        'The AWS managed policy Lambda needs to attach a function to the VPC (network interfaces), as the Lambda ' +
          `developer guide gives it; the function's own log group in ${region} is written through it.`,
      );
      acknowledgeNag(
        scope,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'The AWS managed policy for writing the function’s logs, which aws-cdk-lib attaches to every function role.',
      );
    }
    const fnId = Stack.of(this).getLogicalId(this.function.node.defaultChild as lambda.CfnFunction);
    acknowledgeNag(
      framework,
      `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
      "aws-cdk-lib's provider framework invokes the roles function by any of its versions; the function only.",
    );
  }
}
