import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { FetchFn } from '../../cli/aws-signing';
import { sdkClients } from '../../cli/clients';
import { AwsCredentials, CredentialProvider } from '../../cli/credentials';
import { CliDeps } from '../../cli/main';
import { RegionClients } from '../../cli/status';
import { EnvironmentConfig } from '../../lib/config';
import { staging } from '../../lib/config/environments';

/** Static test credentials. */
export const CREDS: AwsCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' };

/** A provider that always has {@link CREDS}. */
export const withCredentials: CredentialProvider = async () => CREDS;

/** A provider that fails as the default chain does when no source has credentials. */
export const noCredentials: CredentialProvider = async () => {
  const err = new Error('Could not load credentials from any providers');
  err.name = 'CredentialsProviderError';
  throw err;
};

/** One request seen by a {@link FakeFetch}. */
export interface SeenRequest {
  /** URL. */
  readonly url: string;
  /** Headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** Body text. */
  readonly body: string;
  /** The operation of the X-Amz-Target header, for example `GetPlanExecution`. */
  readonly operation: string;
}

/** An answer of a fake endpoint. */
export interface FakeAnswer {
  /** HTTP status. @default 200 */
  readonly status?: number;
  /** Body: objects are JSON-encoded. */
  readonly body?: unknown;
  /** Extra headers. */
  readonly headers?: Record<string, string>;
}

/** A fake fetch (of the Region switch calls) that records requests and answers through a handler. */
export interface FakeFetch {
  /** The fetch to hand in. */
  readonly fetch: FetchFn;
  /** Requests seen so far. */
  readonly requests: SeenRequest[];
}

/** Builds a fake fetch; `handler` returns the answer (or throws to simulate a network error). */
export function fakeFetch(handler: (req: SeenRequest) => FakeAnswer | Promise<FakeAnswer>): FakeFetch {
  const requests: SeenRequest[] = [];
  const fetch: FetchFn = async (url, init) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers as Record<string, string>)) headers[k.toLowerCase()] = v;
    const body = String(init.body ?? '');
    const target = headers['x-amz-target'];
    const operation = target ? target.split('.').pop()! : '';
    const req = { url, headers, body, operation };
    requests.push(req);
    const answer = await handler(req);
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    return new Response(text, { status: answer.status ?? 200, headers: answer.headers });
  };
  return { fetch, requests };
}

/**
 * New SDK clients of a region, made as the CLI makes them (`sdkClients`), to be mocked with aws-sdk-client-mock.
 * Each call makes a new set, so that one test's mocks never answer another's.
 */
export function regionClients(region: string): RegionClients {
  return sdkClients({ credentials: withCredentials })(region);
}

/** CloudFormation's answer for a stack that does not exist: a `ValidationError`, for which the SDK has no class. */
export function stackDoesNotExist(stackName: string): CloudFormationServiceException {
  return new CloudFormationServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `Stack with id ${stackName} does not exist`,
  });
}

/** A DescribeStacks answer: the stack with these outputs. */
export function describeStacksAnswer(
  stackName: string,
  outputs: Record<string, string>,
  status = 'UPDATE_COMPLETE',
): DescribeStacksCommandOutput {
  return {
    $metadata: {},
    Stacks: [
      {
        StackName: stackName,
        CreationTime: new Date('2025-01-01T00:00:00Z'),
        StackStatus: status as 'UPDATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}

/**
 * Mocks a CloudFormation client's DescribeStacks: a stack has the outputs `outputsOf` gives it, and does not exist
 * (as CloudFormation answers) when it gives undefined. Mocking the same client again replaces its answers.
 */
export function mockStacks(
  cloudformation: CloudFormationClient,
  outputsOf: (stackName: string) => Record<string, string> | undefined,
): AwsClientStub<CloudFormationClient> {
  const cfn = mockClient(cloudformation);
  cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    const outputs = outputsOf(input.StackName);
    if (!outputs) throw stackDoesNotExist(input.StackName);
    return describeStacksAnswer(input.StackName, outputs);
  });
  return cfn;
}

/** The stacks DescribeStacks was asked for through these mocks, in call order. */
export function stacksDescribed(...mocks: readonly AwsClientStub<CloudFormationClient>[]): string[] {
  return mocks.flatMap((m) => m.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName!));
}

/** A fake clock whose sleep advances time instantly. */
export function fakeClock(startIso = '2025-06-01T12:00:00Z'): {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  sleeps: number[];
} {
  let t = new Date(startIso).getTime();
  const sleeps: number[] = [];
  return {
    now: () => new Date(t),
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

/** CLI dependencies with captured output; override what a test needs. */
export function cliDeps(overrides: Partial<CliDeps> = {}): CliDeps & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const clock = fakeClock();
  const unusedFetch: FetchFn = async () => {
    throw new Error('unexpected fetch');
  };
  return {
    credentials: withCredentials,
    fetch: unusedFetch,
    clients: () => {
      throw new Error('unexpected SDK client');
    },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    now: clock.now,
    sleep: clock.sleep,
    ...overrides,
    out,
    err,
  };
}

/**
 * `staging` with its `catalog` service alone: two regions, one service that uses only the database, so no session
 * cache (no Global Datastore, no cache-failover function) and no shared files (no Storage stacks, no
 * efs-replication function). The Route 53 check requests the catalog's readiness path, since no service serves
 * `/health/ready` any more.
 */
export const catalogOnly: EnvironmentConfig = {
  ...staging,
  dns: { ...staging.dns, healthCheckPath: '/api/catalog/health/ready' },
  services: staging.services.filter((s) => s.name === 'catalog'),
};

/** {@link catalogOnly} with a catalog that uses no data component: no Data or Storage stacks, no rejoin function. */
export const stateless: EnvironmentConfig = {
  ...catalogOnly,
  services: catalogOnly.services.map((s) => ({ ...s, uses: [], readiness: { path: s.readiness!.path } })),
};
