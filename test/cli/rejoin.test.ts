import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../cli/main';
import { planRejoin } from '../../cli/rejoin';
import { demo } from '../../lib/config/environments';
import { RegionClients } from '../../cli/status';
import { catalogOnly, cliDeps, mockStacks, noCredentials, regionClients, stacksDescribed, stateless } from './fakes';

const lambda = mockClient(LambdaClient);
const STACK = 'HaWeb-demo-Operations-us-west-2';
const FUNCTION = 'HaWeb-demo-Operations-us-w-SwitchFunctionsRejoin-abc123';

/**
 * The clients of each region, whose CloudFormation has one operations stack (demo's west one unless told) with these
 * outputs: any other stack, or that one in another region, does not exist. `stacksRead` lists the stacks asked for.
 */
function cloudFormation(
  outputs: Record<string, string> = { RejoinFunctionName: FUNCTION },
  stack = STACK,
  region = 'us-west-2',
) {
  const made = new Map<string, RegionClients>();
  const mocks: ReturnType<typeof mockStacks>[] = [];
  const clients = (r: string): RegionClients => {
    let c = made.get(r);
    if (!c) {
      c = regionClients(r);
      mocks.push(mockStacks(c.cloudformation, (name) => (name === stack && r === region ? outputs : undefined)));
      made.set(r, c);
    }
    return c;
  };
  return { clients, stacksRead: () => stacksDescribed(...mocks) };
}

/** A function's answer payload (the SDK wraps the bytes in a blob adapter; the bytes are what matter). */
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];
const sentPayload = () =>
  JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array));

const SUCCESS = {
  function: 'rejoin',
  targetRegion: 'us-west-2',
  sourceRegion: 'us-east-1',
  dryRun: false,
  changed: true,
  actions: ['files: Called CreateReplicationConfiguration(...)'],
  checks: {
    database: { ok: true, detail: 'haweb-demo-east is a reader member (synchronization connected)' },
    cache: { ok: true, detail: 'status available' },
    files: { ok: true, detail: 'fs-west replicates to fs-east' },
  },
};

beforeEach(() => lambda.reset());

