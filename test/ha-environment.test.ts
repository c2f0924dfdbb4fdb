import { App } from 'aws-cdk-lib';
import { HaEnvironment } from '../lib/ha-environment';
import { withConfig } from './helpers';
import { Json, SynthesizedStack, synthesized } from './synthesized';

// The environment as `cdk synth` writes it (test/synthesized.ts): its stacks, their order and the references
// between them.
const demo = synthesized('demo');
const byName = (name: string) => demo.stacks.find((s) => s.stackName === name)!;
const dependenciesOf = (stackName: string) => byName(stackName).dependencies;

/** Every Fn::GetStackOutput in a template, with the region it reads from. */
function stackOutputReads(stack: SynthesizedStack): { stackName: string; region: string }[] {
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
  walk(stack.json);
  return found;
}

describe('stack topology', () => {
  test('an environment is ten stacks named by prefix, lifecycle and region, in deploy order', () => {
    expect(demo.stacks.map((s) => s.stackName)).toEqual([
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
    for (const s of demo.stacks) {
      expect([s.account, s.region]).toEqual([
        '111111111111',
        s.stackName.endsWith('us-east-1') ? 'us-east-1' : 'us-west-2',
      ]);
    }
    expect(demo.stacks.filter((s) => s.region === 'us-east-1')).toHaveLength(5);
  });

  test('availability zones come from config, never from a lookup', () => {
    const zonesOf = (stackName: string) =>
      [
        ...new Set(
          Object.values(byName(stackName).template.findResources('AWS::EC2::Subnet')).map(
            (r: Json) => r.Properties.AvailabilityZone,
          ),
        ),
      ].sort();
    expect(zonesOf('HaWeb-demo-Network-us-east-1')).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(zonesOf('HaWeb-demo-Network-us-west-2')).toEqual(['us-west-2a', 'us-west-2b', 'us-west-2c']);
    expect(demo.manifest.missing ?? []).toEqual([]);
  });

  test('the primary storage deploys after the secondary storage it replicates to', () => {
    expect(dependenciesOf('HaWeb-demo-Storage-us-east-1')).toEqual([
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('the secondary data stack deploys after the primary data stack it joins', () => {
    expect(dependenciesOf('HaWeb-demo-Data-us-west-2')).toEqual([
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-west-2',
    ]);
  });

  test('operations stacks deploy after their own app stack, the primary last', () => {
    // Of the other region only the immutable IDs: its file system, the Global Datastore.
    expect(dependenciesOf('HaWeb-demo-Operations-us-west-2')).toEqual([
      'HaWeb-demo-App-us-west-2',
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-west-2',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
    // The plan names the secondary's functions, alarms and fleet, which must exist first (an ordering only).
    expect(dependenciesOf('HaWeb-demo-Operations-us-east-1')).toEqual([
      'HaWeb-demo-App-us-east-1',
      'HaWeb-demo-App-us-west-2',
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Operations-us-west-2',
      'HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('each app stack depends on the network, storage and data of its own region only', () => {
    expect(dependenciesOf('HaWeb-demo-App-us-east-1')).toEqual([
      'HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Network-us-east-1',
      'HaWeb-demo-Storage-us-east-1',
    ]);
    expect(dependenciesOf('HaWeb-demo-App-us-west-2')).toEqual([
      'HaWeb-demo-Data-us-west-2',
      'HaWeb-demo-Network-us-west-2',
      'HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('network stacks depend on nothing', () => {
    expect(dependenciesOf('HaWeb-demo-Network-us-east-1')).toEqual([]);
    expect(dependenciesOf('HaWeb-demo-Network-us-west-2')).toEqual([]);
  });

  test('the dependency graph has no cycle and the listed order is a valid deploy order', () => {
    for (const s of demo.stacks) {
      for (const dep of s.dependencies) expect(byName(dep).order).toBeLessThan(s.order);
    }
  });

  test('across regions, stacks read only the file systems and the Global Datastore (test/compliance checks the values)', () => {
    const crossings = demo.stacks.flatMap((s) =>
      stackOutputReads(s)
        .filter((r) => r.region !== s.region)
        .map((r) => `${s.stackName} <- ${r.stackName}`),
    );
    expect([...new Set(crossings)].sort()).toEqual([
      'HaWeb-demo-Data-us-west-2 <- HaWeb-demo-Data-us-east-1',
      // The switch functions of each region flip the replication between the two file systems.
      'HaWeb-demo-Operations-us-east-1 <- HaWeb-demo-Storage-us-west-2',
      'HaWeb-demo-Operations-us-west-2 <- HaWeb-demo-Data-us-east-1',
      'HaWeb-demo-Operations-us-west-2 <- HaWeb-demo-Storage-us-east-1',
      'HaWeb-demo-Storage-us-east-1 <- HaWeb-demo-Storage-us-west-2',
    ]);
  });

  test('within a region, stacks share values through exports only (CloudFormation keeps them consistent)', () => {
    for (const s of demo.stacks) {
      expect(stackOutputReads(s).filter((r) => r.region === s.region)).toEqual([]);
    }
  });

  test('stateful stacks and the networks under them have termination protection in prod', () => {
    const protectedStacks = synthesized('prod')
      .stacks.filter((s) => s.terminationProtection)
      .map((s) => s.stackName);
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
    expect(demo.stacks.some((s) => s.terminationProtection)).toBe(false);
  });

  test('a bad config creates no stack at all', () => {
    const fresh = new App();
    expect(() => new HaEnvironment(fresh, withConfig({ account: 'nope' }))).toThrow(
      'account "nope" must be a 12-digit AWS account ID.',
    );
    expect(fresh.node.children).toHaveLength(0);
  });
});
