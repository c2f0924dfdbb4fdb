import { Json, synthesized } from './synthesized';

// A safety net under the fine-grained tests: any change to a template shows
// up here and must be accepted with `npm run test:update`. The templates are
// those of `cdk synth` (test/synthesized.ts). Asset hashes are normalised by
// test/asset-hash-serializer.js.
// The CLI adds metadata that the app does not decide and no deploy acts on: version reporting (the
// CDKMetadata resource), each resource's construct path (`aws:cdk:path`) and asset paths for local tools
// (`aws:asset:*`). They are left out, so a snapshot changes when what deploys does.
const demo = synthesized('demo');

const CLI_METADATA = /^aws:(cdk:path|asset:)/;

function withoutCliMetadata(template: Json): Json {
  const resources = Object.entries(template.Resources as Record<string, Json>)
    .filter(([, r]) => r.Type !== 'AWS::CDK::Metadata')
    .map(([id, r]) => {
      if (!r.Metadata) return [id, r];
      const metadata = Object.fromEntries(Object.entries(r.Metadata as Json).filter(([k]) => !CLI_METADATA.test(k)));
      const rest = { ...r };
      delete rest.Metadata;
      return [id, Object.keys(metadata).length ? { ...rest, Metadata: metadata } : rest];
    });
  return { ...template, Resources: Object.fromEntries(resources) };
}

describe('templates of the demo environment', () => {
  test.each(demo.stacks.map((s) => [s.stackName, s] as const))('%s matches its snapshot', (_name, stack) => {
    expect(withoutCliMetadata(stack.json)).toMatchSnapshot();
  });
});
