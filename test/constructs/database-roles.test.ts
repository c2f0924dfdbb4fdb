import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { roleStatements } from '../../lambda/database-roles/roles';
import { databaseRoleOf } from '../../lib/config';
import { DatabaseRoles, IAM_AUTH_ROLE } from '../../lib/constructs/database-roles';
import { bareStack, propertiesOf, templateOf, testKey, testVpc } from '../harness';
import { onlyResource } from '../helpers';

const ROLES = [databaseRoleOf('web'), databaseRoleOf('catalog')];

function build(): { template: Template; roles: DatabaseRoles; cluster: Construct } {
  const stack = bareStack({ region: 'us-east-1' });
  const vpc = testVpc(stack);
  const securityGroup = new ec2.SecurityGroup(stack, 'RolesGroup', { vpc, allowAllOutbound: false });
  const cluster = new Construct(stack, 'Cluster');
  new ec2.CfnSecurityGroup(cluster, 'Resource', { groupDescription: 'stands in for the cluster' });
  const roles = new DatabaseRoles(stack, 'DatabaseRoles', {
    vpc,
    securityGroup,
    adminSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'haweb/test/database'),
    writerHost: 'writer.cluster.test',
    readerHost: 'reader.cluster.test',
    port: 5432,
    databaseName: 'app',
    roles: ROLES,
    logsKey: testKey(stack),
    dependsOn: [cluster],
  });
  return { template: templateOf(stack), roles, cluster };
}

const { template } = build();
// The test VPC's own default-security-group function aside.
const functions = () =>
  propertiesOf(template, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('DatabaseRoles'));
const handler = () => functions().find(([id]) => id.startsWith('DatabaseRolesFunction'))!;

describe('DatabaseRoles', () => {
  test('one custom resource whose properties are the roles and the very statements the function runs', () => {
    const { resource } = onlyResource(template, 'Custom::DatabaseRoles');
    const options = { database: 'app', iamRole: IAM_AUTH_ROLE };
    expect(resource.Properties).toMatchObject({
      Roles: JSON.stringify(ROLES),
      Database: 'app',
      IamRole: 'rds_iam',
      Statements: JSON.stringify(roleStatements(ROLES, new Set(), options)),
    });
    expect(JSON.parse(resource.Properties.Statements)).toContain('GRANT "rds_iam" TO "svc_catalog"');
  });

  test('waits for the cluster: the custom resource depends on it', () => {
    const { resource } = onlyResource(template, 'Custom::DatabaseRoles');
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^Cluster/)]));
  });

  test('both functions (handler and provider framework) run in the private subnets with egress, in the group given', () => {
    expect(functions()).toHaveLength(2);
    for (const [, fn] of functions()) {
      expect(fn.VpcConfig.SubnetIds).toHaveLength(3);
      expect(JSON.stringify(fn.VpcConfig.SubnetIds)).toMatch(/PrivateSubnet/);
      expect(fn.VpcConfig.SecurityGroupIds).toEqual([
        { 'Fn::GetAtt': [expect.stringMatching(/^RolesGroup/), 'GroupId'] },
      ]);
    }
  });

  test('the handler knows the endpoints and the secret, and loads the RDS CA certificates', () => {
    const [, fn] = handler();
    expect(fn.Environment.Variables).toEqual({
      SECRET_ID: expect.stringContaining(':secret:haweb/test/database'),
      WRITER_HOST: 'writer.cluster.test',
      READER_HOST: 'reader.cluster.test',
      PORT: '5432',
      REPLICA_WAIT_SECONDS: '120',
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    });
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Timeout).toBe(300);
  });

  test('only the handler may read the administrator secret', () => {
    const reads = propertiesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]![1].Roles)).toMatch(/DatabaseRolesFunctionServiceRole/);
  });

  test('the group reaches out on HTTPS only (Secrets Manager, Lambda, the CloudFormation response)', () => {
    const [, group] = propertiesOf(template, 'AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('RolesGroup'))!;
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
  });

  test('its log groups are encrypted and retained', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(2);
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toBeDefined();
      expect(group.DeletionPolicy).toBe('RetainExceptOnCreate');
    }
  });
});
