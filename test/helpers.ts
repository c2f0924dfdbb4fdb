import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EnvironmentConfig } from '../lib/config';
import { demo } from '../lib/config/environments';
import { HaEnvironment } from '../lib/ha-environment';
import { NetworkStack } from '../lib/stacks/network-stack';

/** The feature flags of cdk.json, so tests synthesize exactly as `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'),
).context;

const tempDirs: string[] = [];
process.on('exit', () => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A temporary directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * A new App with the project's feature flags, writing to a temporary directory. aws-cdk-lib's built-in
 * CloudFormation Validate does not run (it costs seconds per synth and these tests do not check its findings);
 * `cdk synth` and the rule-set tests (test/compliance) run it.
 */
export function newApp(): App {
  return new App({ context: CDK_JSON_CONTEXT, outdir: tempDir('cdk-test-'), builtinCloudFormationValidation: false });
}

/** A whole environment (demo unless given), both regions. */
export function buildEnvironment(config: EnvironmentConfig = demo): { app: App; env: HaEnvironment } {
  const app = newApp();
  const env = new HaEnvironment(app, config);
  return { app, env };
}

/** A copy of a config with some keys replaced (shallow per top-level key). */
export function withConfig(overrides: Partial<EnvironmentConfig>, base: EnvironmentConfig = demo): EnvironmentConfig {
  return { ...base, ...overrides };
}

/** Templates of an environment's stacks, keyed by role. */
export interface Templates {
  readonly networkPrimary: Template;
  readonly networkSecondary: Template;
  readonly storagePrimary: Template;
  readonly storageSecondary: Template;
  readonly dataPrimary: Template;
  readonly dataSecondary: Template;
  readonly appPrimary: Template;
  readonly appSecondary: Template;
}

/** Synthesizes an environment and returns the template of every stack. */
export function templatesOf(env: HaEnvironment): Templates {
  const t = (s: Stack) => Template.fromStack(s);
  return {
    networkPrimary: t(env.primary.network),
    networkSecondary: t(env.secondary.network),
    storagePrimary: t(env.primary.storage),
    storageSecondary: t(env.secondary.storage),
    dataPrimary: t(env.primary.data),
    dataSecondary: t(env.secondary.data),
    appPrimary: t(env.primary.app),
    appSecondary: t(env.secondary.app),
  };
}

/** The one resource of a type in a template, failing if there is not exactly one. */
export function onlyResource(template: Template, type: string): { id: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return { id: found[0][0], resource: found[0][1] };
}

/**
 * The value behind a reference to another stack's output, after checking that it reads an output of `producer`
 * the way the app's references work: a `Fn::ImportValue` of the producer's export in the same region, a weak
 * `Fn::GetStackOutput` (naming the producer's region) across regions.
 */
export function importedValue(ref: unknown, producer: Stack, producerTemplate: Template): unknown {
  const outputs = producerTemplate.toJSON().Outputs as Record<string, { Value: unknown; Export?: { Name: string } }>;
  if (ref !== null && typeof ref === 'object' && 'Fn::ImportValue' in ref) {
    const name = (ref as { 'Fn::ImportValue': string })['Fn::ImportValue'];
    expect(name.startsWith(`${producer.stackName}:`)).toBe(true);
    const output = Object.values(outputs).find((o) => o.Export?.Name === name);
    expect(output).toBeDefined();
    return output!.Value;
  }
  expect(ref).toEqual({
    'Fn::GetStackOutput': { StackName: producer.stackName, Region: producer.region, OutputName: expect.any(String) },
  });
  const { OutputName } = (ref as { 'Fn::GetStackOutput': { OutputName: string } })['Fn::GetStackOutput'];
  return outputs[OutputName].Value;
}

/** The logical ID of a construct's primary CloudFormation resource. */
export function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Logical IDs of a network stack's subnets of one tier (`Public`, `Private`, `Isolated`), in AZ order. */
export function subnetIdsOf(network: Template, tier: string): string[] {
  return Object.keys(
    network.findResources('AWS::EC2::Subnet', {
      Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: tier }]) },
    }),
  );
}

/**
 * Checks that the data store security group `securityGroupId` (a logical ID in `template`) has no inline
 * ingress, exactly one ingress rule (TCP `port`, from the network stack's web instances security group,
 * no CIDR), and is not exported, so no other stack can add ingress to it.
 */
export function expectOnlyWebIngress(
  template: Template,
  securityGroupId: string,
  port: number,
  network: NetworkStack,
  networkTemplate: Template,
): void {
  const sg = template.toJSON().Resources[securityGroupId];
  expect(sg.Type).toBe('AWS::EC2::SecurityGroup');
  expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  const rules = Object.values(
    template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [securityGroupId, 'GroupId'] } },
    }),
  ).map((r) => r.Properties as Record<string, unknown>);
  expect(rules).toHaveLength(1);
  expect(rules[0]).toEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: port, ToPort: port }));
  expect(rules[0]).not.toHaveProperty('CidrIp');
  expect(importedValue(rules[0]!.SourceSecurityGroupId, network, networkTemplate)).toEqual(
    network.resolve(network.webSecurityGroup.securityGroupId),
  );
  for (const output of Object.values(template.toJSON().Outputs ?? {})) {
    expect(JSON.stringify(output)).not.toContain(securityGroupId);
  }
}
