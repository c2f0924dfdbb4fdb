import * as path from 'node:path';
import { ConfigError, ENVIRONMENTS, EnvironmentConfig, loadEnvironmentConfig } from '../lib/config';
import { parseRecorded, recordedContextKey } from '../lib/recorded';
import { COMMAND_USAGE, MAIN_USAGE, ParsedArgs, parseCommandLine } from './args';
import {
  ArcRegionSwitchApi,
  ArcRegionSwitchClient,
  ArcRegionSwitchError,
  arcDataPlaneHostname,
} from './arc-region-switch-client';
import { FetchFn } from './aws-signing';
import { StackNotFoundError } from './cloudformation';
import { CredentialProvider, NoCredentialsError, requireCredentials } from './credentials';
import { AssemblyError, CheckDeployResult, checkDeploy, renderCheckDeploy } from './check-deploy';
import { EXIT, UsageError } from './exit';
import { RecordError, readContextFile, recordIds, renderRecord } from './record-ids';
import { RegionClients, anythingRead, gatherStatus, renderStatusTable } from './status';
import { REJOIN_OUTPUT, RejoinError, invokeRejoin, planRejoin, renderRejoin } from './rejoin';
import { SwitchError, SwitchPlan, describeSwitch, findPlan, planSwitch, runSwitch, startInput } from './switch';

