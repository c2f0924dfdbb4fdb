import { FetchFn, signedPost } from './aws-signing';
import { CredentialProvider } from './credentials';

/**
 * A minimal client for the ARC Region switch API (`arc-region-switch`,
 * version 2022-07-26), written by hand because that API has no SDK client on
 * this project's registry (no `@aws-sdk/client-arc-region-switch`): it is the
 * one API the CLI signs itself (`aws-signing.ts`). Replace it with the SDK's
 * client once the registry has one, as CloudFormation was (`cloudformation.ts`).
 *
 * Protocol, from the service's Smithy model (aws-sdk-js-v3
 * `codegen/sdk-codegen/aws-models/arc-region-switch.json`):
 * - `aws.protocols#awsJson1_0`: `POST /`, `Content-Type: application/x-amz-json-1.0`,
 *   `X-Amz-Target: ArcRegionSwitch.<Operation>`, JSON body with the
 *   lower-camel-case members of the operation's input; timestamps come back
 *   as epoch seconds.
 * - SigV4 with signing name `arc-region-switch`.
 * - Data-plane operations (StartPlanExecution, GetPlanExecution,
 *   ListPlanExecutionEvents, ListPlansInRegion, ...) go to the regional,
 *   dual-stack endpoint `https://arc-region-switch.<region>.api.aws`, signed
 *   for that region. Control-plane operations (ListPlans, GetPlan, CreatePlan)
 *   go to `arc-region-switch-control-plane.us-east-1.api.aws`; this client
 *   uses only the data plane, so it keeps working while one region is down.
 */

/** Target prefix of the `X-Amz-Target` header (the Smithy service shape's name). */
export const ARC_TARGET_PREFIX = 'ArcRegionSwitch';
/** SigV4 signing name. */
export const ARC_SIGNING_NAME = 'arc-region-switch';
/** Content type of the awsJson1_0 protocol. */
export const ARC_CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Host name of the Region switch data plane in `region` (aws partition). */
export function arcDataPlaneHostname(region: string): string {
  return `arc-region-switch.${region}.api.aws`;
}

/** `activate` shifts traffic to the target region; `deactivate` away from it. */
export type ExecutionAction = 'activate' | 'deactivate';
/** `graceful` for a planned switch; `ungraceful` when the other region is impaired. */
export type ExecutionMode = 'graceful' | 'ungraceful';
/** State of a plan execution. */
export type ExecutionState =
  | 'inProgress'
  | 'pausedByFailedStep'
  | 'pausedByOperator'
  | 'completed'
  | 'completedWithExceptions'
  | 'canceled'
  | 'planExecutionTimedOut'
  | 'pendingManualApproval'
  | 'failed'
  | 'pending'
  | 'completedMonitoringApplicationHealth';
/** Status of one step of an execution. */
export type StepStatus = 'notStarted' | 'running' | 'failed' | 'completed' | 'canceled' | 'skipped' | 'pendingApproval';

/** A plan as listed by ListPlansInRegion (`AbbreviatedPlan`). */
export interface PlanSummary {
  /** Plan ARN, `arn:aws:arc-region-switch::<account>:plan/<name>:<suffix>`. */
  readonly arn: string;
  /** Plan name. */
  readonly name: string;
  /** Account that owns the plan. */
  readonly owner: string;
  /** The plan's two regions. */
  readonly regions: readonly string[];
  /** `activePassive` or `activeActive`. */
  readonly recoveryApproach: string;
  /** The plan's primary region (active/passive plans). */
  readonly primaryRegion?: string;
  /** ID of the execution running now, if any. */
  readonly activePlanExecution?: string;
}

/** Input of ListPlansInRegion. */
export interface ListPlansInRegionInput {
  /** Page size, 1 to 100. */
  readonly maxResults?: number;
  /** Token of the next page. */
  readonly nextToken?: string;
}

/** Output of ListPlansInRegion. */
export interface ListPlansInRegionOutput {
  /** The plans on this page. */
  readonly plans?: readonly PlanSummary[];
  /** Token of the next page. */
  readonly nextToken?: string;
}

/** Input of StartPlanExecution. */
export interface StartPlanExecutionInput {
  /** ARN of the plan. */
  readonly planArn: string;
  /** Region to shift traffic to (activate) or away from (deactivate). */
  readonly targetRegion: string;
  /** What to do with the target region. */
  readonly action: ExecutionAction;
  /** Graceful (default) or ungraceful. */
  readonly mode?: ExecutionMode;
  /** Why the execution was started (up to 1024 characters). */
  readonly comment?: string;
}

