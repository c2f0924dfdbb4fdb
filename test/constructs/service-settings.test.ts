import * as iam from 'aws-cdk-lib/aws-iam';
import { spawnSync } from 'child_process';
import { ServiceSettings, settingsCommands, settingsVersion } from '../../lib/constructs/service-settings';
import { bareStack, TEST_ACCOUNT, templateOf } from '../harness';

const PATH = '/haweb/test/web';

function settingsOf(settings: Record<string, string>) {
  const stack = bareStack();
  const construct = new ServiceSettings(stack, 'Settings', { path: PATH, settings });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  construct.grantRead(role);
  return { stack, construct, template: templateOf(stack) };
}

describe('ServiceSettings', () => {
  const { construct, template } = settingsOf({ LOG_LEVEL: 'debug', GREETING: 'say "hi" \\ bye' });

  test('writes one standard String parameter per setting under the path', () => {
    const parameters = Object.values(template.findResources('AWS::SSM::Parameter')).map((r) => r.Properties);
    expect(parameters.map((p) => [p.Name, p.Value, p.Type, p.Tier]).sort()).toEqual([
      [`${PATH}/GREETING`, 'say "hi" \\ bye', 'String', 'Standard'],
      [`${PATH}/LOG_LEVEL`, 'debug', 'String', 'Standard'],
    ]);
  });

  test('lets the role read the path with GetParametersByPath, and nothing else', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'ssm:GetParametersByPath',
        Effect: 'Allow',
        // The path itself: Parameter Store authorizes GetParametersByPath against the path in the request.
        Resource: `arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/haweb/test/web`,
      },
    ]);
  });

  test('has a version that changes with any name or value, whatever the order', () => {
    expect(construct.version).toMatch(/^[0-9a-f]{64}$/);
    expect(settingsVersion({ A: '1', B: '2' })).toBe(settingsVersion({ B: '2', A: '1' }));
    expect(settingsVersion({ A: '1', B: '2' })).not.toBe(settingsVersion({ A: '1', B: '3' }));
    expect(settingsVersion({ A: '1' })).not.toBe(settingsVersion({ B: '1' }));
  });

  test('without settings: no parameter and no grant', () => {
    const empty = settingsOf({});
    expect(empty.construct.isEmpty).toBe(true);
    empty.template.resourceCountIs('AWS::SSM::Parameter', 0);
    empty.template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  test('refuses a path that is not /<app>/<env>/<service>', () => {
    expect(() => new ServiceSettings(bareStack(), 'S', { path: 'haweb/test/', settings: {} })).toThrow(
      'path "haweb/test/" must look like /haweb/<env>/<service>.',
    );
  });
});

describe("the boot script's settings step, run with a stand-in for the AWS CLI", () => {
  /** Runs the step under bash with `aws` answering `parameters` as `get-parameters-by-path --query ... --output json` would. */
  function run(parameters: [string, string][]): { status: number | null; env: string; stderr: string } {
    const script = [
      'set -euo pipefail',
      `aws() { [ "$1 $2" = "ssm get-parameters-by-path" ] && printf '%s' '${JSON.stringify(parameters).replace(/'/g, "'\\''")}'; }`,
      'REGION=us-east-1',
      ...settingsCommands(PATH),
      'printf "%s" "$SETTINGS_ENV"',
    ].join('\n');
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    return { status: result.status, env: result.stdout, stderr: result.stderr };
  }

  test('writes NAME="value" lines, the value quoted as systemd reads EnvironmentFile values in double quotes', () => {
    const result = run([
      [`${PATH}/LOG_LEVEL`, 'debug'],
      [`${PATH}/GREETING`, 'say "hi" \\ bye'],
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.env.split('\n')).toEqual(['LOG_LEVEL="debug"', 'GREETING="say \\"hi\\" \\\\ bye"']);
  });

  test('no parameters: no lines', () => {
    const result = run([]);
    expect(result.status).toBe(0);
    expect(result.env).toBe('');
  });

  test('a failing read stops the boot (set -e): the service must not start without its configuration', () => {
    const script = [
      'set -euo pipefail',
      'aws() { return 254; }',
      'REGION=x',
      ...settingsCommands(PATH),
      'echo went-on',
    ];
    const result = spawnSync('bash', ['-c', script.join('\n')], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout).not.toContain('went-on');
  });
});
