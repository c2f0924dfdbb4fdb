import { InvokeCommand } from '@aws-sdk/client-lambda';
import {
  COMPONENTS,
  CONFIG_COMPONENT,
  OPERATIONS_OUTPUTS,
  stackName,
  type Component,
  type RejoinEvent,
  type SwitchResult,
} from '../contract';
import { EnvironmentConfig, hasDataComponent } from '../lib/config';
import { describeStackOutputs } from './cloudformation';
import { COMPONENT_TEXT, componentList, presentComponents } from './components';
import { UsageError } from './exit';
import { RegionClients } from './status';

/** What `rejoin` can bring back, in order: the data components as the rejoin function names them (the contract's). */
export type RejoinComponent = Component;

/** The rejoin components `config` has (its rejoin function accepts only these), in order. */
export function rejoinComponents(config: EnvironmentConfig): RejoinComponent[] {
  return COMPONENTS.filter((c) => hasDataComponent(config, CONFIG_COMPONENT[c]));
}

/** A checked `rejoin` request. */
export interface RejoinPlan {
  /** The active region: the rejoin function runs there. */
  readonly activeRegion: string;
  /** The region that rejoins as secondary. */
  readonly rejoiningRegion: string;
  /** Stack that outputs the function's name. */
  readonly stackName: string;
  /** The components the environment does not have (never sent, nothing to rejoin). */
  readonly notInEnvironment: readonly RejoinComponent[];
  /** Event for the function. */
  readonly payload: Required<Pick<RejoinEvent, 'targetRegion' | 'components' | 'allowOverwriteDestination' | 'dryRun'>>;
}

/** Output key of the rejoin function's name in the operations stacks. */
export const REJOIN_OUTPUT = OPERATIONS_OUTPUTS.functionName('rejoin');

/**
 * Checks `--to`, `--only` and `--allow-overwrite` against the environment. Only the components the environment
 * has can rejoin (the others do not exist, and the function refuses them): the default is all of those, and
 * `--only` naming another, or `--allow-overwrite` without shared files, is a usage error that says what the
 * environment has. An environment with no data component has no rejoin function: nothing to rejoin.
 */
export function planRejoin(
  config: EnvironmentConfig,
  options: { to?: string; only?: string; allowOverwrite: boolean; dryRun: boolean },
): RejoinPlan {
  const regions = [config.primary.region, config.secondary.region];
  if (!options.to) {
    throw new UsageError(`rejoin needs --to <active region>: one of ${regions.join(', ')}.`);
  }
  if (!regions.includes(options.to)) {
    throw new UsageError(`--to ${options.to} is not a region of ${config.name}; use one of ${regions.join(', ')}.`);
  }
  const present = rejoinComponents(config);
  const has = `environment ${config.name} has ${componentList(presentComponents(config), 'no data component')}`;
  if (present.length === 0) {
    throw new UsageError(
      `${has} (no service uses a database, session cache or shared files), so it has no rejoin function and ` +
        'nothing to rejoin.',
    );
  }
  let components: RejoinComponent[] = present;
  if (options.only !== undefined) {
    const named = options.only.split(',').map((c) => c.trim());
    const unknown = named.filter((c) => !(COMPONENTS as readonly string[]).includes(c));
    if (named.length === 0 || unknown.length > 0 || named.some((c) => c === '')) {
      throw new UsageError(`--only takes a comma-separated list of ${present.join(', ')} (got "${options.only}").`);
    }
    const absent = COMPONENTS.filter((c) => named.includes(c) && !present.includes(c));
    if (absent.length > 0) {
      throw new UsageError(
        `--only names ${absent.map((c) => `${c} (${COMPONENT_TEXT[CONFIG_COMPONENT[c]]})`).join(', ')}: not in ` +
          `this environment (${has}); use a subset of ${present.join(', ')}.`,
      );
    }
    components = COMPONENTS.filter((c) => named.includes(c));
  }
  if (options.allowOverwrite && !present.includes('files')) {
    throw new UsageError(
      `--allow-overwrite concerns the shared files' replication, which is not in this environment (${has}).`,
    );
  }
  return {
    activeRegion: options.to,
    rejoiningRegion: regions.find((r) => r !== options.to)!,
    stackName: stackName(config.name, 'Operations', options.to),
    notInEnvironment: COMPONENTS.filter((c) => !present.includes(c)),
    payload: {
      targetRegion: options.to,
      components,
      allowOverwriteDestination: options.allowOverwrite,
      dryRun: options.dryRun,
    },
  };
}

/** What the rejoin function returned. */
export interface RejoinOutcome {
  /** Whether the function succeeded. */
  readonly ok: boolean;
  /** The function's result (success), as far as it has one. */
  readonly result?: Partial<SwitchResult>;
  /** The error message (REFUSED: ..., INCOMPLETE: ..., or another failure). */
  readonly error?: string;
}

/** Thrown when the function cannot be found or invoked. */
export class RejoinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejoinError';
  }
}

/**
 * Invokes the rejoin function of the active region synchronously and reads its answer.
 * @param clients the active region's clients: CloudFormation names the function (stack output), Lambda invokes it.
 * @throws StackNotFoundError when the active region's operations stack does not exist.
 */
export async function invokeRejoin(
  plan: RejoinPlan,
  clients: Pick<RegionClients, 'cloudformation' | 'lambda'>,
): Promise<RejoinOutcome> {
  const stack = await describeStackOutputs(clients.cloudformation, plan.stackName, plan.activeRegion);
  const functionName = stack.outputs[REJOIN_OUTPUT];
  if (!functionName) {
    throw new RejoinError(
      `stack ${plan.stackName} has no output ${REJOIN_OUTPUT}; deploy this version of the app first (cdk deploy).`,
    );
  }
  const out = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(plan.payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (out.FunctionError) {
    const message =
      typeof body === 'object' && body !== null && 'errorMessage' in body
        ? String((body as { errorMessage: unknown }).errorMessage)
        : `${out.FunctionError}: ${text}`;
    return { ok: false, error: message };
  }
  return { ok: true, result: (body ?? {}) as RejoinOutcome['result'] };
}

/** A text report of an outcome. */
export function renderRejoin(plan: RejoinPlan, outcome: RejoinOutcome): string {
  const lines = [
    `Rejoin ${plan.rejoiningRegion} as secondary of ${plan.activeRegion} (${plan.payload.components.join(', ')})` +
      (plan.payload.dryRun ? ', dry run' : ''),
  ];
  if (plan.notInEnvironment.length > 0) {
    lines.push(`  not in this environment: ${plan.notInEnvironment.join(', ')}`);
  }
  if (!outcome.ok) {
    lines.push(`  failed: ${outcome.error}`);
    return lines.join('\n');
  }
  for (const [name, check] of Object.entries(outcome.result?.checks ?? {})) {
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'} ${name}: ${check.detail}`);
  }
  for (const action of outcome.result?.actions ?? []) lines.push(`  - ${action}`);
  lines.push(outcome.result?.changed ? '  Changed: yes.' : '  Changed: nothing.');
  return lines.join('\n');
}
