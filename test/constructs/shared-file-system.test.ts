import { Match } from 'aws-cdk-lib/assertions';
import { isDeepStrictEqual } from 'util';
import { SharedFileSystem, SharedFileSystemProps } from '../../lib/constructs/shared-file-system';
import { bareStack, expectOnlyIngressFrom, templateOf, testSecurityGroup, testVpc } from '../harness';
import { onlyResource } from '../helpers';

type Properties = Record<string, unknown>;

/** The destination of the source role's replication, as another region's file system ID. */
const DESTINATION = { region: 'us-west-2', fileSystemId: 'fs-12345678' };

/** A {@link SharedFileSystem} on a bare stack with a VPC like the app's and a clients security group. */
function sharedFileSystem(props: Partial<SharedFileSystemProps> = {}) {
  const stack = bareStack();
  const vpc = testVpc(stack);
  const clients = testSecurityGroup(stack, vpc);
  const files = new SharedFileSystem(stack, 'Files', { vpc, clients: [clients], ...props });
  return { stack, vpc, clients, files, template: templateOf(stack) };
}

const roles = [
  { role: 'replication source (replicateTo)', props: { replicateTo: DESTINATION } },
  { role: 'replication destination (replicationDestination)', props: { replicationDestination: true } },
  { role: 'stand-alone file system (no replication)', props: {} },
];

describe.each(roles)('SharedFileSystem as a $role', ({ props }) => {
  const { stack, vpc, clients, files, template } = sharedFileSystem(props);
  const fileSystem = () => onlyResource(template, 'AWS::EFS::FileSystem');
  /** The one security group the construct creates (the other one of the stack is the clients'). */
  const securityGroupId = () => {
    const created = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).filter(
      (id) => !isDeepStrictEqual(stack.resolve(clients.securityGroupId), { 'Fn::GetAtt': [id, 'GroupId'] }),
    );
    expect(created).toHaveLength(1);
    expect(stack.resolve(files.fileSystem.connections.securityGroups.map((g) => g.securityGroupId))).toEqual([
      { 'Fn::GetAtt': [created[0], 'GroupId'] },
    ]);
    return created[0];
  };

  test('is encrypted with its own customer-managed KMS key', () => {
    const key = onlyResource(template, 'AWS::KMS::Key').id;
    expect(stack.resolve(files.key.keyArn)).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    expect(fileSystem().resource.Properties).toEqual(
      expect.objectContaining({ Encrypted: true, KmsKeyId: { 'Fn::GetAtt': [key, 'Arn'] } }),
    );
  });

  test('its key has rotation on and is retained when removed', () => {
    const { resource } = onlyResource(template, 'AWS::KMS::Key');
    expect(resource.Properties.EnableKeyRotation).toBe(true);
    expect(resource.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  test('has a mount target in each of the three private subnets', () => {
    template.resourceCountIs('AWS::EFS::MountTarget', 3);
    const targets = Object.values(template.findResources('AWS::EFS::MountTarget')).map(
      (r) => r.Properties as Properties,
    );
    for (const t of targets) expect(t.FileSystemId).toEqual({ Ref: fileSystem().id });
    expect(targets.map((t) => t.SubnetId)).toEqual(stack.resolve(vpc.privateSubnets.map((s) => s.subnetId)));
  });

  test('its mount targets use the file system security group', () => {
    const targets = Object.values(template.findResources('AWS::EFS::MountTarget'));
    for (const t of targets) {
      expect(t.Properties.SecurityGroups).toEqual([{ 'Fn::GetAtt': [securityGroupId(), 'GroupId'] }]);
    }
  });

  test('admits NFS (TCP 2049) only from the clients security group', () => {
    expectOnlyIngressFrom(template, securityGroupId(), 2049, stack.resolve(clients.securityGroupId));
  });

  test('has automatic backups on', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', { BackupPolicy: { Status: 'ENABLED' } });
  });

  test('is retained when removed or replaced', () => {
    template.hasResource('AWS::EFS::FileSystem', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('its file system policy denies every action over a connection without TLS', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('is the file system that the construct exposes', () => {
    expect(stack.resolve(files.fileSystem.fileSystemId)).toEqual({ Ref: fileSystem().id });
  });
});

describe('SharedFileSystem as a replication source (replicateTo)', () => {
  const { template } = sharedFileSystem({ replicateTo: DESTINATION });

  test('replicates to the given file system, in the given region, and nowhere else', () => {
    const { resource } = onlyResource(template, 'AWS::EFS::FileSystem');
    expect(resource.Properties.ReplicationConfiguration).toEqual({
      Destinations: [{ FileSystemId: 'fs-12345678', Region: 'us-west-2' }],
    });
  });

  test('keeps replication overwrite protection on', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' },
    });
  });
});

describe('SharedFileSystem as a replication destination (replicationDestination)', () => {
  const { template } = sharedFileSystem({ replicationDestination: true });

  test('turns replication overwrite protection off, as a destination must', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'DISABLED' },
    });
  });

  test('does not replicate anywhere itself', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', { ReplicationConfiguration: Match.absent() });
  });
});

describe('SharedFileSystem with no replication', () => {
  const { template } = sharedFileSystem();

  test('keeps replication overwrite protection on and does not replicate', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' },
      ReplicationConfiguration: Match.absent(),
    });
  });
});

describe('SharedFileSystem validation', () => {
  test('refuses replicateTo together with replicationDestination, naming both settings', () => {
    expect(() => sharedFileSystem({ replicateTo: DESTINATION, replicationDestination: true })).toThrow(
      'Test/Files: a file system cannot both replicate (replicateTo) and be a replication destination ' +
        '(replicationDestination); set only one.',
    );
  });

  test('accepts replicateTo on its own', () => {
    const { template } = sharedFileSystem({ replicateTo: DESTINATION });
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      ReplicationConfiguration: { Destinations: [{ FileSystemId: 'fs-12345678', Region: 'us-west-2' }] },
    });
  });

  test('accepts replicationDestination on its own', () => {
    expect(() => sharedFileSystem({ replicationDestination: true })).not.toThrow();
  });
});
