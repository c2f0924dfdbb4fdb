import {
  componentOfConfig,
  isPlanStep,
  regionSwitchPlanName,
  switchFunctionName,
  switchFunctionsOf,
} from '../contract';
import { DataComponent, EnvironmentConfig } from '../lib/config';
import {
  ArcRegionSwitchApi,
  ArcRegionSwitchError,
  ExecutionMode,
  ExecutionState,
  GetPlanExecutionOutput,
  PlanSummary,
  StartPlanExecutionInput,
  StepState,
  arcDataPlaneHostname,
} from './arc-region-switch-client';
import { absentComponents, componentList, presentComponents } from './components';
import { EXIT, UsageError } from './exit';

/** The three region switch commands. */
export type SwitchCommand = 'switchover' | 'failover' | 'failback';

/** A validated switch: where to, in which mode, with which plan. */
export interface SwitchPlan {
  /** The command. */
  readonly command: SwitchCommand;
  /** Region to activate. */
  readonly targetRegion: string;
  /** `graceful` (switchover, failback) or `ungraceful` (failover). */
  readonly mode: ExecutionMode;
  /** Name of the environment's Region switch plan. */
  readonly planName: string;
  /** The services whose fleets the plan scales in the target region. */
  readonly services: readonly string[];
  /** The data components the plan switches: those the environment has. */
  readonly dataComponents: readonly DataComponent[];
  /** The data components the environment does not have: the plan has no step for them. */
  readonly notInEnvironment: readonly DataComponent[];
  /**
   * Ungraceful only: the functions the plan skips (ARC skips Lambda steps in ungraceful mode), which the operator
   * invokes in the target region afterwards (docs/runbooks/unplanned-failover.md), in order: cache-failover with
   * a session cache, efs-replication with shared files, then postcheck. Empty for graceful switches.
   */
  readonly skippedFunctions: readonly string[];
}

/**
 * What the plan does, for the operator: the fleets it scales, the data components it switches and those the
 * environment does not have; in ungraceful mode, the functions to invoke afterwards.
 */
export function describeSwitch(plan: SwitchPlan): string {
  const absent = plan.notInEnvironment.length
    ? ` (not in this environment: ${componentList(plan.notInEnvironment)})`
    : '';
  const data = plan.dataComponents.length ? `the ${componentList(plan.dataComponents)}` : 'no data component';
  const lines = [`The plan scales the fleets of ${plan.services.join(', ')} and switches ${data}${absent}.`];
  if (plan.skippedFunctions.length > 0) {
    lines.push(
      `Ungraceful: the plan skips its Lambda steps; once it completes, invoke in ${plan.targetRegion}, in order ` +
        `(docs/runbooks/unplanned-failover.md): ${plan.skippedFunctions.join(', ')}.`,
    );
  }
  return lines.join('\n');
}

/**
 * Validates the command against the config: `switchover` and `failover` need
 * `--to` naming one of the environment's two regions; `failback` activates
 * the configured primary and takes no `--to`.
 */
export function planSwitch(config: EnvironmentConfig, command: SwitchCommand, to: string | undefined): SwitchPlan {
  const regions = [config.primary.region, config.secondary.region];
  let targetRegion: string;
  if (command === 'failback') {
    if (to !== undefined) {
      throw new UsageError(
        `failback takes no --to: it always activates the primary region ${config.primary.region}; ` +
          `use switchover --to <region> to pick a region.`,
      );
    }
    targetRegion = config.primary.region;
  } else {
    if (!to) throw new UsageError(`${command} needs --to <region>, one of: ${regions.join(', ')}.`);
    if (!regions.includes(to)) {
      throw new UsageError(
        `--to ${to} is not a region of environment ${config.name}; use one of: ${regions.join(', ')}.`,
      );
    }
    targetRegion = to;
  }
  return {
    command,
    targetRegion,
    mode: command === 'failover' ? 'ungraceful' : 'graceful',
    planName: regionSwitchPlanName(config.name),
    services: config.services.map((s) => s.name),
    dataComponents: presentComponents(config),
    notInEnvironment: absentComponents(config),
    skippedFunctions: command === 'failover' ? skippedFunctions(config) : [],
  };
}

/**
 * The functions an ungraceful execution skips that the operator invokes afterwards, in order: the plan's Lambda steps
 * the environment has but preflight (whose checks are of a planned switch).
 */
function skippedFunctions(config: EnvironmentConfig): string[] {
  return switchFunctionsOf(presentComponents(config).map(componentOfConfig))
    .filter((fn) => isPlanStep(fn) && fn !== 'preflight')
    .map((fn) => switchFunctionName(config.name, fn));
}

