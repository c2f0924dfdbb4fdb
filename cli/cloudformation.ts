/**
 * The CLI's CloudFormation reads, through `@aws-sdk/client-cloudformation` (a region's client is
 * `RegionClients.cloudformation`, made by `clients.ts`, which sets its retries and timeouts): a stack's status and
 * outputs (`DescribeStacks`) and its deployed template (`GetTemplate`). Neither pages: `DescribeStacks` of a named
 * stack answers with that stack alone.
 */
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { CfnTemplate } from '../lib/template-diff';

/** The outputs and status of a deployed stack. */
export interface StackOutputs {
  /** Stack name. */
  readonly stackName: string;
  /** Stack status, for example `UPDATE_COMPLETE`. */
  readonly status: string;
  /** Output values by output key. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** A deployed stack: its status, outputs and template. */
export interface DeployedStack extends StackOutputs {
  /** Its template as deployed (`GetTemplate`, stage Original). */
  readonly template: CfnTemplate;
}

/** Thrown when the stack does not exist in the region. */
export class StackNotFoundError extends Error {
  constructor(stackName: string, region: string) {
    super(`stack ${stackName} does not exist in ${region}; run \`cdk deploy\` for this environment first`);
    this.name = 'StackNotFoundError';
  }
}

/** Thrown when CloudFormation answers `DescribeStacks` with an error (the SDK's exception is the `cause`). */
export class CloudFormationError extends Error {
  /** Error code, for example `AccessDenied` or `Throttling`. */
  public readonly code: string;

  constructor(code: string, message: string, options?: { readonly cause?: unknown }) {
    super(`DescribeStacks failed: ${code}: ${message}`, options);
    this.name = 'CloudFormationError';
    this.code = code;
  }
}

/**
 * Whether CloudFormation said the stack does not exist. The SDK has no exception class for it: it is a
 * {@link CloudFormationServiceException} named `ValidationError` whose message says so.
 */
export function isStackMissing(err: unknown): boolean {
  return (
    err instanceof CloudFormationServiceException &&
    err.name === 'ValidationError' &&
    /does not exist/.test(err.message)
  );
}

/**
 * The status and outputs of a stack (`DescribeStacks`), or undefined when the stack does not exist.
 * @throws the SDK's error for anything else (an unreachable region, missing permissions, throttling after the
 * client's retries).
 */
export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<StackOutputs | undefined> {
  let stack;
  try {
    stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (err) {
    if (isStackMissing(err)) return undefined;
    throw err;
  }
  if (!stack) return undefined;
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) if (o.OutputKey) outputs[o.OutputKey] = o.OutputValue ?? '';
  return { stackName: stack.StackName ?? stackName, status: stack.StackStatus ?? 'UNKNOWN', outputs };
}

/**
 * The status and outputs of a stack that must exist (`status`, `rejoin`).
 * @throws StackNotFoundError when it does not exist in `region`, naming it and the fix.
 * @throws CloudFormationError for CloudFormation's other errors; errors that are not CloudFormation's (the network)
 * pass through.
 */
export async function describeStackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<StackOutputs> {
  let stack: StackOutputs | undefined;
  try {
    stack = await describeStack(cfn, stackName);
  } catch (err) {
    if (err instanceof CloudFormationServiceException) {
      throw new CloudFormationError(err.name, err.message, { cause: err });
    }
    throw err;
  }
  if (!stack) throw new StackNotFoundError(stackName, region);
  return stack;
}

/**
 * A deployed stack: status, outputs and template, or undefined when the stack does not exist.
 * @throws the SDK's error for anything else (an unreachable region, missing permissions).
 */
export async function deployedStack(cfn: CloudFormationClient, stackName: string): Promise<DeployedStack | undefined> {
  const described = await describeStack(cfn, stackName);
  if (!described) return undefined;
  try {
    const out = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }));
    return { ...described, template: JSON.parse(out.TemplateBody ?? '{}') as CfnTemplate };
  } catch (err) {
    if (isStackMissing(err)) return undefined;
    throw err;
  }
}

/** Returns the named output, or throws an error that names the stack, the output and the fix. */
export function requireOutput(stack: StackOutputs, key: string, region: string): string {
  const value = stack.outputs[key];
  if (!value) {
    throw new Error(
      `stack ${stack.stackName} in ${region} has no output ${key}; run \`cdk deploy\` for this environment first`,
    );
  }
  return value;
}
