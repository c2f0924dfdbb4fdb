/**
 * The two input shapes every function accepts, reduced to one {@link SwitchRequest}.
 *
 * 1. Region switch's custom action Lambda invocation. The published docs describe the step's
 *    configuration (regionToRun activatingRegion | deactivatingRegion, timeout, retry interval) but not
 *    the payload, so the parser reads the fields Region switch names everywhere else in its API and
 *    events (StartPlanExecution / GetPlanExecution): `activateRegion`, `deactivateRegion`,
 *    `executionAction` (or `action`: activate | deactivate, with `targetRegion`), `executionMode`
 *    (or `mode`: graceful | ungraceful), `executionId`, `planArn`; also the `activatingRegion` /
 *    `deactivatingRegion` spellings, and the same fields under `detail` (EventBridge). Mode graceful
 *    maps to planned, ungraceful to unplanned.
 * 2. The operator's: `{ targetRegion, sourceRegion?, mode?: planned | unplanned, dryRun?: boolean }`.
 *
 * In both, `dryRun: true` (or the function's DRY_RUN=true) asks for a report without changes.
 *
 * The copies of the functions that the plan invokes (environment INVOKED_BY=region-switch-plan) do not
 * depend on the payload: {@link parsePlanStepEvent} takes the activating region to be the function's own
 * region, because the plan's steps run the copy in the activating region (`regionToRun:
 * activatingRegion`), and the mode to be planned unless the event says ungraceful (the plan's Lambda
 * steps are set to be skipped in ungraceful executions). Fields of shape 1, when present, must agree.
 */
import { PLAN_STEP_REGION_TO_RUN, type Mode, type OperatorEvent } from '../../contract';
import { InvalidEventError } from './errors';

export { PLAN_STEP_INVOKER, type Mode } from '../../contract';

/** Which shape the event had. */
export type EventOrigin = 'region-switch' | 'operator';

/** What a function is asked to do. */
export interface SwitchRequest {
  /** The region being activated: it will take writes and traffic. */
  readonly targetRegion: string;
  /** The region being deactivated (the other region of the two). */
  readonly sourceRegion: string;
  /** Planned switchover or unplanned failover. */
  readonly mode: Mode;
  /** Report only; call no mutating API. */
  readonly dryRun: boolean;
  /** The event's shape. */
  readonly origin: EventOrigin;
  /** Region switch execution ID, when invoked by a plan. */
  readonly executionId?: string;
  /** Region switch plan ARN, when invoked by a plan. */
  readonly planArn?: string;
  /** The event's own fields, for function-specific options such as `operation`. */
  readonly input: Readonly<Record<string, unknown>>;
}

const REGION_SWITCH_KEYS = [
  'activateRegion',
  'activatingRegion',
  'deactivateRegion',
  'deactivatingRegion',
  'executionAction',
  'executionMode',
  'executionId',
  'planArn',
  'action',
] as const;

/** The fields of the operator's event (`OperatorEvent` of the contract, which the CLI sends). */
const OPERATOR: { readonly [K in keyof OperatorEvent]-?: K } = {
  targetRegion: 'targetRegion',
  sourceRegion: 'sourceRegion',
  mode: 'mode',
  dryRun: 'dryRun',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(source: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = source[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '') {
      throw new InvalidEventError(`${key} must be a non-empty string (got ${JSON.stringify(value)}).`);
    }
    return value;
  }
  return undefined;
}

function dryRunOf(source: Record<string, unknown>): boolean {
  const value = source[OPERATOR.dryRun];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new InvalidEventError(`dryRun must be true or false (got ${JSON.stringify(value)}).`);
  }
  return value;
}

function modeOf(raw: string | undefined): Mode {
  if (raw === undefined) return 'planned';
  switch (raw.toLowerCase()) {
    case 'planned':
    case 'graceful':
      return 'planned';
    case 'unplanned':
    case 'ungraceful':
      return 'unplanned';
    default:
      throw new InvalidEventError(
        `mode must be planned or unplanned (Region switch: graceful or ungraceful) (got ${JSON.stringify(raw)}).`,
      );
  }
}

function otherRegion(regions: readonly string[], region: string): string {
  return regions.find((r) => r !== region)!;
}

function checkRegion(regions: readonly string[], field: string, region: string): void {
  if (!regions.includes(region)) {
    throw new InvalidEventError(`${field} ${region} is not one of the service's regions (${regions.join(', ')}).`);
  }
}