describe('region rejoin', () => {
  test('invokes the active region’s rejoin function (named by its stack output) and reports every component', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(SUCCESS) });
    const deps = cliDeps({ clients: cloudFormation().clients });
    const code = await main(['rejoin', '--to', 'us-west-2', '-c', 'env=demo', '--allow-overwrite'], deps);
    expect(code).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({
      FunctionName: FUNCTION,
      InvocationType: 'RequestResponse',
    });
    expect(sentPayload()).toEqual({
      targetRegion: 'us-west-2',
      components: ['database', 'cache', 'files'],
      allowOverwriteDestination: true,
      dryRun: false,
    });
    const text = deps.out.join('\n');
    expect(text).toContain('Rejoin us-east-1 as secondary of us-west-2 (database, cache, files)');
    expect(text).toContain('ok   database: haweb-demo-east is a reader member');
    expect(text).toContain('- files: Called CreateReplicationConfiguration(...)');
    expect(text).toContain('Changed: yes.');
  });

  test('a refusal from the function: exit 1 with its reason', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'RefusedError',
        errorMessage: 'REFUSED: us-east-1 cannot rejoin yet: database: haweb-demo-east ... (detached) ...',
      }),
    });
    const deps = cliDeps({ clients: cloudFormation().clients });
    const code = await main(['rejoin', '--to', 'us-west-2', '-c', 'env=demo', '--json'], deps);
    expect(code).toBe(1);
    expect(JSON.parse(deps.out.join('\n'))).toEqual({
      ok: false,
      error: 'REFUSED: us-east-1 cannot rejoin yet: database: haweb-demo-east ... (detached) ...',
    });
  });

  test('--only and --dry-run reach the function', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: encode({ ...SUCCESS, dryRun: true, changed: false }) });
    const deps = cliDeps({ clients: cloudFormation().clients });
    expect(await main(['rejoin', '--to', 'us-west-2', '--only', 'files,database', '--dry-run'], deps)).toBe(0);
    expect(sentPayload()).toEqual({
      targetRegion: 'us-west-2',
      components: ['database', 'files'],
      allowOverwriteDestination: false,
      dryRun: true,
    });
    expect(deps.out.join('\n')).toContain('Changed: nothing.');
  });

  test('a stack deployed before rejoin existed: exit 1 and says to deploy', async () => {
    const deps = cliDeps({ clients: cloudFormation({ PreflightFunctionName: 'x' }).clients });
    expect(await main(['rejoin', '--to', 'us-west-2'], deps)).toBe(1);
    expect(deps.err.join('\n')).toContain(`stack ${STACK} has no output RejoinFunctionName; deploy this version`);
    expect(lambda.calls()).toHaveLength(0);
  });

  test('an operations stack that does not exist (CloudFormation’s ValidationError): exit 1 and says to deploy', async () => {
    const cf = cloudFormation({ RejoinFunctionName: FUNCTION }, 'HaWeb-demo-Operations-us-east-1', 'us-east-1');
    const deps = cliDeps({ clients: cf.clients });
    expect(await main(['rejoin', '--to', 'us-west-2'], deps)).toBe(1);
    expect(cf.stacksRead()).toEqual([STACK]);
    expect(deps.err).toEqual([
      `error: stack ${STACK} does not exist in us-west-2; run \`cdk deploy\` for this environment first`,
    ]);
    expect(lambda.calls()).toHaveLength(0);
  });

  test('without credentials: exit 2 and nothing is called', async () => {
    const f = cloudFormation();
    const deps = cliDeps({ credentials: noCredentials, clients: f.clients });
    expect(await main(['rejoin', '--to', 'us-west-2'], deps)).toBe(2);
    expect(deps.err.join('\n')).toMatch(/credentials/i);
    expect(f.stacksRead()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  test('--dry-run without credentials prints the event it would send and calls nothing', async () => {
    const f = cloudFormation();
    const deps = cliDeps({ credentials: noCredentials, clients: f.clients });
    expect(await main(['rejoin', '--to', 'us-west-2', '--dry-run'], deps)).toBe(0);
    expect(deps.out.join('\n')).toContain(`Would read output RejoinFunctionName of ${STACK} (us-west-2)`);
    expect(deps.out.join('\n')).toContain('"dryRun": true');
    expect(f.stacksRead()).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  test.each([
    [['rejoin'], /rejoin needs --to <active region>: one of us-east-1, us-west-2/],
    [['rejoin', '--to', 'eu-west-1'], /--to eu-west-1 is not a region of demo/],
    [['rejoin', '--to', 'us-west-2', '--only', 'database,dns'], /--only takes a comma-separated list/],
    [['rejoin', '--to', 'us-west-2', '--timeout', '5'], /rejoin does not take --timeout/],
    [['status', '--allow-overwrite'], /status does not take --allow-overwrite/],
  ])('%j is a usage error (exit 64)', async (argv, message) => {
    const deps = cliDeps();
    expect(await main(argv, deps)).toBe(64);
    expect(deps.err.join('\n')).toMatch(message);
  });

  describe('an environment without session cache and shared files (staging with its catalog service alone)', () => {
    const [P, S] = [catalogOnly.primary.region, catalogOnly.secondary.region];
    const OPS = `HaWeb-staging-Operations-${S}`;
    const run = async (argv: string[], config = catalogOnly) => {
      const cf = cloudFormation({ RejoinFunctionName: 'haweb-staging-rejoin' }, OPS, S);
      const deps = cliDeps({ clients: cf.clients, environments: { staging: config } });
      const code = await main(['rejoin', '-c', 'env=staging', '--to', S, ...argv], deps);
      return { code, out: deps.out.join('\n'), err: deps.err.join('\n'), stacksRead: cf.stacksRead() };
    };

    test('asks the function for the database only, and says the cache and files are not in this environment', async () => {
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        Payload: encode({ ...SUCCESS, actions: [], checks: { database: SUCCESS.checks.database } }),
      });
      const r = await run([]);
      expect(r.code).toBe(0);
      expect(sentPayload()).toEqual({
        targetRegion: S,
        components: ['database'],
        allowOverwriteDestination: false,
        dryRun: false,
      });
      expect(r.out).toContain(`Rejoin ${P} as secondary of ${S} (database)\n  not in this environment: cache, files`);
    });

    test.each([
      [
        ['--only', 'cache'],
        '--only names cache (session cache): not in this environment (environment staging has database)',
      ],
      [
        ['--only', 'database,files'],
        '--only names files (shared files): not in this environment (environment staging has database)',
      ],
      [
        ['--allow-overwrite'],
        "--allow-overwrite concerns the shared files' replication, which is not in this environment",
      ],
    ])('%j names what the environment lacks: usage error, nothing invoked', async (argv, message) => {
      const r = await run(argv);
      expect(r.code).toBe(64);
      expect(r.err).toContain(message);
      expect(r.stacksRead).toHaveLength(0);
      expect(lambda.calls()).toHaveLength(0);
    });

    test('an environment with no data component has no rejoin function: usage error, nothing called', async () => {
      const r = await run([], stateless);
      expect(r.code).toBe(64);
      expect(r.err).toContain(
        'environment staging has no data component (no service uses a database, session cache or shared files), ' +
          'so it has no rejoin function and nothing to rejoin.',
      );
      expect(r.stacksRead).toHaveLength(0);
      expect(lambda.calls()).toHaveLength(0);
    });

    test('--dry-run without credentials shows the event with the database only', async () => {
      const deps = cliDeps({ credentials: noCredentials, environments: { staging: catalogOnly } });
      expect(await main(['rejoin', '-c', 'env=staging', '--to', S, '--dry-run'], deps)).toBe(0);
      const out = deps.out.join('\n');
      expect(out).toContain('"components": [\n    "database"\n  ]');
      expect(out).toContain('Not in this environment (nothing to rejoin): cache, files.');
    });
  });

  test('planRejoin names the rejoining region and the stack of the active one', () => {
    expect(planRejoin(demo, { to: 'us-east-1', allowOverwrite: false, dryRun: false })).toMatchObject({
      activeRegion: 'us-east-1',
      rejoiningRegion: 'us-west-2',
      stackName: 'HaWeb-demo-Operations-us-east-1',
    });
  });
});
