import { main } from '../../cli/main';
import { planSwitch } from '../../cli/switch';
import { EnvironmentConfig } from '../../lib/config';
import { demo, staging } from '../../lib/config/environments';
import { FakeAnswer, SeenRequest, catalogOnly, cliDeps, fakeClock, fakeFetch, noCredentials } from './fakes';

const PLAN_ARN = 'arn:aws:arc-region-switch::111111111111:plan/haweb-demo:abc123';
const MUTATING = ['StartPlanExecution', 'CancelPlanExecution', 'UpdatePlanExecution', 'ApprovePlanExecutionStep'];

/** A Region switch data plane whose execution goes through the given GetPlanExecution answers, then stays on the last. */
function arcPlane(
  executions: object[],
  extra: Partial<Record<string, (req: SeenRequest) => FakeAnswer>> = {},
  planName = 'haweb-demo',
) {
  let polls = 0;
  return fakeFetch((req) => {
    const custom = extra[req.operation];
    if (custom) return custom(req);
    switch (req.operation) {
      case 'ListPlansInRegion':
        return JSON.parse(req.body).nextToken
          ? { body: { plans: [{ arn: PLAN_ARN, name: planName, owner: '111111111111', regions: [] }] } }
          : { body: { plans: [{ arn: 'arn:other', name: 'other-plan' }], nextToken: 'page-2' } };
      case 'StartPlanExecution':
        return { body: { executionId: 'exec-1', plan: PLAN_ARN } };
      case 'GetPlanExecution':
        return { body: executions[Math.min(polls++, executions.length - 1)] };
      case 'ListPlanExecutionEvents':
        return { body: { items: [] } };
      default:
        return { status: 400, body: { __type: 'UnknownOperationException', message: req.operation } };
    }
  });
}

function execution(state: string, steps: [string, string][], mode = 'graceful') {
  return {
    planArn: PLAN_ARN,
    executionId: 'exec-1',
    mode,
    executionAction: 'activate',
    executionRegion: 'us-west-2',
    executionState: state,
    stepStates: steps.map(([name, status]) => ({ name, status })),
  };
}

const RUNNING = [
  execution('inProgress', [
    ['Aurora', 'running'],
    ['Cache', 'notStarted'],
  ]),
  execution('inProgress', [
    ['Aurora', 'completed'],
    ['Cache', 'running'],
  ]),
];
const DONE = execution('completed', [
  ['Aurora', 'completed'],
  ['Cache', 'completed'],
]);

function started(requests: SeenRequest[]) {
  return requests
    .filter((r) => r.operation === 'StartPlanExecution')
    .map((r) => ({ url: r.url, ...JSON.parse(r.body) }));
}

