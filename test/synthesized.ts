/**
 * The whole app, synthesized once per environment and test run by the real CLI (`cdk synth -c env=<name>`,
 * as a user runs it: no AWS credentials, cdk-nag and the Control Tower rules on; aws-cdk-lib's built-in
 * CloudFormation Validate on for demo, off for staging and prod, see test/synthesis.ts), and shared by every
 * test file that is about the whole app: cross-stack wiring, logical IDs, rule sets, snapshots, deploy safety.
 *
 * How the syntheses are made and shared between jest workers: test/synthesis.ts. Here they are read.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { EnvironmentConfig } from '../lib/config';
import { demo, prod, staging } from '../lib/config/environments';
import { type EnvironmentName, ensureSynthesized, type SynthResult } from './synthesis';

export { cliSynth, synthesizedElsewhere } from './synthesis';
export type { EnvironmentName, SynthResult } from './synthesis';

/** The shipped environments, by name. */
export const ENVIRONMENTS: Record<EnvironmentName, EnvironmentConfig> = { demo, staging, prod };

/** A JSON value of a template. */
export type Json = Record<string, any>;

/** One stack of a synthesized environment. */
export interface SynthesizedStack {
  readonly stackName: string;
  /** The artifact ID in the cloud assembly (the construct ID path). */
  readonly artifactId: string;
  readonly account: string;
  readonly region: string;
  /** Position in deploy order (the manifest's order, which is `HaEnvironment.stacks`). */
  readonly order: number;
  /** Names of the stacks this one depends on, asset manifests left out, sorted. */
  readonly dependencies: string[];
  readonly terminationProtection: boolean;
  /** The template, parsed. */
  readonly json: Json;
  /** The template as an aws-cdk-lib assertions Template. */
  readonly template: Template;
}

/** A plugin's report in `validation-report.json`. */
export interface PluginReport {
  pluginName: string;
  conclusion: string;
  violations: { ruleName: string; violatingResources?: unknown[] }[];
  suppressedViolations: { ruleName: string; reason: string; violatingConstructs: { constructPath: string }[] }[];
}

/** An environment synthesized by the CLI. */
export interface SynthesizedEnvironment {
  readonly config: EnvironmentConfig;
  /** The cloud assembly directory. */
  readonly outdir: string;
  /** The CLI's exit status and output. */
  readonly status: number | null;
  readonly stderr: string;
  /** manifest.json, parsed. */
  readonly manifest: Json;
  /** Every stack, in deploy order. */
  readonly stacks: SynthesizedStack[];
  /** A stack by lifecycle (`Network`, `Storage`, `Data`, `App`, `Operations`) and role or region name. */
  stack(lifecycle: string, region: 'primary' | 'secondary' | string): SynthesizedStack;
  /** A rule set's report from validation-report.json, by plugin name (`AwsSolutions`, `cdk-validator-cfnguard`). */
  report(pluginName: string): PluginReport | undefined;
}

const loaded = new Map<EnvironmentName, SynthesizedEnvironment>();

/** The environment `name`, synthesized by `cdk synth -c env=<name>` (demo: plain `cdk synth`) once per test run. */
export function synthesized(name: EnvironmentName): SynthesizedEnvironment {
  let env = loaded.get(name);
  if (!env) {
    env = load(name, ensureSynthesized(name));
    loaded.set(name, env);
  }
  return env;
}

