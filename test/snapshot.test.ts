import { Template } from 'aws-cdk-lib/assertions';
import { buildEnvironment } from './helpers';

// A safety net under the fine-grained tests: any change to a template shows
// up here and must be accepted with `npm run test:update`. Asset hashes are
// normalised by test/asset-hash-serializer.js.
const { env } = buildEnvironment();

describe('templates of the demo environment', () => {
  test.each(env.stacks.map((s) => [s.stackName, s] as const))('%s matches its snapshot', (_name, stack) => {
    expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
  });
});