describe('switchover, failover, failback', () => {
  test('switchover starts a graceful activation of the target region and follows it to completion', async () => {
    const arc = arcPlane([...RUNNING, DONE]);
    const clock = fakeClock();
    const deps = cliDeps({ fetch: arc.fetch, now: clock.now, sleep: clock.sleep });

    const code = await main(['switchover', '--to', 'us-west-2', '-c', 'env=demo'], deps);

    expect(code).toBe(0);
    expect(started(arc.requests)).toEqual([
      {
        url: 'https://arc-region-switch.us-west-2.api.aws/',
        planArn: PLAN_ARN,
        targetRegion: 'us-west-2',
        action: 'activate',
        mode: 'graceful',
        comment: 'switchover to us-west-2 by the region CLI',
      },
    ]);
    expect(arc.requests.filter((r) => r.operation === 'GetPlanExecution')).toHaveLength(3);
    expect(clock.sleeps).toEqual([10_000, 10_000]);
    const out = deps.out.join('\n');
    expect(out).toContain('step Aurora: running');
    expect(out).toContain('step Aurora: completed');
    expect(out).toContain('step Cache: running');
    expect(out.match(/step Aurora: running/g)).toHaveLength(1);
    expect(out).toContain('Region switch to us-west-2 completed.');
  });

  test('--json: progress on stderr, one summary document on stdout', async () => {
    const arc = arcPlane([...RUNNING, DONE]);
    const clock = fakeClock();
    const deps = cliDeps({ fetch: arc.fetch, now: clock.now, sleep: clock.sleep });

    const code = await main(['switchover', '--to', 'us-west-2', '--json'], deps);

    expect(code).toBe(0);
    expect(deps.out).toHaveLength(1);
    expect(JSON.parse(deps.out[0]!)).toEqual({
      command: 'switchover',
      mode: 'graceful',
      targetRegion: 'us-west-2',
      planArn: PLAN_ARN,
      executionId: 'exec-1',
      outcome: 'completed',
      executionState: 'completed',
      steps: { Aurora: 'completed', Cache: 'completed' },
      errors: [],
      exitCode: 0,
    });
    expect(deps.err.join('\n')).toContain('Region switch to us-west-2 completed.');
  });

  test('--json of a failed execution carries the failed step errors and exit code 1', async () => {
    const failed = execution('failed', [
      ['Aurora', 'completed'],
      ['Cache', 'failed'],
    ]);
    const arc = arcPlane([failed], {
      ListPlanExecutionEvents: () => ({
        body: { items: [{ stepName: 'Cache', error: 'REFUSED: Global Datastore reports more than one PRIMARY' }] },
      }),
    });
    const deps = cliDeps({ fetch: arc.fetch });

    expect(await main(['failover', '--to', 'us-west-2', '--json'], deps)).toBe(1);
    expect(JSON.parse(deps.out[0]!)).toMatchObject({
      outcome: 'failed',
      mode: 'ungraceful',
      errors: ['step Cache failed: REFUSED: Global Datastore reports more than one PRIMARY'],
      exitCode: 1,
    });
  });

  test('--dry-run --json prints the request as one document and calls nothing without credentials', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch, credentials: noCredentials });

    expect(await main(['failback', '--dry-run', '--json'], deps)).toBe(0);
    expect(JSON.parse(deps.out.join('\n'))).toMatchObject({
      dryRun: true,
      operation: 'StartPlanExecution',
      planFound: false,
      changed: false,
      request: { targetRegion: 'us-east-1', action: 'activate', mode: 'graceful' },
    });
    expect(arc.requests).toHaveLength(0);
  });

  test('failover starts an ungraceful activation', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['failover', '--to', 'us-west-2', '--comment', 'us-east-1 is down'], deps);

    expect(code).toBe(0);
    expect(started(arc.requests)).toEqual([
      expect.objectContaining({
        targetRegion: 'us-west-2',
        action: 'activate',
        mode: 'ungraceful',
        comment: 'us-east-1 is down',
      }),
    ]);
  });

  test("failback activates the config's primary region, gracefully, through its data plane", async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['failback'], deps);

    expect(code).toBe(0);
    expect(started(arc.requests)).toEqual([
      expect.objectContaining({
        url: 'https://arc-region-switch.us-east-1.api.aws/',
        targetRegion: 'us-east-1',
        mode: 'graceful',
      }),
    ]);
  });

  test('a failed execution exits 1 with the failed step and its error', async () => {
    const failed = execution('failed', [
      ['Aurora', 'completed'],
      ['Cache', 'failed'],
    ]);
    const arc = arcPlane([RUNNING[0], failed], {
      ListPlanExecutionEvents: () => ({
        body: {
          items: [
            { eventId: '1', type: 'stepStarted', stepName: 'Cache' },
            { eventId: '2', type: 'stepFailed', stepName: 'Cache', error: 'FailoverGlobalReplicationGroup: throttled' },
          ],
        },
      }),
    });
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['switchover', '--to', 'us-west-2'], deps);

    expect(code).toBe(1);
    const out = deps.out.join('\n');
    expect(out).toContain('Region switch to us-west-2 did not complete: failed.');
    expect(out).toContain('step Cache failed: FailoverGlobalReplicationGroup: throttled');
  });

  test('an execution paused by a failed step counts as a failure', async () => {
    const arc = arcPlane([execution('pausedByFailedStep', [['Cache', 'failed']])]);
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['failover', '--to', 'us-west-2'], deps);

    expect(code).toBe(1);
    expect(deps.out.join('\n')).toContain('failed steps: Cache');
  });

  test('the follow loop stops at --timeout with exit code 3', async () => {
    const arc = arcPlane([RUNNING[0]]);
    const clock = fakeClock();
    const deps = cliDeps({ fetch: arc.fetch, now: clock.now, sleep: clock.sleep });

    const code = await main(['switchover', '--to', 'us-west-2', '--timeout', '1'], deps);

    expect(code).toBe(3);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(60_000);
    expect(arc.requests.filter((r) => r.operation === 'GetPlanExecution')).toHaveLength(7);
    expect(deps.out.join('\n')).toContain('Timed out after 1 min; execution exec-1 goes on in AWS (state inProgress).');
  });

  test('a transient polling error is retried', async () => {
    let calls = 0;
    const arc = arcPlane([DONE], {
      GetPlanExecution: () =>
        calls++ === 0 ? { status: 500, body: { __type: 'InternalServerException', message: 'oops' } } : { body: DONE },
    });
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['switchover', '--to', 'us-west-2'], deps);

    expect(code).toBe(0);
    expect(deps.out.join('\n')).toContain('warning: GetPlanExecution failed: InternalServerException: oops (retrying)');
  });

  test('a refused start exits 1 with the service message', async () => {
    const arc = arcPlane([DONE], {
      StartPlanExecution: () => ({
        status: 400,
        body: { __type: 'IllegalStateException', message: 'plan has an active execution' },
      }),
    });
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['switchover', '--to', 'us-west-2'], deps);

    expect(code).toBe(1);
    expect(deps.err).toEqual(['error: StartPlanExecution failed: IllegalStateException: plan has an active execution']);
  });

  test('a missing plan exits 1 and says to deploy it', async () => {
    const arc = arcPlane([DONE], { ListPlansInRegion: () => ({ body: { plans: [] } }) });
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['failback'], deps);

    expect(code).toBe(1);
    expect(deps.err[0]).toBe(
      "error: no Region switch plan named haweb-demo is visible in us-east-1; deploy the environment's region switch plan first.",
    );
    expect(started(arc.requests)).toEqual([]);
  });

  test('a region outside the environment is a usage error naming the valid ones', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['switchover', '--to', 'eu-west-1'], deps);

    expect(code).toBe(64);
    expect(deps.err[0]).toMatch(
      /^error: --to eu-west-1 is not a region of environment demo; use one of: us-east-1, us-west-2\./,
    );
    expect(arc.requests).toHaveLength(0);
  });

  test('--dry-run looks the plan up and starts nothing', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch });

    const code = await main(['failover', '--to', 'us-west-2', '--dry-run'], deps);

    expect(code).toBe(0);
    expect(arc.requests.map((r) => r.operation)).toEqual(['ListPlansInRegion', 'ListPlansInRegion']);
    expect(arc.requests.some((r) => MUTATING.includes(r.operation))).toBe(false);
    const out = deps.out.join('\n');
    expect(out).toContain('Would call StartPlanExecution');
    expect(out).toContain(`"planArn": "${PLAN_ARN}"`);
    expect(out).toContain('"mode": "ungraceful"');
    expect(out).toContain('Nothing was changed.');
  });

  test('--dry-run without credentials calls nothing at all', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch, credentials: noCredentials });

    const code = await main(['switchover', '--to', 'us-west-2', '--dry-run'], deps);

    expect(code).toBe(0);
    expect(arc.requests).toHaveLength(0);
    expect(deps.out.join('\n')).toContain('"planArn": "<ARN of plan haweb-demo>"');
  });

  test('without credentials a switch exits 2 with the message and calls nothing', async () => {
    const arc = arcPlane([DONE]);
    const deps = cliDeps({ fetch: arc.fetch, credentials: noCredentials });

    const code = await main(['failover', '--to', 'us-west-2'], deps);

    expect(code).toBe(2);
    expect(deps.err[0]).toMatch(/^No AWS credentials found: .* Nothing was changed\.$/);
    expect(arc.requests).toHaveLength(0);
  });
});