/** Output of StartPlanExecution. */
export interface StartPlanExecutionOutput {
  /** ID of the new execution. */
  readonly executionId?: string;
  /** ARN of the plan. */
  readonly plan?: string;
  /** Version of the plan executed. */
  readonly planVersion?: string;
  /** Region being activated. */
  readonly activateRegion?: string;
  /** Region being deactivated. */
  readonly deactivateRegion?: string;
}

/** Input of GetPlanExecution. */
export interface GetPlanExecutionInput {
  /** ARN of the plan. */
  readonly planArn: string;
  /** ID of the execution. */
  readonly executionId: string;
  /** Step states per page, 1 to 100. */
  readonly maxResults?: number;
  /** Token of the next page of step states. */
  readonly nextToken?: string;
}

/** State of one step (`StepState`). */
export interface StepState {
  /** Step name. */
  readonly name?: string;
  /** Step status. */
  readonly status?: StepStatus;
  /** Start, epoch seconds. */
  readonly startTime?: number;
  /** End, epoch seconds. */
  readonly endTime?: number;
  /** Mode the step ran in. */
  readonly stepMode?: ExecutionMode;
}

/** Output of GetPlanExecution (the members this CLI reads). */
export interface GetPlanExecutionOutput {
  /** ARN of the plan. */
  readonly planArn: string;
  /** ID of the execution. */
  readonly executionId: string;
  /** Mode of the execution. */
  readonly mode: ExecutionMode;
  /** State of the execution. */
  readonly executionState: ExecutionState;
  /** Action of the execution. */
  readonly executionAction: ExecutionAction;
  /** Target region of the execution. */
  readonly executionRegion: string;
  /** Start, epoch seconds. */
  readonly startTime?: number;
  /** End, epoch seconds. */
  readonly endTime?: number;
  /** Step states on this page. */
  readonly stepStates?: readonly StepState[];
  /** Token of the next page of step states. */
  readonly nextToken?: string;
}

/** Input of ListPlanExecutionEvents. */
export interface ListPlanExecutionEventsInput {
  /** ARN of the plan. */
  readonly planArn: string;
  /** ID of the execution. */
  readonly executionId: string;
  /** Page size, 1 to 100. */
  readonly maxResults?: number;
  /** Token of the next page. */
  readonly nextToken?: string;
}

/** One event of an execution (`ExecutionEvent`). */
export interface ExecutionEvent {
  /** Event ID. */
  readonly eventId: string;
  /** Event type, for example `stepFailed`. */
  readonly type?: string;
  /** Step the event is about. */
  readonly stepName?: string;
  /** Error text of a failure event. */
  readonly error?: string;
  /** Description of the event. */
  readonly description?: string;
  /** When, epoch seconds. */
  readonly timestamp?: number;
}

/** Output of ListPlanExecutionEvents. */
export interface ListPlanExecutionEventsOutput {
  /** Events on this page. */
  readonly items?: readonly ExecutionEvent[];
  /** Token of the next page. */
  readonly nextToken?: string;
}

/** Input of ListPlanExecutions. */
export interface ListPlanExecutionsInput {
  /** ARN of the plan. */
  readonly planArn: string;
  /** Page size, 1 to 100. */
  readonly maxResults?: number;
  /** Token of the next page. */
  readonly nextToken?: string;
  /** Only executions in this state. */
  readonly state?: ExecutionState;
}

/** One execution as ListPlanExecutions lists it (`AbbreviatedExecution`). */
export interface ExecutionSummary {
  /** ID of the execution. */
  readonly executionId: string;
  /** ARN of the plan. */
  readonly planArn?: string;
  /** State, for example `completed`. */
  readonly executionState?: ExecutionState;
  /** `activate` or `deactivate`. */
  readonly executionAction?: ExecutionAction;
  /** The region activated or deactivated. */
  readonly executionRegion?: string;
  /** `graceful` or `ungraceful`. */
  readonly mode?: ExecutionMode;
  /** When it started, epoch seconds. */
  readonly startTime?: number;
  /** When it ended, epoch seconds. */
  readonly endTime?: number;
}

/** Output of ListPlanExecutions. */
export interface ListPlanExecutionsOutput {
  /** Executions on this page (current and past). */
  readonly items?: readonly ExecutionSummary[];
  /** Token of the next page. */
  readonly nextToken?: string;
}

/** An error answer of the Region switch API. */
export class ArcRegionSwitchError extends Error {
  /** Error code, for example `ResourceNotFoundException`. */
  public readonly code: string;
  /** HTTP status. */
  public readonly status: number;
  /** The operation that failed. */
  public readonly operation: string;