/** The StartPlanExecution input of a switch. */
export function startInput(plan: SwitchPlan, planArn: string, comment: string | undefined): StartPlanExecutionInput {
  return {
    planArn,
    targetRegion: plan.targetRegion,
    action: 'activate',
    mode: plan.mode,
    comment: (comment ?? `${plan.command} to ${plan.targetRegion} by the region CLI`).slice(0, 1024),
  };
}

/**
 * Finds the plan by name through the target region's data plane
 * (ListPlansInRegion), so the lookup works while the other region is down.
 */
export async function findPlan(arc: ArcRegionSwitchApi, region: string, name: string): Promise<PlanSummary> {
  let nextToken: string | undefined;
  do {
    const page = await arc.listPlansInRegion(region, { nextToken });
    const plan = page.plans?.find((p) => p.name === name);
    if (plan) return plan;
    nextToken = page.nextToken;
  } while (nextToken);
  throw new SwitchError(
    `no Region switch plan named ${name} is visible in ${region}; deploy the environment's region switch plan first.`,
  );
}

/** A switch that could not be started or did not finish well (exit code 1). */
export class SwitchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SwitchError';
  }
}

/** What a switch runs through. */
export interface SwitchDeps {
  /** The Region switch API. */
  readonly arc: ArcRegionSwitchApi;
  /** Prints one line. */
  readonly print: (line: string) => void;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Waits. */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Milliseconds between two GetPlanExecution calls.
   * @default 10000
   */
  readonly pollIntervalMs?: number;
  /** Receives the summary once the run ends (completed, failed or timed out); `--json` prints it. */
  readonly onResult?: (summary: SwitchSummary) => void;
}

/** How a switch run ended (the `--json` document). */
export interface SwitchSummary {
  /** switchover, failover or failback. */
  readonly command: SwitchCommand;
  /** graceful or ungraceful. */
  readonly mode: string;
  /** The region activated. */
  readonly targetRegion: string;
  /** The plan's ARN. */
  readonly planArn: string;
  /** The execution's ID. */
  readonly executionId: string;
  /** completed, failed (or paused on a failed step, canceled), or timeout (still running in AWS). */
  readonly outcome: 'completed' | 'failed' | 'timeout';
  /** The last execution state read. */
  readonly executionState?: string;
  /** Each step's last status. */
  readonly steps: Record<string, string>;
  /** Errors of the failed steps. */
  readonly errors: string[];
  /** The exit code. */
  readonly exitCode: number;
}

/** How following an execution ended. */
interface ExecutionOutcome {
  readonly code: number;
  readonly outcome: SwitchSummary['outcome'];
  readonly state?: string;
  readonly steps: Record<string, string>;
  readonly errors: string[];
}

/** Options of a switch run. */
export interface SwitchOptions {
  /** Minutes to follow the execution before giving up (the execution goes on). */
  readonly timeoutMinutes: number;
  /**
   * Execution comment.
   * @default - "<command> to <region> by the region CLI"
   */
  readonly comment?: string;
}

const SUCCESS_STATES: ReadonlySet<ExecutionState> = new Set([
  'completed',
  'completedWithExceptions',
  'completedMonitoringApplicationHealth',
]);
const FAILURE_STATES: ReadonlySet<ExecutionState> = new Set([
  'failed',
  'canceled',
  'planExecutionTimedOut',
  'pausedByFailedStep',
]);

/** Looks the plan up, starts the execution and follows it; returns the exit code. */
export async function runSwitch(plan: SwitchPlan, options: SwitchOptions, deps: SwitchDeps): Promise<number> {
  const found = await findPlan(deps.arc, plan.targetRegion, plan.planName);
  const input = startInput(plan, found.arn, options.comment);
  deps.print(
    `Starting ${plan.command} (${plan.mode}) to ${plan.targetRegion} with plan ${found.arn} ` +
      `through ${arcDataPlaneHostname(plan.targetRegion)}`,
  );
  deps.print(describeSwitch(plan));
  let executionId: string | undefined;
  try {
    executionId = (await deps.arc.startPlanExecution(plan.targetRegion, input)).executionId;
  } catch (err) {
    if (err instanceof ArcRegionSwitchError) throw new SwitchError(err.message);
    throw err;
  }
  if (!executionId) throw new SwitchError('StartPlanExecution returned no executionId.');
  deps.print(`Execution ${executionId} started.`);
  const ended = await followExecution(plan.targetRegion, found.arn, executionId, options.timeoutMinutes, deps);
  deps.onResult?.({
    command: plan.command,
    mode: plan.mode,
    targetRegion: plan.targetRegion,
    planArn: found.arn,
    executionId,
    outcome: ended.outcome,
    executionState: ended.state,
    steps: ended.steps,
    errors: ended.errors,
    exitCode: ended.code,
  });
  return ended.code;
}

