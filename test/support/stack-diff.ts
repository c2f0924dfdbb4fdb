/**
 * Compares two syntheses of an environment, stack by stack: which resources a config change adds, removes or
 * modifies (and which of their top-level properties and attributes), which outputs and other template sections
 * change, and whether any change would replace or remove a stateful resource.
 *
 * Each synthesis is one `app.synth()` of `new HaEnvironment(app, config)` on test/helpers.ts's `newApp()` (no
 * compliance checks); the templates are read from the cloud assembly. Nothing is ignored: two syntheses of the
 * same config are identical (asset hashes are content hashes, the same on every synthesis of the same code),
 * so every difference comes from the change under test.
 */
import { EnvironmentConfig } from '../../lib/config';
import { HaEnvironment } from '../../lib/ha-environment';
import { RecordedFacts } from '../../lib/recorded';
import { newApp } from '../helpers';
import {
  CfnTemplate,
  diffTemplates,
  isEmptyDiff,
  StackDiff,
  stackStatefulRisks,
  StatefulRisk,
} from '../../lib/template-diff';

export * from '../../lib/template-diff';

/** The templates of one synthesis, by stack name. */
export type Synthesis = Readonly<Record<string, CfnTemplate>>;

/**
 * Synthesizes `config` once and returns every stack's template. `customize` runs on the environment's stacks
 * before the synthesis (for a change that no config key makes, such as a construct's renamed ID or an escape
 * hatch); `recorded` are the facts `lib/recorded.ts` describes, as bin/app.ts passes them.
 */
export function synthesize(
  config: EnvironmentConfig,
  customize?: (environment: HaEnvironment) => void,
  recorded?: RecordedFacts,
): Synthesis {
  const app = newApp();
  const environment = new HaEnvironment(app, config, recorded);
  customize?.(environment);
  const assembly = app.synth();
  return Object.fromEntries(
    environment.stacks.map((stack) => [stack.stackName, assembly.getStackByName(stack.stackName).template]),
  );
}

/** How a synthesis changes: every stack that differs, and stacks added or removed. */
export interface SynthesisDiff {
  readonly stacksAdded: string[];
  readonly stacksRemoved: string[];
  /** One entry per stack that differs in anything (an added or removed stack lists all its resources). */
  readonly stacks: StackDiff[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How `after` differs from `before`, stack by stack (stacks that do not differ are left out). */
export function diffSyntheses(before: Synthesis, after: Synthesis): SynthesisDiff {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(byName);
  const stacks = names
    .map((name) => diffTemplates(name, before[name] ?? {}, after[name] ?? {}))
    .filter((diff) => !isEmptyDiff(diff));
  return {
    stacksAdded: names.filter((n) => !(n in before)),
    stacksRemoved: names.filter((n) => !(n in after)),
    stacks,
  };
}

/** Every change of `diff` that could replace, remove or unprotect a stateful resource. */
export function statefulRisks(diff: SynthesisDiff): StatefulRisk[] {
  return diff.stacks.flatMap(stackStatefulRisks);
}

/**
 * A compact, order-stable summary of a diff for assertions: per stack, each added, removed and modified resource
 * as `<type> <logicalId>` (modified ones with their changed keys), plus outputs and sections that differ.
 */
export function summarize(diff: SynthesisDiff): Record<string, Record<string, string[]>> {
  return Object.fromEntries(
    diff.stacks.map((s) => {
      const entry: Record<string, string[]> = {};
      const put = (key: string, values: string[]) => {
        if (values.length > 0) entry[key] = values;
      };
      put(
        'added',
        s.added.map((r) => `${r.type} ${r.logicalId}`),
      );
      put(
        'removed',
        s.removed.map((r) => `${r.type} ${r.logicalId}`),
      );
      put(
        'modified',
        s.modified.map(
          (r) => `${r.type} ${r.logicalId}: ${[...r.properties, ...r.attributes.map((a) => `@${a}`)].join(',')}`,
        ),
      );
      put(
        'metadataOnly',
        s.metadataOnly.map((r) => `${r.type} ${r.logicalId}`),
      );
      put('outputsAdded', s.outputs.added);
      put('outputsRemoved', s.outputs.removed);
      put('outputsModified', s.outputs.modified);
      put('sections', s.sections);
      return [s.stack, entry];
    }),
  );
}