  constructor(operation: string, code: string, status: number, message: string) {
    super(`${operation} failed: ${code}: ${message}`);
    this.name = 'ArcRegionSwitchError';
    this.code = code;
    this.status = status;
    this.operation = operation;
  }
}

/** Properties of an {@link ArcRegionSwitchClient}. */
export interface ArcRegionSwitchClientProps {
  /** Where the credentials come from. */
  readonly credentials: CredentialProvider;
  /**
   * The HTTP client.
   * @default - the global fetch
   */
  readonly fetch?: FetchFn;
  /**
   * Milliseconds before a request is abandoned.
   * @default 15000
   */
  readonly timeoutMs?: number;
}

/** The Region switch operations this CLI uses; tests may hand in a fake. */
export interface ArcRegionSwitchApi {
  /** Lists the plans visible in `region` (data plane). */
  listPlansInRegion(region: string, input: ListPlansInRegionInput): Promise<ListPlansInRegionOutput>;
  /** Starts an execution through `region`'s data plane. */
  startPlanExecution(region: string, input: StartPlanExecutionInput): Promise<StartPlanExecutionOutput>;
  /** Reads an execution and its step states. */
  getPlanExecution(region: string, input: GetPlanExecutionInput): Promise<GetPlanExecutionOutput>;
  /** Lists an execution's events. */
  listPlanExecutionEvents(region: string, input: ListPlanExecutionEventsInput): Promise<ListPlanExecutionEventsOutput>;
  /** Lists a plan's executions, current and past (check-deploy reads the last one). */
  listPlanExecutions(region: string, input: ListPlanExecutionsInput): Promise<ListPlanExecutionsOutput>;
}

/** Signed awsJson1_0 calls to the Region switch data plane. */
export class ArcRegionSwitchClient implements ArcRegionSwitchApi {
  private readonly props: ArcRegionSwitchClientProps;

  constructor(props: ArcRegionSwitchClientProps) {
    this.props = props;
  }

  public listPlansInRegion(region: string, input: ListPlansInRegionInput): Promise<ListPlansInRegionOutput> {
    return this.call(region, 'ListPlansInRegion', input);
  }

  public startPlanExecution(region: string, input: StartPlanExecutionInput): Promise<StartPlanExecutionOutput> {
    return this.call(region, 'StartPlanExecution', input);
  }

  public getPlanExecution(region: string, input: GetPlanExecutionInput): Promise<GetPlanExecutionOutput> {
    return this.call(region, 'GetPlanExecution', input);
  }

  public listPlanExecutionEvents(
    region: string,
    input: ListPlanExecutionEventsInput,
  ): Promise<ListPlanExecutionEventsOutput> {
    return this.call(region, 'ListPlanExecutionEvents', input);
  }

  public listPlanExecutions(region: string, input: ListPlanExecutionsInput): Promise<ListPlanExecutionsOutput> {
    return this.call(region, 'ListPlanExecutions', input);
  }

  private async call<T>(region: string, operation: string, input: object): Promise<T> {
    const result = await signedPost({
      hostname: arcDataPlaneHostname(region),
      signingRegion: region,
      signingName: ARC_SIGNING_NAME,
      headers: { 'content-type': ARC_CONTENT_TYPE, 'x-amz-target': `${ARC_TARGET_PREFIX}.${operation}` },
      body: JSON.stringify(input),
      credentials: this.props.credentials,
      fetch: this.props.fetch ?? fetch,
      timeoutMs: this.props.timeoutMs,
    });
    const parsed = parseJson(result.body);
    if (result.status >= 300) {
      throw toArcError(operation, result.status, result.headers.get('x-amzn-errortype'), parsed, result.body);
    }
    return (parsed ?? {}) as T;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the error of an awsJson1_0 error answer: the code comes from the
 * `X-Amzn-ErrorType` header or the body's `__type` (or `code`), with any
 * `namespace#` prefix and `:suffix` removed; the message from `message`.
 */
export function toArcError(
  operation: string,
  status: number,
  errorTypeHeader: string | null,
  body: Record<string, unknown> | undefined,
  rawBody: string,
): ArcRegionSwitchError {
  const rawCode = errorTypeHeader ?? str(body?.__type) ?? str(body?.code) ?? `HTTP${status}`;
  const code = rawCode.split(':')[0].split('#').pop() || `HTTP${status}`;
  const message = str(body?.message) ?? str(body?.Message) ?? (rawBody.trim().slice(0, 200) || `HTTP ${status}`);
  return new ArcRegionSwitchError(operation, code, status, message);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
