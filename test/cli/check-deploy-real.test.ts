/**
 * check-deploy on staging's real templates (the run's shared `cdk synth`, test/synthesized.ts), not hand-made
 * ones: what an operator sees right after a deploy, and right after `record-ids` turned the reads of the other
 * region into literals.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from '../../cli/check-deploy';
import { main } from '../../cli/main';
import { staging } from '../../lib/config/environments';
import { tempDir } from '../helpers';
import { synthesized } from '../synthesized';
import { cliDeps } from './fakes';
import { arcWith, liveClients, outputsOf, P, S } from './live-fakes';

const env = synthesized('staging');
const deployed: Record<string, Template> = Object.fromEntries(env.stacks.map((s) => [s.stackName, s.json]));

/** A copy of the assembly whose templates `edit` changed (the manifest and the other files stay). */
function assemblyWith(edit: (stackName: string, template: Template) => Template): string {
  const dir = tempDir('check-deploy-real-');
  fs.cpSync(env.outdir, dir, { recursive: true });
  for (const stack of env.stacks) {
    const file = path.join(dir, `${stack.stackName}.template.json`);
    fs.writeFileSync(file, JSON.stringify(edit(stack.stackName, JSON.parse(fs.readFileSync(file, 'utf8')))));
  }
  return dir;
}

/** `template` with every Fn::GetStackOutput replaced by `value(output)`: what record-ids makes of the reads. */
function recorded(template: Template, value: (stackName: string, output: string) => string): Template {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const read = (node as Record<string, { StackName: string; OutputName: string }>)['Fn::GetStackOutput'];
    if (read) return value(read.StackName, read.OutputName);
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return walk(template) as Template;
}

async function check(assemblyDir: string) {
  const deps = cliDeps({
    clients: liveClients({ deployed, writer: P, cachePrimary: P, filesSource: P }),
    arc: arcWith(),
    environments: { staging },
    context: {},
  });
  const code = await main(['check-deploy', '-c', 'env=staging', '--assembly', assemblyDir], deps);
  return { code, out: deps.out.join('\n'), err: deps.err.join('\n') };
}

describe('check-deploy on the real templates of staging', () => {
  test('the templates as deployed: no stack would change, safe', async () => {
    expect(JSON.stringify(deployed)).toContain('Fn::GetStackOutput');
    const r = await check(env.outdir);
    expect(r.err).toBe('');
    expect(r.out).toContain('No stack would change.');
    expect(r.code).toBe(0);
  });

  test('after record-ids, the literals equal to the live outputs are no change (no replacement of the cache member)', async () => {
    const r = await check(
      assemblyWith((_name, t) => recorded(t, (producer, output) => outputsOf(producer)[output] ?? 'unknown')),
    );
    expect(r.out).toContain('No stack would change.');
    expect(r.code).toBe(0);
  });

  test('a recorded ID that differs from the live one is a change, and the cache member would be replaced', async () => {
    const r = await check(
      assemblyWith((_name, t) =>
        recorded(t, (producer, output) =>
          output === 'GlobalDatastoreId' ? 'ldgnf-haweb-staging-sessions' : outputsOf(producer)[output]!,
        ),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      new RegExp(
        `HaWeb-staging-Data-${S} replaces SessionCache\\w+ \\(AWS::ElastiCache::ReplicationGroup\\) \\(GlobalReplicationGroupId changed\\)`,
      ),
    );
  });
});
