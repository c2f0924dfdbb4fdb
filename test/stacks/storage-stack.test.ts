import { Match } from 'aws-cdk-lib/assertions';
import { importedValue, Json, logicalIdAt, synthesized, SynthesizedStack } from '../synthesized';

type Properties = Record<string, unknown>;

/** The one resource of a type in a stack's template, failing if there is not exactly one. */
function onlyResource(stack: SynthesizedStack, type: string): { id: string; resource: Json } {
  const found = Object.entries(stack.template.findResources(type));
  expect(found).toHaveLength(1);
  return { id: found[0][0], resource: found[0][1] };
}

/** Every reference in `stack`'s template to an output of `producer` (`Fn::ImportValue` or `Fn::GetStackOutput`). */
function readsOf(stack: SynthesizedStack, producer: SynthesizedStack): unknown[] {
  const found: unknown[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const import_ = (node as Json)['Fn::ImportValue'];
      const output = (node as Json)['Fn::GetStackOutput'];
      if (typeof import_ === 'string' && import_.startsWith(`${producer.stackName}:`)) found.push(node);
      else if (output?.StackName === producer.stackName) found.push(node);
      else Object.values(node).forEach(walk);
    }
  };
  walk(stack.json);
  return found;
}

describe.each(['primary', 'secondary'] as const)('storage stack of the demo %s region', (role) => {
  const env = synthesized('demo');
  const storage = env.stack('Storage', role);
  const network = env.stack('Network', role);
  const template = storage.template;
  const fileSystem = () => onlyResource(storage, 'AWS::EFS::FileSystem');
  const securityGroupId = () => onlyResource(storage, 'AWS::EC2::SecurityGroup').id;

  test(`is in the configured region (${env.config[role].region})`, () => {
    expect(storage.region).toBe(env.config[role].region);
  });

  test('holds one file system, its key, its security group and its three mount targets', () => {
    onlyResource(storage, 'AWS::EFS::FileSystem');
    onlyResource(storage, 'AWS::KMS::Key');
    onlyResource(storage, 'AWS::EC2::SecurityGroup');
    template.resourceCountIs('AWS::EFS::MountTarget', 3);
  });

  test('the file system is encrypted with the customer-managed KMS key of its stack', () => {
    const key = onlyResource(storage, 'AWS::KMS::Key');
    expect(fileSystem().resource.Properties).toEqual(
      expect.objectContaining({ Encrypted: true, KmsKeyId: { 'Fn::GetAtt': [key.id, 'Arn'] } }),
    );
    expect(key.resource.Properties.EnableKeyRotation).toBe(true);
    expect(key.resource.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(key.resource.UpdateReplacePolicy).toBe('Retain');
  });

  test('the file system is retained when removed or replaced', () => {
    expect(fileSystem().resource).toEqual(
      expect.objectContaining({ DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' }),
    );
  });

  test("has a mount target in each of the three private subnets of its region's network stack", () => {
    const targets = Object.values(template.findResources('AWS::EFS::MountTarget')).map(
      (r) => r.Properties as Properties,
    );
    expect(targets).toHaveLength(3);
    for (const t of targets) expect(t.FileSystemId).toEqual({ Ref: fileSystem().id });
    for (const t of targets) expect(t.SecurityGroups).toEqual([{ 'Fn::GetAtt': [securityGroupId(), 'GroupId'] }]);
    const subnets = targets.map((t) => importedValue(t.SubnetId, network, storage));
    const privateSubnets = [1, 2, 3].map((n) => ({
      Ref: logicalIdAt(network, `Network/Vpc/PrivateSubnet${n}/Subnet`),
    }));
    expect(subnets).toEqual(privateSubnets);
  });

  test("admits NFS (TCP 2049) only from its region's web instances security group, and does not export its own group", () => {
    const group = storage.json.Resources[securityGroupId()];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    const rules = Object.values(
      template.findResources('AWS::EC2::SecurityGroupIngress', {
        Properties: { GroupId: { 'Fn::GetAtt': [securityGroupId(), 'GroupId'] } },
      }),
    ).map((r) => r.Properties as Properties);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049 }));
    expect(rules[0]).not.toHaveProperty('CidrIp');
    expect(importedValue(rules[0].SourceSecurityGroupId, network, storage)).toEqual({
      'Fn::GetAtt': [logicalIdAt(network, 'ServiceWebSecurityGroup/Resource'), 'GroupId'],
    });
    for (const output of Object.values(storage.json.Outputs ?? {})) {
      expect(JSON.stringify(output)).not.toContain(securityGroupId());
    }
  });

  test('exposes its file system: the FileSystemId output and every value another stack reads from it', () => {
    const fs = fileSystem().id;
    expect(storage.json.Outputs.FileSystemId.Value).toEqual({ Ref: fs });
    const reads = env.stacks
      .filter((s) => s !== storage)
      .flatMap((s) => readsOf(s, storage).map((ref) => importedValue(ref, storage, s)));
    expect(reads.length).toBeGreaterThan(0);
    for (const value of reads) expect([{ Ref: fs }, { 'Fn::GetAtt': [fs, 'Arn'] }]).toContainEqual(value);
    // The app stack of the region mounts this file system.
    const app = env.stack('App', role);
    expect(readsOf(app, storage).map((ref) => importedValue(ref, storage, app))).toContainEqual({ Ref: fs });
  });
});

describe('EFS replication between the demo regions', () => {
  const env = synthesized('demo');
  const primary = env.stack('Storage', 'primary');
  const secondary = env.stack('Storage', 'secondary');

  test('the primary file system replicates to the secondary file system, in the secondary region', () => {
    const fs = onlyResource(primary, 'AWS::EFS::FileSystem').resource;
    const destinations = fs.Properties.ReplicationConfiguration.Destinations as Properties[];
    expect(destinations).toHaveLength(1);
    expect(destinations[0].Region).toBe(secondary.region);
    expect(secondary.region).toBe(env.config.secondary.region);
    expect(importedValue(destinations[0].FileSystemId, secondary, primary)).toEqual({
      Ref: onlyResource(secondary, 'AWS::EFS::FileSystem').id,
    });
  });

  test('the primary storage deploys after the secondary storage it replicates to', () => {
    expect(primary.dependencies).toContain(secondary.stackName);
    expect(primary.order).toBeGreaterThan(secondary.order);
  });

  test('the primary file system keeps replication overwrite protection on', () => {
    primary.template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' },
    });
  });

  test('the secondary file system turns replication overwrite protection off, as a destination must', () => {
    secondary.template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemProtection: { ReplicationOverwriteProtection: 'DISABLED' },
    });
  });

  test('the secondary file system does not replicate anywhere itself', () => {
    secondary.template.hasResourceProperties('AWS::EFS::FileSystem', {
      ReplicationConfiguration: Match.absent(),
    });
  });
});
