import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SharedFileSystem } from '../../lib/constructs/shared-file-system';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { buildEnvironment, importedValue, newApp, onlyResource, templatesOf, expectOnlyWebIngress } from '../helpers';

const { env } = buildEnvironment();
const templates = templatesOf(env);

type Properties = Record<string, unknown>;

const regions: {
  role: string;
  storage: StorageStack;
  template: Template;
  network: NetworkStack;
  networkTemplate: Template;
}[] = [
  {
    role: 'primary',
    storage: env.primary.storage,
    template: templates.storagePrimary,
    network: env.primary.network,
    networkTemplate: templates.networkPrimary,
  },
  {
    role: 'secondary',
    storage: env.secondary.storage,
    template: templates.storageSecondary,
    network: env.secondary.network,
    networkTemplate: templates.networkSecondary,
  },
];

describe.each(regions)('shared file system of the $role region', ({ storage, template, network, networkTemplate }) => {
  const fileSystem = () => onlyResource(template, 'AWS::EFS::FileSystem');
  const securityGroupId = () => onlyResource(template, 'AWS::EC2::SecurityGroup').id;

  test('is encrypted with the customer-managed KMS key of its stack', () => {
    const key = onlyResource(template, 'AWS::KMS::Key').id;
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
    const subnets = targets.map((t) => importedValue(t.SubnetId, network, networkTemplate));
    expect(subnets).toEqual(network.resolve(network.vpc.privateSubnets.map((s) => s.subnetId)));
  });

  test('its mount targets use the file system security group', () => {
    const targets = Object.values(template.findResources('AWS::EFS::MountTarget'));
    for (const t of targets) {
      expect(t.Properties.SecurityGroups).toEqual([{ 'Fn::GetAtt': [securityGroupId(), 'GroupId'] }]);
    }
  });

  test('admits NFS (TCP 2049) only from the web instances security group, which is not exported', () => {
    expect(onlyResource(template, 'AWS::EC2::SecurityGroup').id).toBe(securityGroupId());
    expectOnlyWebIngress(template, securityGroupId(), 2049, network, networkTemplate);
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

  test('is the file system that the stack exposes', () => {
    expect(storage.resolve(storage.fileSystem.fileSystemId)).toEqual({ Ref: fileSystem().id });
  });
});

describe('EFS replication between the regions', () => {
  test('the primary file system replicates to the secondary file system, in the secondary region', () => {
    const primary = onlyResource(templates.storagePrimary, 'AWS::EFS::FileSystem').resource;
    const destinations = primary.Properties.ReplicationConfiguration.Destinations as Properties[];
    expect(destinations).toHaveLength(1);
    expect(destinations[0].Region).toBe(env.secondary.storage.region);
    expect(importedValue(destinations[0].FileSystemId, env.secondary.storage, templates.storageSecondary)).toEqual({
      Ref: onlyResource(templates.storageSecondary, 'AWS::EFS::FileSystem').id,
    });
  });

  test('the primary file system keeps replication overwrite protection on', () => {
    templates.storagePrimary.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' },
    });
  });

  test('the secondary file system turns replication overwrite protection off, as a destination must', () => {
    templates.storageSecondary.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'DISABLED' },
    });
  });

  test('the secondary file system does not replicate anywhere itself', () => {
    templates.storageSecondary.hasResourceProperties('AWS::EFS::FileSystem', {
      ReplicationConfiguration: Match.absent(),
    });
  });
});

describe('SharedFileSystem validation', () => {
  function scaffold() {
    const stack = new Stack(newApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const clients = new ec2.SecurityGroup(stack, 'Clients', { vpc });
    return { stack, vpc, clients };
  }

  test('refuses replicateTo together with replicationDestination, naming both settings', () => {
    const { vpc, clients, stack } = scaffold();
    const other = { region: 'us-west-2', fileSystemId: 'fs-12345678' };
    expect(
      () => new SharedFileSystem(stack, 'Files', { vpc, clients, replicateTo: other, replicationDestination: true }),
    ).toThrow(
      'Test/Files: a file system cannot both replicate (replicateTo) and be a replication destination ' +
        '(replicationDestination); set only one.',
    );
  });

  test('accepts replicateTo on its own', () => {
    const { stack, vpc, clients } = scaffold();
    new SharedFileSystem(stack, 'Files', {
      vpc,
      clients,
      replicateTo: { region: 'us-west-2', fileSystemId: 'fs-12345678' },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::EFS::FileSystem', {
      ReplicationConfiguration: { Destinations: [{ FileSystemId: 'fs-12345678', Region: 'us-west-2' }] },
    });
  });
});