/** Everything the CLI touches outside itself; `region.ts` hands in the real ones, tests fakes. */
export interface CliDeps {
  /** AWS credential provider (the default chain in production). */
  readonly credentials: CredentialProvider;
  /** HTTP client of the Region switch calls, the only ones signed by hand (no SDK client of that API). */
  readonly fetch: FetchFn;
  /** SDK clients of a region, CloudFormation's included (`sdkClients` of `clients.ts` in production). */
  readonly clients: (region: string) => RegionClients;
  /** Writes to standard output (a line break is added). */
  readonly stdout: (text: string) => void;
  /** Writes to standard error (a line break is added). */
  readonly stderr: (text: string) => void;
  /** The current time. */
  readonly now: () => Date;
  /** Waits. */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Milliseconds between two polls of a plan execution.
   * @default 10000
   */
  readonly pollIntervalMs?: number;
  /**
   * The environments `-c env=` can pick.
   * @default - lib/config's ENVIRONMENTS
   */
  readonly environments?: Readonly<Record<string, EnvironmentConfig>>;
  /**
   * The Region switch API.
   * @default - an ArcRegionSwitchClient over `fetch`
   */
  readonly arc?: ArcRegionSwitchApi;
  /**
   * The project's directory: `cdk.out` and `cdk.context.json` are found there unless the command line says
   * otherwise.
   * @default - the current directory
   */
  readonly projectDir?: string;
  /**
   * Context values, as `cdk` reads them from `cdk.context.json` (check-deploy takes the recorded file system IDs
   * from them).
   * @default - read from the project's cdk.context.json
   */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** Runs one command line and returns the exit code. Never throws. */
export async function main(argv: readonly string[], deps: CliDeps): Promise<number> {
  let args: ParsedArgs;
  let config: EnvironmentConfig;
  try {
    args = parseCommandLine(argv);
    if (args.help || !args.command) {
      deps.stdout(args.command ? COMMAND_USAGE[args.command] : MAIN_USAGE);
      return EXIT.OK;
    }
    config = loadEnvironmentConfig(args.env, deps.environments ?? ENVIRONMENTS);
  } catch (err) {
    return usageFailure(err, deps, commandOf(argv));
  }
  try {
    if (args.command === 'status') return await status(config, args, deps);
    if (args.command === 'rejoin') return await rejoin(config, args, deps);
    if (args.command === 'check-deploy') return await checkDeployCommand(config, args, deps);
    if (args.command === 'record-ids') return await recordIdsCommand(config, args, deps);
    return await regionSwitch(config, args, deps);
  } catch (err) {
    if (err instanceof NoCredentialsError) {
      deps.stderr(err.message);
      return EXIT.UNAVAILABLE;
    }
    if (err instanceof UsageError) return usageFailure(err, deps, args.command);
    deps.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.FAILED;
  }
}

function commandOf(argv: readonly string[]): ParsedArgs['command'] {
  return Object.prototype.hasOwnProperty.call(COMMAND_USAGE, argv[0] ?? '')
    ? (argv[0] as ParsedArgs['command'])
    : undefined;
}

function usageFailure(err: unknown, deps: CliDeps, command?: ParsedArgs['command']): number {
  if (err instanceof UsageError) {
    deps.stderr(`error: ${err.message}\n\n${command ? COMMAND_USAGE[command] : MAIN_USAGE}`);
    return EXIT.USAGE;
  }
  if (err instanceof ConfigError) {
    deps.stderr(`error: ${err.message}`);
    return EXIT.USAGE;
  }
  throw err;
}

async function status(config: EnvironmentConfig, args: ParsedArgs, deps: CliDeps): Promise<number> {
  await requireCredentials(deps.credentials);
  const report = await gatherStatus(config, { clients: deps.clients, now: deps.now });
  deps.stdout(args.json ? JSON.stringify(report, null, 2) : renderStatusTable(report));
  if (!anythingRead(report)) {
    deps.stderr('error: nothing could be read in either region; check the credentials, the account and the network.');
    return EXIT.UNAVAILABLE;
  }
  return EXIT.OK;
}

async function checkDeployCommand(config: EnvironmentConfig, args: ParsedArgs, deps: CliDeps): Promise<number> {
  await requireCredentials(deps.credentials);
  const dir = deps.projectDir ?? process.cwd();
  const context = deps.context ?? readContextFile(path.join(dir, 'cdk.context.json'));
  const recorded = parseRecorded(config, context[recordedContextKey(config.name)]);
  try {
    const result = await checkDeploy(
      config,
      {
        assemblyDir: path.resolve(dir, args.assembly ?? 'cdk.out'),
        stackNames: args.stacks,
        recorded,
      },
      { clients: deps.clients, arc: arcOf(deps) },
    );
    deps.stdout(args.json ? JSON.stringify(checkDeployJson(result), null, 2) : renderCheckDeploy(config, result));
    return result.safe ? EXIT.OK : EXIT.FAILED;
  } catch (err) {
    if (err instanceof AssemblyError) {
      deps.stderr(`error: ${err.message}`);
      return EXIT.FAILED;
    }
    throw err;
  }
}

function checkDeployJson(result: CheckDeployResult): unknown {
  return {
    safe: result.safe,
    reasons: result.reasons,
    roles: result.roles,
    stacks: result.stacks.map((s) => ({
      stackName: s.stack.stackName,
      region: s.stack.region,
      deployedStatus: s.deployedStatus ?? null,
      changes: s.changes.map((c) => ({ logicalId: c.logicalId, type: c.type, action: c.action, changed: c.changed })),
      other: s.other,
    })),
  };
}

async function recordIdsCommand(config: EnvironmentConfig, args: ParsedArgs, deps: CliDeps): Promise<number> {
  await requireCredentials(deps.credentials);
  const file = path.resolve(deps.projectDir ?? process.cwd(), args.contextFile ?? 'cdk.context.json');
  try {
    const outcome = await recordIds(config, file, args.dryRun, { clients: deps.clients, arc: arcOf(deps) });
    deps.stdout(args.json ? JSON.stringify(outcome, null, 2) : renderRecord(file, outcome));
    return outcome.problems.length > 0 ? EXIT.FAILED : EXIT.OK;
  } catch (err) {
    if (err instanceof RecordError) {
      deps.stderr(`error: ${err.message} Nothing was written.`);
      return EXIT.FAILED;
    }
    throw err;
  }
}

function arcOf(deps: CliDeps): ArcRegionSwitchApi {
  return deps.arc ?? new ArcRegionSwitchClient({ credentials: deps.credentials, fetch: deps.fetch });
}

async function rejoin(config: EnvironmentConfig, args: ParsedArgs, deps: CliDeps): Promise<number> {
  const plan = planRejoin(config, {
    to: args.to,
    only: args.only,
    allowOverwrite: args.allowOverwrite,
    dryRun: args.dryRun,
  });
  try {
    await requireCredentials(deps.credentials);
  } catch (err) {
    if (!(err instanceof NoCredentialsError) || !args.dryRun) throw err;
    deps.stdout(
      [
        'Dry run without AWS credentials: nothing is called.',
        `Would read output ${REJOIN_OUTPUT} of ${plan.stackName} (${plan.activeRegion}) and invoke that function with:`,
        JSON.stringify(plan.payload, null, 2),
        ...(plan.notInEnvironment.length > 0
          ? [`Not in this environment (nothing to rejoin): ${plan.notInEnvironment.join(', ')}.`]
          : []),
      ].join('\n'),
    );
    return EXIT.OK;
  }
  try {
    const outcome = await invokeRejoin(plan, deps.clients(plan.activeRegion));
    deps.stdout(args.json ? JSON.stringify(outcome, null, 2) : renderRejoin(plan, outcome));
    return outcome.ok ? EXIT.OK : EXIT.FAILED;
  } catch (err) {
    if (err instanceof RejoinError || err instanceof StackNotFoundError) {
      deps.stderr(`error: ${err.message}`);
      return EXIT.FAILED;
    }
    throw err;
  }
}

async function regionSwitch(config: EnvironmentConfig, args: ParsedArgs, deps: CliDeps): Promise<number> {
  const plan = planSwitch(config, args.command as SwitchPlan['command'], args.to);
  const arc = arcOf(deps);
  if (args.dryRun) return dryRun(plan, args, arc, deps);
  await requireCredentials(deps.credentials);
  try {
    return await runSwitch(
      plan,
      { timeoutMinutes: args.timeoutMinutes, comment: args.comment },
      {
        arc,
        // With --json, progress goes to stderr and standard output holds only the summary document.
        print: args.json ? deps.stderr : deps.stdout,
        now: () => deps.now().getTime(),
        sleep: deps.sleep,
        pollIntervalMs: deps.pollIntervalMs,
        onResult: args.json ? (summary) => deps.stdout(JSON.stringify(summary, null, 2)) : undefined,
      },
    );
  } catch (err) {
    if (err instanceof SwitchError || err instanceof ArcRegionSwitchError) {
      deps.stderr(`error: ${err.message}`);
      return EXIT.FAILED;
    }
    throw err;
  }
}

/**
 * Prints the StartPlanExecution call a switch would make. With credentials,
 * the plan ARN is looked up (read-only ListPlansInRegion); without, nothing
 * is called and the ARN is shown as a placeholder.
 */
async function dryRun(plan: SwitchPlan, args: ParsedArgs, arc: ArcRegionSwitchApi, deps: CliDeps): Promise<number> {
  const endpoint = `https://${arcDataPlaneHostname(plan.targetRegion)}/`;
  const note = args.json ? deps.stderr : deps.stdout;
  let planArn: string;
  let planFound = false;
  try {
    await requireCredentials(deps.credentials);
    planArn = (await findPlan(arc, plan.targetRegion, plan.planName)).arn;
    planFound = true;
    note(`Dry run: found plan ${plan.planName} (${planArn}) with ListPlansInRegion on ${endpoint}.`);
  } catch (err) {
    if (!(err instanceof NoCredentialsError)) throw err;
    planArn = `<ARN of plan ${plan.planName}>`;
    note(`Dry run without AWS credentials: nothing is called; the plan ${plan.planName} is not looked up.`);
  }
  const request = startInput(plan, planArn, args.comment);
  if (args.json) {
    deps.stdout(
      JSON.stringify(
        { dryRun: true, endpoint, operation: 'StartPlanExecution', planFound, request, changed: false },
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  deps.stdout(
    [
      `Would call StartPlanExecution (X-Amz-Target: ArcRegionSwitch.StartPlanExecution) on ${endpoint} with:`,
      JSON.stringify(request, null, 2),
      `then poll GetPlanExecution every ${(deps.pollIntervalMs ?? 10_000) / 1000} s for up to ${args.timeoutMinutes} min.`,
      describeSwitch(plan),
      'Nothing was changed.',
    ].join('\n'),
  );
  return EXIT.OK;
}
