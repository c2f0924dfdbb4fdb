/**
 * What the logic of every function shares: the logger, the clock, bounded polling, and the result type. Tests hand
 * in a silent log, a fake clock and a no-op sleep. Retries of AWS calls are the SDK clients' (./sdk.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { PLAN_STEP_INVOKER, type FunctionEnv, type SwitchFunctionName, type SwitchResult } from '../../contract';
import { ColdStartConfig, type Regions, type VariablesEnv } from './config';
import { processEnv } from './env';
import { ConfigError, RefusedError } from './errors';
import { parsePlanStepEvent, parseSwitchEvent, type SwitchRequest } from './event';

export type { CheckOutcome, SwitchResult } from '../../contract';

/**
 * Structured log: a message and JSON fields. Never pass secrets. Powertools reserves the field names `level`,
 * `message`, `sampling_rate`, `service` and `timestamp` (it drops them); pass an error as `error`, which it prints
 * with its name, message, stack and, for an SDK error, `$metadata` (request ID, attempts, total retry delay).
 */
export interface Log {
  /** Progress. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something unexpected that the function handles. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The side effects the logic needs besides AWS: logging and time. */
export interface Runtime {
  /** Structured log. */
  readonly log: Log;
  /** Waits `ms` milliseconds. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Epoch milliseconds by which the function must have returned (its timeout less a margin). */
  readonly deadline: number;
}

/** A result for `request` with no actions yet. */
export function newResult(name: string, request: SwitchRequest): SwitchResult {
  return {
    function: name,
    targetRegion: request.targetRegion,
    sourceRegion: request.sourceRegion,
    mode: request.mode,
    dryRun: request.dryRun,
    changed: false,
    actions: [],
  };
}

/** Result of {@link pollUntil}. */
export interface PollResult<T> {
  /** The last value probed. */
  readonly value: T;
  /** Whether the condition held before the deadline. */
  readonly met: boolean;
  /** Probes made. */
  readonly probes: number;
}

/**
 * Probes now and then every `intervalMs` until `done` holds or the next probe
 * would start after `deadline` (epoch ms).
 */
export async function pollUntil<T>(
  rt: Runtime,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  intervalMs: number,
  deadline: number,
): Promise<PollResult<T>> {
  for (let probes = 1; ; probes++) {
    const value = await probe();
    if (done(value)) return { value, met: true, probes };
    if (rt.now() + intervalMs > deadline) return { value, met: false, probes };
    await rt.sleep(intervalMs);
  }
}

/** The deadline of a wait of `waitSeconds`, never past the function's own. */
export function waitDeadline(rt: Runtime, waitSeconds: number): number {
  return Math.min(rt.now() + waitSeconds * 1000, rt.deadline);
}

/** Milliseconds kept free before the Lambda timeout to log and return. */
export const TIMEOUT_MARGIN_MS = 10_000;

/** A Powertools logger for `service`, level from POWERTOOLS_LOG_LEVEL (default INFO). */
export function createLogger(service: string): Logger {
  return new Logger({ serviceName: `region-switch-${service}` });
}

/** A {@link Log} over a Powertools logger. */
export function logOf(logger: Logger): Log {
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}

/** A real-time {@link Runtime} for one invocation. */
export function lambdaRuntime(log: Log, context?: Pick<Context, 'getRemainingTimeInMillis'>): Runtime {
  const now = Date.now();
  const remaining = context?.getRemainingTimeInMillis?.() ?? 15 * 60_000;
  return {
    log,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    deadline: now + Math.max(0, remaining - TIMEOUT_MARGIN_MS),
  };
}

/** How a function's copy is invoked, from its environment. */
export interface Invocation {
  /** The plan's copy (INVOKED_BY=region-switch-plan): the activating region is the function's own. */
  readonly planStep: boolean;
  /** The function's region (AWS_REGION, set by Lambda). */
  readonly functionRegion?: string;
}

/** Reads INVOKED_BY and AWS_REGION. */
export function invocationOf(env: VariablesEnv<'INVOKED_BY' | 'AWS_REGION'>): Invocation {
  const invokedBy = env.INVOKED_BY;
  if (invokedBy !== undefined && invokedBy !== '' && invokedBy !== PLAN_STEP_INVOKER) {
    throw new ConfigError(`INVOKED_BY must be ${PLAN_STEP_INVOKER} or unset (got ${JSON.stringify(invokedBy)}).`);
  }
  const planStep = invokedBy === PLAN_STEP_INVOKER;
  if (planStep && !env.AWS_REGION) {
    throw new ConfigError('AWS_REGION is not set; a plan step needs its own region (Lambda sets it).');
  }
  return { planStep, functionRegion: env.AWS_REGION };
}

/**
 * Parses the event; when it matches neither shape, logs its keys (not its values) so the payload
 * Region switch actually sends can be read from the logs, then rethrows.
 */
export function parseRequest(
  log: Log,
  event: unknown,
  regions: readonly string[],
  dryRunFromEnv: boolean,
  invocation: Invocation = { planStep: false },
): SwitchRequest {
  try {
    return invocation.planStep
      ? parsePlanStepEvent(event, regions, dryRunFromEnv, invocation.functionRegion!)
      : parseSwitchEvent(event, regions, dryRunFromEnv);
  } catch (err) {
    const keys = (value: unknown) =>
      typeof value === 'object' && value !== null ? Object.keys(value as object) : typeof value;
    log.error('Invalid event', {
      error: err,
      eventKeys: keys(event),
      detailKeys: keys((event as { detail?: unknown } | null)?.detail),
    });
    throw err;
  }
}

/**
 * Runs one invocation's logic: logs the request (never the raw event's
 * values beyond its keys), then the result, or the refusal or error, which it
 * rethrows so the plan step fails with that message.
 */
export async function runLogged(
  log: Log,
  request: SwitchRequest,
  run: () => Promise<SwitchResult>,
): Promise<SwitchResult> {
  log.info('Request', {
    targetRegion: request.targetRegion,
    sourceRegion: request.sourceRegion,
    mode: request.mode,
    dryRun: request.dryRun,
    origin: request.origin,
    executionId: request.executionId,
    planArn: request.planArn,
    eventKeys: Object.keys(request.input),
  });
  try {
    const result = await run();
    log.info('Result', { result });
    return result;
  } catch (err) {
    if (err instanceof RefusedError) log.warn('Refused', { reason: err.message });
    else log.error('Failed', { error: err });
    throw err;
  }
}

/** Runs one request of a function with its configuration and the Lambda runtime. */
export type SwitchRun<C> = (request: SwitchRequest, config: C, rt: Runtime) => Promise<SwitchResult>;

/** A Lambda entry point. */
export type SwitchHandler = (event: unknown, context?: Context) => Promise<SwitchResult>;

/**
 * The keys every log line of an invocation carries once its event is read: the region being activated and, when a
 * Region switch plan invoked it, the execution's ID and the plan's ARN.
 */
export function invocationKeys(request: SwitchRequest): Record<string, string> {
  return {
    targetRegion: request.targetRegion,
    ...(request.executionId !== undefined ? { executionId: request.executionId } : {}),
    ...(request.planArn !== undefined ? { planArn: request.planArn } : {}),
  };
}

/**
 * Loads (and checks) a function's configuration once, at cold start, and returns a maker of entry points
 * that parse the event into a request and call their `run` with it, logged as one run.
 *
 * Every log line of an invocation carries the Lambda context (Powertools `addContext`: `function_request_id`,
 * `function_name`, `cold_start`, ...) and, once the event is read, {@link invocationKeys} (Powertools `appendKeys`,
 * temporary keys that `resetKeys` clears when the invocation ends, so none leaks into the next one).
 */
export function lambdaEntry<
  F extends SwitchFunctionName,
  C extends { readonly regions: Regions; readonly dryRun: boolean },
>(name: F, load: (env: FunctionEnv<F>) => C): (run: SwitchRun<C>) => SwitchHandler {
  const logger = createLogger(name);
  const log = logOf(logger);
  const coldStart = new ColdStartConfig(
    () => {
      // The process environment holds every variable; the function reads only those its contract names.
      const env = processEnv() as FunctionEnv<F>;
      return { config: load(env), invocation: invocationOf(processEnv()) };
    },
    (err) => log.error('Invalid configuration at cold start', { error: err }),
  );
  return (run) => async (event, context) => {
    if (context) logger.addContext(context);
    try {
      const { config, invocation } = coldStart.get();
      const request = parseRequest(log, event, config.regions.names, config.dryRun, invocation);
      logger.appendKeys(invocationKeys(request));
      return await runLogged(log, request, () => run(request, config, lambdaRuntime(log, context)));
    } finally {
      logger.resetKeys();
    }
  };
}

/** A Lambda entry point: {@link lambdaEntry} with one `run`. */
export function defineHandler<
  F extends SwitchFunctionName,
  C extends { readonly regions: Regions; readonly dryRun: boolean },
>(name: F, load: (env: FunctionEnv<F>) => C, run: SwitchRun<C>): SwitchHandler {
  return lambdaEntry(name, load)(run);
}
