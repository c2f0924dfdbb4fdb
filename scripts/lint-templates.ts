/**
 * Runs cfn-lint over every synthesized template of every shipped environment (demo, staging, prod) and fails on
 * any finding, except the few listed in SKIPS, each with its reason. A skip that matches nothing fails too, so
 * the list never outlives the findings it excuses.
 *
 *   npm run lint:templates                # all environments
 *   npm run lint:templates -- prod        # one
 *
 * Needs cfn-lint (Python) on the PATH: `pip install cfn-lint`. Exit code 0 when clean, 1 otherwise.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENVIRONMENTS } from '../lib/config';
import { cliSynth } from '../test/synthesis';

/** One cfn-lint finding, as `--format json` prints it. */
export interface LintFinding {
  readonly Filename: string;
  readonly Level: string;
  readonly Message: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
  readonly Rule: { readonly Id: string };
}

/** A template as JSON: only the resource types are read. */
export type TemplateJson = { readonly Resources?: Record<string, { readonly Type?: string }> };

/** A finding cfn-lint reports wrongly for these templates, and why. */
export interface LintSkip {
  /** The cfn-lint rule. */
  readonly rule: string;
  /** What the skipped findings are, in a few words. */
  readonly what: string;
  /** Whether a finding of the rule is this one; the resource type is that of `Location.Path[1]`. */
  readonly matches: (finding: LintFinding, resourceType: string | undefined) => boolean;
  /** Why cfn-lint is wrong here, with the source that says so. */
  readonly reason: string;
}

/** cfn-lint 1.51.0's resource specification predates these; every other finding fails. */
export const SKIPS: readonly LintSkip[] = [
  {
    rule: 'E3016',
    what: 'the AutoScalingInstanceRefresh update policy of the web fleets',
    matches: (f, type) =>
      type === 'AWS::AutoScaling::AutoScalingGroup' && /'AutoScalingInstanceRefresh' was unexpected/.test(f.Message),
    reason:
      "cfn-lint's specification predates the AutoScalingInstanceRefresh update policy (CloudFormation user guide, " +
      'UpdatePolicy attribute: "AutoScalingInstanceRefresh policy"), which the fleets use for zero-downtime deploys.',
  },
  {
    rule: 'E3002',
    what: 'Tags on ALB listeners and listener rules, the Global Datastore and CloudWatch dashboards',
    matches: (f, type) =>
      [
        'AWS::ElasticLoadBalancingV2::Listener',
        'AWS::ElasticLoadBalancingV2::ListenerRule',
        'AWS::ElastiCache::GlobalReplicationGroup',
        'AWS::CloudWatch::Dashboard',
      ].includes(type ?? '') && /'Tags' was unexpected/.test(f.Message),
    reason:
      "cfn-lint's specification predates the Tags property of these four types, which the CloudFormation template " +
      'reference now documents (aws-cdk-lib 2.276 generates them as taggable from the CloudFormation resource schemas, ' +
      'and the ELB API CreateRule takes Tags); the tags are the Project and Environment tags of every stack.',
  },
  {
    rule: 'W3005',
    what: "the DependsOn of aws-cdk-lib's Lambda functions on their own execution role",
    matches: (f, type) =>
      type === 'AWS::Lambda::Function' && /Role[0-9A-F]{8}' dependency already enforced/.test(f.Message),
    reason:
      "aws-cdk-lib's Function and custom-resource providers depend on their role and its policy together, so the " +
      'policy exists before the first invocation; the role half is also implied by the GetAtt, which cfn-lint ' +
      'reports as redundant. Harmless, and in code this app does not own.',
  },
];

function resourceTypeOf(finding: LintFinding, templates: Map<string, TemplateJson>): string | undefined {
  const [section, id] = finding.Location.Path;
  if (section !== 'Resources' || typeof id !== 'string') return undefined;
  return templates.get(finding.Filename)?.Resources?.[id]?.Type;
}

/** Splits findings into the ones a skip excuses (counted per skip) and the rest. */
export function applySkips(
  findings: readonly LintFinding[],
  templates: Map<string, TemplateJson>,
  skips: readonly LintSkip[] = SKIPS,
): { failures: LintFinding[]; skipped: Map<LintSkip, number> } {
  const skipped = new Map<LintSkip, number>(skips.map((s) => [s, 0]));
  const failures: LintFinding[] = [];
  for (const f of findings) {
    const type = resourceTypeOf(f, templates);
    const skip = skips.find((s) => s.rule === f.Rule.Id && s.matches(f, type));
    if (skip) skipped.set(skip, skipped.get(skip)! + 1);
    else failures.push(f);
  }
  return { failures, skipped };
}

/**
 * The templates `cdk synth` writes for an environment (the CLI's output, exactly what `cdk deploy` deploys),
 * synthesized as the tests do (`cliSynth`: no AWS credentials needed, every rule set on).
 */
function synthesize(envName: string, outdir: string): string[] {
  const run = cliSynth(outdir, ['-c', `env=${envName}`]);
  if (run.status !== 0) throw new Error(`cdk synth -c env=${envName} failed:\n${run.stderr}`);
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .sort()
    .map((f) => path.join(outdir, f));
}

function main(): number {
  const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    console.error('cfn-lint is not installed or does not run. Install it with: pip install cfn-lint');
    return 1;
  }
  console.log(`${version.stdout.trim()}`);
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(ENVIRONMENTS);
  const templates = new Map<string, TemplateJson>();
  const findings: LintFinding[] = [];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    for (const name of names) {
      if (!ENVIRONMENTS[name]) {
        console.error(`unknown environment "${name}"; use one of ${Object.keys(ENVIRONMENTS).join(', ')}`);
        return 1;
      }
      const files = synthesize(name, path.join(root, name));
      for (const f of files) templates.set(f, JSON.parse(fs.readFileSync(f, 'utf8')));
      const run = spawnSync('cfn-lint', ['--format', 'json', ...files], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (run.error) throw run.error;
      // cfn-lint exits with a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
      if (run.status === 1 || run.stdout.trim() === '') {
        console.error(`cfn-lint failed on ${name}: ${run.stderr}`);
        return 1;
      }
      const found = JSON.parse(run.stdout) as LintFinding[];
      findings.push(...found);
      console.log(`${name}: ${files.length} templates, ${found.length} findings`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const { failures, skipped } = applySkips(findings, templates);
  for (const [skip, count] of skipped) {
    console.log(`skipped ${count} x ${skip.rule} (${skip.what}): ${skip.reason}`);
  }
  const unused = [...skipped].filter(([, count]) => count === 0).map(([s]) => `${s.rule} (${s.what})`);
  if (names.length === Object.keys(ENVIRONMENTS).length && unused.length > 0) {
    console.error(
      `These skips match no finding any more; remove them from scripts/lint-templates.ts: ${unused.join(', ')}`,
    );
    return 1;
  }
  for (const f of failures) {
    console.error(`${f.Rule.Id} ${f.Level}: ${f.Message}\n  ${path.basename(f.Filename)} ${f.Location.Path.join('/')}`);
  }
  console.log(
    `cfn-lint: ${findings.length} findings, ${findings.length - failures.length} skipped, ${failures.length} failing`,
  );
  return failures.length === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main();
