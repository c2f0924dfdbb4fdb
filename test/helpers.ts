import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, EnvironmentConfig, validateEnvironmentConfig } from '../lib/config';
import { demo } from '../lib/config/environments';

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
 * `cdk synth` and the rule-set tests (test/compliance) run it. Nor are construct stack traces recorded (the
 * `aws:cdk:creationStack` and `aws:cdk:trace` metadata of the manifest, never of a template): under jest each
 * trace goes through its source-map support, which made these traces about 30% of a construct test's time.
 */
export function newApp(): App {
  return new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:disable-creation-stack-traces': true },
    stackTraces: false,
    outdir: tempDir('cdk-test-'),
    builtinCloudFormationValidation: false,
  });
}

/** A copy of a config with some keys replaced (shallow per top-level key). */
export function withConfig(overrides: Partial<EnvironmentConfig>, base: EnvironmentConfig = demo): EnvironmentConfig {
  return { ...base, ...overrides };
}

/** The one resource of a type in a template, failing if there is not exactly one. */
export function onlyResource(template: Template, type: string): { id: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return { id: found[0][0], resource: found[0][1] };
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

/** The problems `validateEnvironmentConfig` reports for a config, or [] when it is valid. */
export function configProblems(config: EnvironmentConfig): readonly string[] {
  try {
    validateEnvironmentConfig(config);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
