import { COMMAND_USAGE, MAIN_USAGE, parseCommandLine } from '../../cli/args';
import { main } from '../../cli/main';
import { cliDeps } from './fakes';

describe('parseCommandLine', () => {
  test('reads the command, the environment and the flags', () => {
    expect(
      parseCommandLine(['failover', '--to', 'us-west-2', '-c', 'env=prod', '--timeout', '15', '--dry-run']),
    ).toEqual({
      command: 'failover',
      env: 'prod',
      help: false,
      json: false,
      to: 'us-west-2',
      timeoutMinutes: 15,
      dryRun: true,
      comment: undefined,
      only: undefined,
      allowOverwrite: false,
    });
  });

  test("reads rejoin's flags", () => {
    expect(
      parseCommandLine(['rejoin', '--to', 'us-east-1', '--only', 'cache', '--allow-overwrite', '--json']),
    ).toMatchObject({ command: 'rejoin', to: 'us-east-1', only: 'cache', allowOverwrite: true, json: true });
  });

  test('defaults: no env (the config default), 60 min timeout', () => {
    expect(parseCommandLine(['status'])).toMatchObject({ command: 'status', env: undefined, timeoutMinutes: 60 });
  });

  test.each([
    [[], 'missing command.'],
    [
      ['promote'],
      'unknown command "promote"; use one of: status, switchover, failover, failback, rejoin, check-deploy, record-ids.',
    ],
    [['status', 'extra'], 'unexpected argument "extra".'],
    [['status', '--force'], "Unknown option '--force'."],
    [['status', '--to', 'us-west-2'], 'status does not take --to.'],
    [['failback', '--to', 'us-west-2'], 'failback does not take --to.'],
    [['failback', '--only', 'files'], 'failback does not take --only.'],
    [['status', '-c', 'region=us-east-1'], '-c takes env=<name> (got "region=us-east-1").'],
    [['status', '-c', 'env='], '-c takes env=<name> (got "env=").'],
    [['switchover', '--to', 'us-west-2', '--timeout', '0'], '--timeout takes minutes between 1 and 1440 (got "0").'],
    [
      ['switchover', '--to', 'us-west-2', '--timeout', 'soon'],
      '--timeout takes minutes between 1 and 1440 (got "soon").',
    ],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});

describe('help and usage errors through main', () => {
  test('--help prints the CLI usage and exits 0', async () => {
    const deps = cliDeps();
    expect(await main(['--help'], deps)).toBe(0);
    expect(deps.out).toEqual([MAIN_USAGE]);
  });

  test.each(['status', 'switchover', 'failover', 'failback'] as const)('%s --help prints its usage', async (cmd) => {
    const deps = cliDeps();
    expect(await main([cmd, '--help'], deps)).toBe(0);
    expect(deps.out).toEqual([COMMAND_USAGE[cmd]]);
  });

  test('an unknown flag exits 64 with the command usage on stderr', async () => {
    const deps = cliDeps();
    expect(await main(['status', '--verbose'], deps)).toBe(64);
    expect(deps.err[0]).toBe(`error: Unknown option '--verbose'.\n\n${COMMAND_USAGE.status}`);
    expect(deps.out).toEqual([]);
  });

  test('an unknown command exits 64', async () => {
    const deps = cliDeps();
    expect(await main(['promote'], deps)).toBe(64);
    expect(deps.err[0]).toContain('unknown command "promote"');
  });

  test('an unknown environment exits 64 naming the known ones', async () => {
    const deps = cliDeps();
    expect(await main(['status', '-c', 'env=qa'], deps)).toBe(64);
    expect(deps.err[0]).toContain(
      'env "qa" is not a known environment; pass -c env=<name> with one of: demo, staging, prod',
    );
  });
});