describe('what the plan switches, by the components the environment has', () => {
  const S = catalogOnly.secondary.region;
  const run = async (argv: string[], environments?: Record<string, EnvironmentConfig>) => {
    const arc = arcPlane([DONE], {}, environments ? 'haweb-staging' : 'haweb-demo');
    // No SDK client and no Lambda: cliDeps' clients throw when asked for one. A switch invokes no function itself.
    const deps = cliDeps({ fetch: arc.fetch, environments });
    const code = await main(argv, deps);
    return { code, out: deps.out.join('\n'), operations: arc.requests.map((r) => r.operation) };
  };

  test('switchover of demo: every component, through the plan only', async () => {
    const r = await run(['switchover', '--to', 'us-west-2']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'The plan scales the fleets of web and switches the database, session cache and shared files.',
    );
    expect(r.operations.every((o) => /^(ListPlansInRegion|StartPlanExecution|GetPlanExecution)$/.test(o))).toBe(true);
  });

  test('switchover without session cache and shared files: the database only, the others not in this environment', async () => {
    const r = await run(['switchover', '--to', S, '-c', 'env=staging'], { staging: catalogOnly });
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'The plan scales the fleets of catalog and switches the database (not in this environment: session cache ' +
        'and shared files).',
    );
    expect(r.out).not.toContain('Ungraceful');
  });

  test('failover of demo: the functions the plan skips, to invoke afterwards, are cache-failover, efs-replication and postcheck', async () => {
    const r = await run(['failover', '--to', 'us-west-2']);
    expect(r.out).toContain(
      'Ungraceful: the plan skips its Lambda steps; once it completes, invoke in us-west-2, in order ' +
        '(docs/runbooks/unplanned-failover.md): haweb-demo-cache-failover, haweb-demo-efs-replication, haweb-demo-postcheck.',
    );
  });

  test('failover without session cache and shared files: no cache-failover or efs-replication to invoke (they do not exist)', async () => {
    const r = await run(['failover', '--to', S, '-c', 'env=staging'], { staging: catalogOnly });
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `Ungraceful: the plan skips its Lambda steps; once it completes, invoke in ${S}, in order ` +
        '(docs/runbooks/unplanned-failover.md): haweb-staging-postcheck.',
    );
    expect(r.out).not.toMatch(/cache-failover|efs-replication/);
  });

  test('--dry-run says it too', async () => {
    const r = await run(['failover', '--to', S, '-c', 'env=staging', '--dry-run'], { staging: catalogOnly });
    expect(r.out).toContain('switches the database (not in this environment: session cache and shared files).');
    expect(r.out).toContain('haweb-staging-postcheck.\nNothing was changed.');
  });
});

