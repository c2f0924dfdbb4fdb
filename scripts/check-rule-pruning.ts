/**
 * End-to-end check of the Control Tower rule pruning (`applicableRuleFiles` in lib/compliance/control-tower.ts):
 * synthesizes every shipped environment (demo, staging, prod) with the real CLI, evaluates each template against
 * the full Control Tower rule set (`CfnGuardValidator`) and against `ControlTowerRules` (pruned per template),
 * and fails when their findings differ. Slow (three syntheses, the full set on every template); CI runs it,
 * `npm test` runs the static proof in test/compliance/rule-pruning.test.ts.
 *
 *   npx tsx scripts/check-rule-pruning.ts            # all environments
 *   npx tsx scripts/check-rule-pruning.ts prod       # one
 *
 * Exit code 0 when the findings are the same everywhere, 1 otherwise.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, type IPolicyValidationContext, type PolicyViolation } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ControlTowerRules } from '../lib/compliance/control-tower';
import { cliSynth } from '../test/synthesized';

const ENVIRONMENTS = ['demo', 'staging', 'prod'] as const;

/** One finding, as a comparable line: rule, then each violating resource and location. */
function findingsOf(violations: readonly PolicyViolation[]): string[] {
  return violations
    .flatMap((v) =>
      v.violatingResources.map(
        (r) =>
          `${v.ruleName} ${path.basename(r.templatePath ?? '?')} ${r.resourceLogicalId} ` +
          `[${[...r.locations].sort().join(', ')}]`,
      ),
    )
    .sort();
}

/** A stack template of the cloud assembly. */
interface StackTemplate {
  readonly templatePath: string;
  readonly artifactId: string;
  readonly account: string | undefined;
  readonly region: string | undefined;
}

/** The part of a policy validation plugin this script calls (`CfnGuardValidator` is a Beta1 plugin). */
interface Validator {
  validate(context: IPolicyValidationContext): { readonly violations: readonly PolicyViolation[] };
}

/**
 * Evaluates `plugin` on each template by itself, as `cdk synth` hands a plugin the templates of an assembly;
 * the findings and the time taken in milliseconds.
 */
function evaluate(plugin: Validator, templates: readonly StackTemplate[], app: App) {
  const start = performance.now();
  const violations = templates.flatMap((t) => {
    const stack = {
      stackConstructPath: t.artifactId,
      templatePath: t.templatePath,
      accountId: t.account,
      region: t.region,
    };
    return plugin.validate({ templatePaths: [t.templatePath], stackTemplates: [stack], appConstruct: app }).violations;
  });
  return { findings: findingsOf(violations), ms: performance.now() - start };
}

/** The stack templates of the cloud assembly in `outdir`. */
function stackTemplates(outdir: string): StackTemplate[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; environment?: string; properties?: { templateFile?: string } }>;
  };
  return Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([artifactId, a]) => {
      const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(a.environment ?? '') ?? [];
      return { templatePath: path.join(outdir, a.properties!.templateFile!), artifactId, account, region };
    });
}

function main(names: readonly string[]): number {
  const full = new CfnGuardValidator();
  const pruned = new ControlTowerRules();
  const app = new App();
  let failed = false;
  for (const name of names) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `check-rule-pruning-${name}-`));
    try {
      const synth = cliSynth(outdir, ['-c', `env=${name}`]);
      if (synth.status !== 0) {
        console.error(`${name}: cdk synth failed (exit ${synth.status}):\n${synth.stderr}`);
        failed = true;
        continue;
      }
      const templates = stackTemplates(outdir);
      const a = evaluate(full, templates, app);
      const b = evaluate(pruned, templates, app);
      const missing = a.findings.filter((f) => !b.findings.includes(f));
      const extra = b.findings.filter((f) => !a.findings.includes(f));
      const same = missing.length === 0 && extra.length === 0 && a.findings.length === b.findings.length;
      console.log(
        `${name}: ${templates.length} templates, ${a.findings.length} findings full / ${b.findings.length} pruned, ` +
          `${(a.ms / 1000).toFixed(1)} s full vs ${(b.ms / 1000).toFixed(1)} s pruned: ${same ? 'same' : 'DIFFERENT'}`,
      );
      if (!same) {
        failed = true;
        for (const f of missing) console.error(`  - only in the full set: ${f}`);
        for (const f of extra) console.error(`  + only in the pruned set: ${f}`);
        if (missing.length === 0 && extra.length === 0) console.error('  (the same findings, counted differently)');
      }
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
  return failed ? 1 : 0;
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => !(ENVIRONMENTS as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`unknown environment(s): ${unknown.join(', ')}; expected ${ENVIRONMENTS.join(', ')}`);
  process.exit(2);
}
process.exit(main(args.length > 0 ? args : ENVIRONMENTS));
