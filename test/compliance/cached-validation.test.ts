import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationStack } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';
import { CachedValidation } from '../../lib/compliance/cached-validation';
import { tempDir } from '../helpers';

/** A plugin that reports one finding per resource of type Bad, and counts the templates it evaluates. */
function fakePlugin() {
  const seen: string[] = [];
  const plugin: IPolicyValidationPlugin = {
    name: 'Fake',
    validate: (context) => {
      seen.push(...context.templatePaths);
      const violations = context.stackTemplates.flatMap((s) =>
        Object.entries<{ Type: string }>(JSON.parse(fs.readFileSync(s.templatePath, 'utf8')).Resources)
          .filter(([, r]) => r.Type === 'Bad')
          .map(([id]) => ({
            ruleName: 'no-bad',
            description: 'Bad resource',
            violatingResources: [{ resourceLogicalId: id, templatePath: s.templatePath, locations: [] }],
          })),
      );
      return { success: violations.length === 0, violations };
    },
  };
  return { plugin, seen };
}

describe('CachedValidation', () => {
  const dir = tempDir('cached-validation-');
  const write = (name: string, resources: Record<string, { Type: string }>): PolicyValidationStack => {
    const templatePath = path.join(dir, `${name}.template.json`);
    fs.writeFileSync(templatePath, JSON.stringify({ Resources: resources }));
    return { stackConstructPath: name, templatePath, accountId: '111111111111', region: 'us-east-1' };
  };
  const contextOf = (stacks: PolicyValidationStack[]) =>
    ({
      templatePaths: stacks.map((s) => s.templatePath),
      stackTemplates: stacks,
    }) as unknown as IPolicyValidationContext;

  test('evaluates each template once per content, and again when it changes', () => {
    const { plugin, seen } = fakePlugin();
    const cached = new CachedValidation(plugin, { identity: 'v1', folder: tempDir('cache-') });
    const a = write('A', { X: { Type: 'Bad' } });
    const b = write('B', { Y: { Type: 'Good' } });
    const first = cached.validate(contextOf([a, b]));
    const second = cached.validate(contextOf([a, b]));
    expect(seen).toEqual([a.templatePath, b.templatePath]);
    expect(second).toEqual(first);
    expect(first.success).toBe(false);
    expect(first.violations).toEqual([
      expect.objectContaining({
        ruleName: 'no-bad',
        violatingResources: [{ resourceLogicalId: 'X', templatePath: a.templatePath, locations: [] }],
      }),
    ]);
    write('B', { Y: { Type: 'Bad' } });
    const third = cached.validate(contextOf([a, b]));
    expect(cached.lastEvaluated).toEqual([b.templatePath]);
    expect(third.violations[0].violatingResources.map((r) => r.resourceLogicalId)).toEqual(['X', 'Y']);
  });

  test('a new identity (rules or plugin version) evaluates every template again', () => {
    const folder = tempDir('cache-');
    const a = write('C', { X: { Type: 'Good' } });
    new CachedValidation(fakePlugin().plugin, { identity: 'v1', folder }).validate(contextOf([a]));
    const { plugin, seen } = fakePlugin();
    const cached = new CachedValidation(plugin, { identity: 'v2', folder });
    expect(cached.validate(contextOf([a])).success).toBe(true);
    expect(seen).toEqual([a.templatePath]);
  });
});
