import { CredentialProvider, FetchFn, signedPost } from './aws-signing';
import { XmlElement, childPath, childText, parseXml } from './xml';

/**
 * CloudFormation DescribeStacks over the Query protocol (version 2010-05-15):
 * a SigV4-signed, form-encoded `POST /` to `cloudformation.<region>.amazonaws.com`
 * that answers in XML. Written by hand because `@aws-sdk/client-cloudformation`
 * is not a dependency of this project.
 */

/** The outputs and status of a deployed stack. */
export interface StackOutputs {
  /** Stack name. */
  readonly stackName: string;
  /** Stack status, for example `UPDATE_COMPLETE`. */
  readonly status: string;
  /** Output values by output key. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** Thrown when the stack does not exist in the region. */
export class StackNotFoundError extends Error {
  constructor(stackName: string, region: string) {
    super(`stack ${stackName} does not exist in ${region}; run \`cdk deploy\` for this environment first`);
    this.name = 'StackNotFoundError';
  }
}

/** Thrown when CloudFormation answers with an error. */
export class CloudFormationError extends Error {
  /** Error code, for example `ValidationError` or `AccessDenied`. */
  public readonly code: string;

  constructor(code: string, message: string) {
    super(`DescribeStacks failed: ${code}: ${message}`);
    this.name = 'CloudFormationError';
    this.code = code;
  }
}

/** How to reach CloudFormation. */
export interface DescribeStackDeps {
  /** Where the credentials come from. */
  readonly credentials: CredentialProvider;
  /** The HTTP client. */
  readonly fetch: FetchFn;
}

/** Reads one stack's status and outputs. */
export async function describeStackOutputs(
  stackName: string,
  region: string,
  deps: DescribeStackDeps,
): Promise<StackOutputs> {
  const body = new URLSearchParams({ Action: 'DescribeStacks', Version: '2010-05-15', StackName: stackName });
  const result = await signedPost({
    hostname: `cloudformation.${region}.amazonaws.com`,
    signingRegion: region,
    signingName: 'cloudformation',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: body.toString(),
    credentials: deps.credentials,
    fetch: deps.fetch,
  });
  const doc = parseXml(result.body);
  if (result.status >= 300) {
    const error = childPath(doc, 'ErrorResponse', 'Error');
    const code = childText(error, 'Code') ?? `HTTP${result.status}`;
    const message = childText(error, 'Message') ?? (result.body.slice(0, 200) || `HTTP ${result.status}`);
    if (code === 'ValidationError' && /does not exist/.test(message)) throw new StackNotFoundError(stackName, region);
    throw new CloudFormationError(code, message);
  }
  return parseDescribeStacks(doc, stackName, region);
}

/** Extracts the first stack of a DescribeStacks XML answer. */
export function parseDescribeStacks(doc: XmlElement, stackName: string, region: string): StackOutputs {
  const stack = childPath(doc, 'DescribeStacksResponse', 'DescribeStacksResult', 'Stacks', 'member');
  if (!stack) throw new StackNotFoundError(stackName, region);
  const outputs: Record<string, string> = {};
  for (const member of childPath(stack, 'Outputs')?.children ?? []) {
    const key = childText(member, 'OutputKey');
    if (key) outputs[key] = childText(member, 'OutputValue') ?? '';
  }
  return {
    stackName: childText(stack, 'StackName') ?? stackName,
    status: childText(stack, 'StackStatus') ?? '',
    outputs,
  };
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