/**
 * Polls GetPlanExecution until the execution succeeds (exit 0), fails or
 * pauses on a failed step (exit 1, with the failed steps' errors), or the
 * timeout passes (exit 3; the execution goes on in AWS). Prints every change
 * of the execution state and of each step's status.
 */
export async function followExecution(
  region: string,
  planArn: string,
  executionId: string,
  timeoutMinutes: number,
  deps: SwitchDeps,
): Promise<ExecutionOutcome> {
  const interval = deps.pollIntervalMs ?? 10_000;
  const deadline = deps.now() + timeoutMinutes * 60_000;
  const seen = new Map<string, string>();
  let lastState: string | undefined;
  for (;;) {
    let execution: GetPlanExecutionOutput | undefined;
    try {
      execution = await readExecution(deps.arc, region, planArn, executionId);
    } catch (err) {
      if (err instanceof ArcRegionSwitchError && err.status >= 400 && err.status < 500 && !isThrottle(err)) {
        throw new SwitchError(err.message);
      }
      deps.print(`warning: ${err instanceof Error ? err.message : String(err)} (retrying)`);
    }
    if (execution) {
      for (const step of execution.stepStates ?? []) {
        const name = step.name ?? '(unnamed step)';
        const status = step.status ?? 'unknown';
        if (seen.get(name) !== status) {
          seen.set(name, status);
          deps.print(`${stamp(deps.now())}  step ${name}: ${status}${modeNote(step)}`);
        }
      }
      if (execution.executionState !== lastState) {
        lastState = execution.executionState;
        deps.print(`${stamp(deps.now())}  execution: ${execution.executionState}`);
      }
      if (SUCCESS_STATES.has(execution.executionState)) {
        const note = execution.executionState === 'completedWithExceptions' ? ' with exceptions' : '';
        deps.print(`Region switch to ${region} completed${note}.`);
        return { code: EXIT.OK, outcome: 'completed', state: lastState, steps: Object.fromEntries(seen), errors: [] };
      }
      if (FAILURE_STATES.has(execution.executionState)) {
        deps.print(`Region switch to ${region} did not complete: ${execution.executionState}.`);
        const errors = await failedStepErrors(deps.arc, region, planArn, executionId, execution.stepStates);
        for (const line of errors) deps.print(line);
        return {
          code: EXIT.FAILED,
          outcome: 'failed',
          state: lastState,
          steps: Object.fromEntries(seen),
          errors: errors.map((l) => l.trim()),
        };
      }
    }
    const remaining = deadline - deps.now();
    if (remaining <= 0) {
      deps.print(
        `Timed out after ${timeoutMinutes} min; execution ${executionId} goes on in AWS ` +
          `(state ${lastState ?? 'unknown'}). Follow it in the ARC console or rerun status.`,
      );
      return { code: EXIT.TIMEOUT, outcome: 'timeout', state: lastState, steps: Object.fromEntries(seen), errors: [] };
    }
    await deps.sleep(Math.min(interval, remaining));
  }
}

async function readExecution(
  arc: ArcRegionSwitchApi,
  region: string,
  planArn: string,
  executionId: string,
): Promise<GetPlanExecutionOutput> {
  let page = await arc.getPlanExecution(region, { planArn, executionId });
  const steps: StepState[] = [...(page.stepStates ?? [])];
  while (page.nextToken) {
    page = await arc.getPlanExecution(region, { planArn, executionId, nextToken: page.nextToken });
    steps.push(...(page.stepStates ?? []));
  }
  return { ...page, stepStates: steps };
}

async function failedStepErrors(
  arc: ArcRegionSwitchApi,
  region: string,
  planArn: string,
  executionId: string,
  steps: readonly StepState[] | undefined,
): Promise<string[]> {
  const failed = (steps ?? []).filter((s) => s.status === 'failed').map((s) => s.name ?? '(unnamed step)');
  const lines: string[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await arc.listPlanExecutionEvents(region, { planArn, executionId, nextToken });
      for (const e of page.items ?? []) {
        if (e.error) lines.push(`  step ${e.stepName ?? '(execution)'} failed: ${e.error}`);
      }
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    lines.push(`  (could not read the execution events: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (lines.length === 0 && failed.length > 0) lines.push(`  failed steps: ${failed.join(', ')}`);
  return lines;
}

function isThrottle(err: ArcRegionSwitchError): boolean {
  return err.status === 429 || /Throttl|TooManyRequests/.test(err.code);
}

function modeNote(step: StepState): string {
  return step.stepMode === 'ungraceful' ? ' (ungraceful)' : '';
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