function fromRegionSwitch(source: Record<string, unknown>, regions: readonly string[]) {
  let activate = optionalString(source, 'activateRegion', 'activatingRegion');
  let deactivate = optionalString(source, 'deactivateRegion', 'deactivatingRegion');
  const action = optionalString(source, 'executionAction', 'action')?.toLowerCase();
  const targetRegion = optionalString(source, 'targetRegion');
  if (action !== undefined && action !== 'activate' && action !== 'deactivate') {
    throw new InvalidEventError(
      `action must be activate or deactivate (got ${JSON.stringify(action)}); post-recovery workflows are not handled.`,
    );
  }
  if (targetRegion !== undefined && action !== undefined) {
    const named = action === 'activate' ? activate : deactivate;
    if (named !== undefined && named !== targetRegion) {
      throw new InvalidEventError(`targetRegion ${targetRegion} contradicts the ${action} region ${named}.`);
    }
    if (action === 'activate') activate = targetRegion;
    else deactivate = targetRegion;
  }
  if (activate === undefined && deactivate === undefined) {
    throw new InvalidEventError(
      'a Region switch event must name the region to activate or deactivate (activateRegion, deactivateRegion, ' +
        'or targetRegion with action).',
    );
  }
  if (activate !== undefined) checkRegion(regions, 'activateRegion', activate);
  if (deactivate !== undefined) checkRegion(regions, 'deactivateRegion', deactivate);
  const target = activate ?? otherRegion(regions, deactivate!);
  const sourceRegion = deactivate ?? otherRegion(regions, target);
  return {
    targetRegion: target,
    sourceRegion,
    mode: modeOf(optionalString(source, 'executionMode', 'mode')),
    executionId: optionalString(source, 'executionId'),
    planArn: optionalString(source, 'planArn', 'plan'),
  };
}

function fromOperator(source: Record<string, unknown>, regions: readonly string[]) {
  const targetRegion = optionalString(source, OPERATOR.targetRegion);
  if (targetRegion === undefined) {
    throw new InvalidEventError(
      'expected Region switch fields (activateRegion, deactivateRegion, ...) or the operator shape ' +
        '{ "targetRegion": "<region>", "sourceRegion"?: "<region>", "mode"?: "planned" | "unplanned", "dryRun"?: true }.',
    );
  }
  checkRegion(regions, OPERATOR.targetRegion, targetRegion);
  const sourceRegion = optionalString(source, OPERATOR.sourceRegion) ?? otherRegion(regions, targetRegion);
  checkRegion(regions, OPERATOR.sourceRegion, sourceRegion);
  return { targetRegion, sourceRegion, mode: modeOf(optionalString(source, OPERATOR.mode)) };
}

/**
 * Reads either event shape. `regions` are the service's two regions;
 * `dryRunFromEnv` is the function's DRY_RUN setting.
 */
export function parseSwitchEvent(event: unknown, regions: readonly string[], dryRunFromEnv: boolean): SwitchRequest {
  if (!isObject(event)) {
    throw new InvalidEventError(`expected a JSON object (got ${event === null ? 'null' : typeof event}).`);
  }
  const source = isObject(event.detail) ? { ...event.detail, ...event } : event;
  const isRegionSwitch = REGION_SWITCH_KEYS.some((key) => source[key] !== undefined);
  const parsed = isRegionSwitch ? fromRegionSwitch(source, regions) : fromOperator(source, regions);
  if (parsed.targetRegion === parsed.sourceRegion) {
    throw new InvalidEventError(`target and source region are both ${parsed.targetRegion}; they must differ.`);
  }
  return {
    ...parsed,
    dryRun: dryRunFromEnv || dryRunOf(source),
    origin: isRegionSwitch ? 'region-switch' : 'operator',
    input: source,
  };
}

/**
 * Reads the event of a plan step: the function's copy in `functionRegion` runs only for the activation
 * of that region. A Region switch field naming another activating region, or an operator `targetRegion`
 * for another region, is refused as contradictory; an event with none of them (the payload is not
 * documented) is the activation of `functionRegion`, planned. An ungraceful mode in the event is read
 * as unplanned.
 */
export function parsePlanStepEvent(
  event: unknown,
  regions: readonly string[],
  dryRunFromEnv: boolean,
  functionRegion: string,
): SwitchRequest {
  if (!regions.includes(functionRegion)) {
    throw new InvalidEventError(
      `this plan step runs in ${functionRegion}, which is not one of the service's regions (${regions.join(', ')}).`,
    );
  }
  const source: Record<string, unknown> = isObject(event)
    ? isObject(event.detail)
      ? { ...event.detail, ...event }
      : event
    : {};
  const hasRegionSwitchFields = REGION_SWITCH_KEYS.some((key) => source[key] !== undefined);
  const named: { targetRegion: string; mode: Mode; executionId?: string; planArn?: string } | undefined =
    hasRegionSwitchFields
      ? fromRegionSwitch(source, regions)
      : source.targetRegion !== undefined
        ? fromOperator(source, regions)
        : undefined;
  if (named && named.targetRegion !== functionRegion) {
    throw new InvalidEventError(
      `the event activates ${named.targetRegion}, but this plan step's copy runs in ${functionRegion}; ` +
        `the plan's Lambda steps must run in the activating region (regionToRun ${PLAN_STEP_REGION_TO_RUN}).`,
    );
  }
  return {
    targetRegion: functionRegion,
    sourceRegion: otherRegion(regions, functionRegion),
    mode: named?.mode ?? 'planned',
    executionId: named?.executionId,
    planArn: named?.planArn,
    dryRun: dryRunFromEnv || dryRunOf(source),
    origin: 'region-switch',
    input: source,
  };
}
