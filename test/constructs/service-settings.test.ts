import * as iam from 'aws-cdk-lib/aws-iam';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ServiceSettings, settingsCommands, settingsVersion } from '../../lib/constructs/service-settings';
import { bareStack, TEST_ACCOUNT, templateOf } from '../harness';
import { tempDir } from '../helpers';
import { systemdValue } from '../support/systemd';

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
    const version = construct.version.slice(0, 16);
    expect(construct.path).toBe(`${PATH}/${version}`);
    expect(parameters.map((p) => [p.Name, p.Value, p.Type, p.Tier]).sort()).toEqual([
      [`${PATH}/${version}/GREETING`, 'say "hi" \\ bye', 'String', 'Standard'],
      [`${PATH}/${version}/LOG_LEVEL`, 'debug', 'String', 'Standard'],
    ]);
  });

  test("lets the role read the service's versions with GetParametersByPath, and denies it every other parameter", () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    const versions = `arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/haweb/test/web/*`;
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      // Parameter Store authorizes GetParametersByPath against the path in the request: any version of the
      // service (a rollback's instances read the previous one).
      { Action: 'ssm:GetParametersByPath', Effect: 'Allow', Resource: versions },
      // AmazonSSMManagedInstanceCore (Session Manager) allows GetParameter(s) on every parameter.
      {
        Sid: 'NoOtherParameters',
        Effect: 'Deny',
        Action: ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        NotResource: versions,
      },
    ]);
  });

  test('has a version that changes with any name or value, whatever the order', () => {
    expect(construct.version).toMatch(/^[0-9a-f]{64}$/);
    expect(settingsVersion({ A: '1', B: '2' })).toBe(settingsVersion({ B: '2', A: '1' }));
    expect(settingsVersion({ A: '1', B: '2' })).not.toBe(settingsVersion({ A: '1', B: '3' }));
    expect(settingsVersion({ A: '1' })).not.toBe(settingsVersion({ B: '1' }));
  });

  test("without settings: no parameter and no read, but still no other parameter (another service's settings)", () => {
    const empty = settingsOf({});
    expect(empty.construct.isEmpty).toBe(true);
    empty.template.resourceCountIs('AWS::SSM::Parameter', 0);
    const policies = Object.values(empty.template.findResources('AWS::IAM::Policy'));
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      {
        Sid: 'NoOtherParameters',
        Effect: 'Deny',
        Action: ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        NotResource: `arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/haweb/test/web/*`,
      },
    ]);
  });

  test('refuses a path that is not /<app>/<env>/<service>', () => {
    expect(() => new ServiceSettings(bareStack(), 'S', { path: 'haweb/test/', settings: {} })).toThrow(
      'path "haweb/test/" must look like /haweb/<env>/<service>.',
    );
  });
});

describe("the boot script's settings step, run with a stand-in for the AWS CLI", () => {
  const TRICKY: Record<string, string> = {
    DOLLAR: '$HOME and ${HOME}',
    BACKTICK: '`id` and $(id)',
    SPECIFIER: '%h %n',
    HASH: '#not a comment',
    SPACES: '  lead and trail  ',
    BACKSLASH: 'a\\b\\n c:\\\\share',
    QUOTES: `it's "quoted"`,
  };

  /**
   * Runs the step and the environment file's here-document exactly as the boot script has them, with `aws`
   * answering `get-parameters-by-path` for the settings' path with `parameters` (name under the path, value), and
   * returns the file's lines.
   */
  function boot(
    settings: Record<string, string>,
    parameters: [string, string][] = Object.entries(settings),
  ): { status: number | null; lines: string[]; stdout: string } {
    const construct = new ServiceSettings(bareStack(), 'Settings', { path: PATH, settings });
    const answer = JSON.stringify({
      Parameters: parameters.map(([name, value]) => ({
        Name: `${construct.path}/${name}`,
        Value: value,
        Type: 'String',
      })),
    });
    const dir = tempDir('settings-boot-');
    fs.writeFileSync(path.join(dir, 'answer.json'), answer);
    const script = [
      'set -euo pipefail',
      `aws() { [ "$1 $2 $5 $6" = "ssm get-parameters-by-path --path ${construct.path}" ] && cat '${dir}/answer.json'; }`,
      'REGION=us-east-1',
      ...settingsCommands(construct),
      `cat > '${dir}/service.env' <<ENV`,
      '$SETTINGS_ENV',
      'PORT=8080',
      'ENV',
    ].join('\n');
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    const file = path.join(dir, 'service.env');
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return { status: result.status, lines, stdout: result.stdout + result.stderr };
  }

  test('every printable value reaches the service unchanged through the environment file', () => {
    const result = boot(TRICKY);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
    const settings = result.lines.filter((l) => !l.startsWith('PORT='));
    expect(Object.fromEntries(settings.map(systemdValue))).toEqual(TRICKY);
    expect(result.lines.at(-1)).toBe('PORT=8080');
  });

  test('a parameter added under the path by hand is not loaded (it could not set DATABASE_HOST)', () => {
    const result = boot({ LOG_LEVEL: 'debug' }, [
      ['LOG_LEVEL', 'debug'],
      ['DATABASE_HOST', 'evil.example'],
      ['NODE_OPTIONS', '--require=/tmp/x.js'],
    ]);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(['LOG_LEVEL="debug"', 'PORT=8080']);
  });

  test('a value changed by hand stops the boot: every instance of a launch template runs the same settings', () => {
    const result = boot({ LOG_LEVEL: 'debug' }, [['LOG_LEVEL', 'trace']]);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain(`settings under ${PATH}/`);
    expect(result.stdout).toContain("differ from this launch template's");
    expect(result.lines).toEqual([]);
  });

  test('a setting missing stops the boot', () => {
    const result = boot({ LOG_LEVEL: 'debug', A: '1' }, [['LOG_LEVEL', 'debug']]);
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
  });

  test('a failing read stops the boot (set -e): the service must not start without its configuration', () => {
    const construct = new ServiceSettings(bareStack(), 'Settings', { path: PATH, settings: { A: '1' } });
    const script = [
      'set -euo pipefail',
      'aws() { return 254; }',
      'REGION=x',
      ...settingsCommands(construct),
      'echo went-on',
    ];
    const result = spawnSync('bash', ['-c', script.join('\n')], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout).not.toContain('went-on');
  });
});
