import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { prod } from '../../lib/config/environments';
import { HaEnvironment } from '../../lib/ha-environment';
import { buildEnvironment, newApp, withConfig } from '../helpers';

const { app, env } = buildEnvironment();
const assembly = app.synth();

/** Stack names each stack depends on, from the cloud assembly. */
function dependenciesOf(stack: Stack): string[] {
  return assembly
    .getStackArtifact(stack.artifactId)
    .dependencies.map((d) => d.id)
    .filter((id) => !id.endsWith('.assets'))
    .sort();
}

/** Every Fn::GetStackOutput in a template, with the region it reads from. */
function stackOutputReads(stack: Stack): { stackName: string; region: string }[] {
  const found: { stackName: string; region: string }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Fn::GetStackOutput') {
          const ref = v as { StackName: string; Region: string };
          found.push({ stackName: ref.StackName, region: ref.Region });
        } else walk(v);
      }
    }
  };
  walk(Template.fromStack(stack).toJSON());
  return found;
}

describe('stack topology', () => {
  test('an environment is ten stacks named by prefix, lifecycle and region', () => {
    expect(env.stacks.map((s) => s.stackName)).toEqual([
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Network-us-west-2',
      'HaWeb-demo-Storage-us-west-2',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Data-us-west-2',
      'HaWeb-demo-App-us-east-1',
      'HaWeb-demo-App-us-west-2',
      'HaWeb-demo-Operations-us-west-2',
      'HaWeb-demo-Operations-us-east-1',
    ]);
  });

  test('each stack is bound to the configured account and its region', () => {
    for (const s of [env.primary.network, env.primary.data, env.primary.app]) {
      expect([s.account, s.region]).toEqual(['111111111111', 'us-east-1']);
    }
    for (const s of [env.secondary.network, env.secondary.data, env.secondary.app]) {
      expect([s.account, s.region]).toEqual(['111111111111', 'us-west-2']);
    }
  });

  test('availability zones come from config, never from a lookup', () => {
    expect(env.primary.network.availabilityZones).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(env.secondary.app.availabilityZones).toEqual(['us-west-2a', 'us-west-2b', 'us-west-2c']);
  });

  test('the primary storage deploys after the secondary storage it replicates to', () => {
    expect(dependenciesOf(env.primary.storage)).toEqual([
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('the secondary data stack deploys after the primary data stack it joins', () => {
    expect(dependenciesOf(env.secondary.data)).toEqual(['HaWeb-demo-Data-us-east-1', 'HaWeb-demo-Network-us-west-2']);
  });

  test('operations stacks deploy after their own app stack, the primary last', () => {
    // Of the other region only the immutable IDs: its file system, the Global Datastore.
    expect(dependenciesOf(env.secondary.operations)).toEqual([
      'HaWeb-demo-App-us-west-2',
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-west-2',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
    // The plan names the secondary's functions, alarms and fleet, which must exist first (an ordering only).
    expect(dependenciesOf(env.primary.operations)).toEqual([
      'HaWeb-demo-App-us-east-1',
      'HaWeb-demo-App-us-west-2',
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Operations-us-west-2',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('each app stack depends on the network, storage and data of its own region (the primary also reads the EFS destination ID)', () => {
    expect(dependenciesOf(env.primary.app)).toEqual([
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
    expect(dependenciesOf(env.secondary.app)).toEqual([
      'HaWeb-demo-Data-us-west-2',
      'HaWeb-demo-Network-us-west-2',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('network stacks depend on nothing', () => {
    expect(dependenciesOf(env.primary.network)).toEqual([]);
    expect(dependenciesOf(env.secondary.network)).toEqual([]);
  });

  test('the dependency graph has no cycle and the listed order is a valid deploy order', () => {
    const position = new Map(env.stacks.map((s, i) => [s.artifactId, i]));
    for (const s of env.stacks) {
      for (const dep of dependenciesOf(s)) {
        expect(position.get(dep)).toBeLessThan(position.get(s.artifactId)!);
      }
    }
  });

  test('across regions, stacks read only the file systems and the Global Datastore (test/compliance checks the values)', () => {
    const crossings = env.stacks.flatMap((s) =>
      stackOutputReads(s)
        .filter((r) => r.region !== s.region)
        .map((r) => `${s.stackName} <- ${r.stackName}`),
    );
    expect([...new Set(crossings)].sort()).toEqual([
      // The EFS sync alarm and dashboard of the primary name the destination file system.
      'HaWeb-demo-App-us-east-1 <- HaWeb-demo-Storage-us-west-2',
      'HaWeb-demo-Data-us-west-2 <- HaWeb-demo-Data-us-east-1',
      // The switch functions of each region flip the replication between the two file systems.
      'HaWeb-demo-Operations-us-east-1 <- HaWeb-demo-Storage-us-west-2',
      'HaWeb-demo-Operations-us-west-2 <- HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Operations-us-west-2 <- HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-east-1 <- HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('within a region, stacks share values through exports only (CloudFormation keeps them consistent)', () => {
    for (const s of env.stacks) {
      expect(stackOutputReads(s).filter((r) => r.region === s.region)).toEqual([]);
    }
  });

  test('stateful stacks and the networks under them have termination protection in prod', () => {
    const prodEnv = new HaEnvironment(newApp(), prod);
    const protectedStacks = prodEnv.stacks.filter((s) => s.terminationProtection).map((s) => s.stackName);
    expect(protectedStacks.sort()).toEqual([
      'HaWeb-prod-Data-us-east-1',
      'HaWeb-prod-Data-us-west-2',
      'HaWeb-prod-Network-us-east-1',
      'HaWeb-prod-Network-us-west-2',
      'HaWeb-prod-Storage-us-east-1',
      'HaWeb-prod-Storage-us-west-2',
    ]);
  });

  test('demo stacks have no termination protection', () => {
    expect(env.stacks.some((s) => s.terminationProtection)).toBe(false);
  });

  test('a bad config creates no stack at all', () => {
    const fresh = new App();
    expect(() => new HaEnvironment(fresh, withConfig({ account: 'nope' }))).toThrow(
      'account "nope" must be a 12-digit AWS account ID.',
    );
    expect(fresh.node.children).toHaveLength(0);
  });
});