function load(name: EnvironmentName, result: SynthResult): SynthesizedEnvironment {
  const config = ENVIRONMENTS[name];
  if (result.status !== 0) {
    throw new Error(`cdk synth -c env=${name} failed (exit ${result.status}):\n${result.stderr}`);
  }
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(result.outdir, file), 'utf8'));
  const manifest = read('manifest.json');
  const artifacts = Object.entries(manifest.artifacts as Record<string, Json>);
  const stacks = artifacts
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([artifactId, a], order): SynthesizedStack => {
      const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(a.environment)!;
      const json = read(a.properties.templateFile);
      let template: Template | undefined;
      return {
        stackName: a.properties.stackName ?? artifactId,
        artifactId,
        account,
        region,
        order,
        dependencies: ((a.dependencies ?? []) as string[])
          .filter((d) => !d.endsWith('.assets'))
          .map((d) => manifest.artifacts[d]?.properties?.stackName ?? d)
          .sort(),
        terminationProtection: a.properties.terminationProtection === true,
        json,
        // Made when first read: building a Template checks the whole template (for cycles, among others).
        get template() {
          return (template ??= Template.fromJSON(json));
        },
      };
    });
  const report = read('validation-report.json');
  const regionOf = (role: string) =>
    role === 'primary' ? config.primary.region : role === 'secondary' ? config.secondary.region : role;
  return {
    config,
    outdir: result.outdir,
    status: result.status,
    stderr: result.stderr,
    manifest,
    stacks,
    stack(lifecycle, role) {
      const stackName = `HaWeb-${config.name}-${lifecycle}-${regionOf(role)}`;
      const found = stacks.find((s) => s.stackName === stackName);
      if (!found) throw new Error(`no stack ${stackName} in the synthesized ${name}`);
      return found;
    },
    report: (pluginName) => (report.pluginReports as PluginReport[]).find((p) => p.pluginName === pluginName),
  };
}

/** The logical ID of the resource at construct path `constructPath` below `stack` (its `aws:cdk:path` metadata). */
export function logicalIdAt(stack: SynthesizedStack, constructPath: string): string {
  const wanted = `${stack.stackName}/${constructPath}`;
  const found = Object.entries(stack.json.Resources as Record<string, Json>).filter(
    ([, r]) => r.Metadata?.['aws:cdk:path'] === wanted,
  );
  if (found.length !== 1) throw new Error(`expected one resource at ${wanted}, found ${found.length}`);
  return found[0][0];
}

/** The value `producer` exports under `name`; throws if it exports nothing by that name. */
export function exportedValue(producer: SynthesizedStack, name: string): unknown {
  const outputs = Object.values((producer.json.Outputs ?? {}) as Record<string, Json>);
  const found = outputs.filter((o) => o.Export?.Name === name);
  if (found.length !== 1) throw new Error(`${producer.stackName} exports no ${name}`);
  return found[0].Value;
}

/**
 * The value behind `ref`, a reference to an output of `producer`, after checking that it is the app's kind of
 * reference: an `Fn::ImportValue` of the producer's export in the same region, a weak `Fn::GetStackOutput`
 * naming the producer's stack and region across regions. With `consumer`, the kind must match the two stacks'
 * regions. Throws, naming what it found, on any other reference.
 */
export function importedValue(ref: unknown, producer: SynthesizedStack, consumer?: SynthesizedStack): unknown {
  const r = (ref ?? {}) as { 'Fn::ImportValue'?: unknown; 'Fn::GetStackOutput'?: Record<string, unknown> };
  const sameRegion = consumer ? consumer.region === producer.region : 'Fn::ImportValue' in r;
  const name = r['Fn::ImportValue'];
  if (sameRegion) {
    if (typeof name !== 'string' || !name.startsWith(`${producer.stackName}:`) || Object.keys(r).length !== 1) {
      throw new Error(
        `expected an Fn::ImportValue of an export of ${producer.stackName}, found ${JSON.stringify(ref)}`,
      );
    }
    return exportedValue(producer, name);
  }
  const read = r['Fn::GetStackOutput'];
  const outputs = (producer.json.Outputs ?? {}) as Record<string, Json>;
  if (
    Object.keys(r).length !== 1 ||
    !read ||
    read.StackName !== producer.stackName ||
    read.Region !== producer.region ||
    typeof read.OutputName !== 'string' ||
    !(read.OutputName in outputs)
  ) {
    throw new Error(
      `expected an Fn::GetStackOutput of an output of ${producer.stackName} (${producer.region}), found ${JSON.stringify(ref)}`,
    );
  }
  return outputs[read.OutputName].Value;
}