describe('planSwitch', () => {
  test('maps each command to its target and mode', () => {
    expect(planSwitch(demo, 'switchover', 'us-west-2')).toEqual({
      command: 'switchover',
      targetRegion: 'us-west-2',
      mode: 'graceful',
      planName: 'haweb-demo',
      services: ['web'],
      dataComponents: ['database', 'sessionCache', 'sharedFiles'],
      notInEnvironment: [],
      skippedFunctions: [],
    });
    expect(planSwitch(staging, 'switchover', 'eu-central-1')).toMatchObject({
      services: ['web', 'catalog'],
      dataComponents: ['database', 'sessionCache', 'sharedFiles'],
    });
    expect(planSwitch(catalogOnly, 'failover', 'eu-central-1')).toMatchObject({
      services: ['catalog'],
      dataComponents: ['database'],
      notInEnvironment: ['sessionCache', 'sharedFiles'],
      skippedFunctions: ['haweb-staging-postcheck'],
    });
    expect(planSwitch(demo, 'failover', 'us-east-1').mode).toBe('ungraceful');
    expect(planSwitch(demo, 'failback', undefined).targetRegion).toBe('us-east-1');
  });

  test('switchover without --to and failback with --to are usage errors', () => {
    expect(() => planSwitch(demo, 'switchover', undefined)).toThrow(
      'switchover needs --to <region>, one of: us-east-1, us-west-2.',
    );
    expect(() => planSwitch(demo, 'failback', 'us-west-2')).toThrow('failback takes no --to');
  });

  test('the plan is named haweb-<env>', () => {
    expect(planSwitch(demo, 'switchover', 'us-west-2').planName).toBe('haweb-demo');
  });
});
