/**
 * The whole app, synthesized once per environment and test run by the real CLI (`cdk synth -c env=<name>`,
 * exactly as a user runs it: no AWS credentials, cdk-nag, the Control Tower rules and aws-cdk-lib's built-in
 * CloudFormation Validate all on), and shared by every test file that is about the whole app: cross-stack
 * wiring, logical IDs, rule sets, snapshots, deploy safety.
 *
 * The first test file of a run that asks for an environment synthesizes it; the others (in any jest worker)
 * wait for it and read the same cloud assembly. The run directory comes from `test/global-setup.ts`
 * (`HA_WEB_TEST_RUN_DIR`) and is removed by `test/global-teardown.ts`; a test file run without the global
 * set-up synthesizes into its own temporary directory.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { EnvironmentConfig } from '../lib/config';
import { demo, prod, staging } from '../lib/config/environments';
import { RUN_DIR_VARIABLE } from './run-dir';

const ROOT = path.join(__dirname, '..');

/** How long a test file waits for another worker's synth of the same environment, in milliseconds. */
const WAIT_MS = 240_000;

/** The shipped environments, by name. */
export const ENVIRONMENTS = { demo, staging, prod } as const;
export type EnvironmentName = keyof typeof ENVIRONMENTS;

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

/** The outcome of one `cdk synth`. */
export interface SynthResult {
  outdir: string;
  status: number | null;
  stderr: string;
}

let ownRunDir: string | undefined;
function runDir(): string {
  const shared = process.env[RUN_DIR_VARIABLE];
  if (shared) return shared;
  if (!ownRunDir) {
    ownRunDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-web-synth-'));
    const dir = ownRunDir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return ownRunDir;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Synthesizes `name` into the run directory unless another process has or is doing so; returns the result. */
function ensureSynthesized(name: EnvironmentName): SynthResult {
  const base = path.join(runDir(), name);
  const lock = `${base}.lock`;
  const done = `${base}.json`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8'));
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another process holds the lock: wait for its result, or take over if it died.
      const owner = Number(readOr(path.join(lock, 'pid'), '0'));
      if (owner && !alive(owner)) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for the synth of ${name} (lock ${lock})`);
      else sleep(100);
      continue;
    }
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    const result = runSynth(name, `${base}.out`);
    fs.writeFileSync(`${done}.tmp`, JSON.stringify(result));
    fs.renameSync(`${done}.tmp`, done);
    return result;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * Runs `cdk synth` as a newcomer would, with no AWS credentials or config: every AWS_* variable removed and
 * HOME pointing at an empty directory. `outdir` undefined: the CLI's default (`cdk.out` in `cwd`). Returns the
 * exit status and standard error; never throws on a failed synth.
 */
export function cliSynth(
  outdir: string | undefined,
  args: string[] = [],
  cwd: string = ROOT,
  extraEnv: Record<string, string> = {},
): SynthResult {
  const out = outdir ?? path.join(cwd, 'cdk.out');
  fs.rmSync(out, { recursive: true, force: true });
  if (outdir) fs.mkdirSync(outdir, { recursive: true });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-web-home-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  try {
    const cdk = path.join(cwd, 'node_modules', '.bin', 'cdk');
    const r = spawnSync(cdk, ['synth', '--quiet', '--no-notices', ...(outdir ? ['-o', outdir] : []), ...args], {
      cwd,
      env: { ...env, ...extraEnv, HOME: home, CI: 'true' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    return { outdir: out, status: r.status, stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/**
 * demo is the default environment: it is synthesized with no `-c env` and every rule set on, exactly as the
 * README's first command does. staging and prod skip aws-cdk-lib's built-in CloudFormation Validate
 * (`CDK_VALIDATION=false`, its documented switch): no test reads that rule set's findings (under the CLI it
 * reports none), it costs about 5 s per environment on a cold cache, and CI runs it on every environment's
 * templates in `npm run lint:templates`. cdk-nag and the Control Tower rules run on all three.
 */
function runSynth(name: EnvironmentName, outdir: string): SynthResult {
  return name === 'demo'
    ? cliSynth(outdir)
    : cliSynth(outdir, ['-c', `env=${name}`], ROOT, { CDK_VALIDATION: 'false' });
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
        template: Template.fromJSON(json),
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
