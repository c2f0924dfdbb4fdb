import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EFSClient } from '@aws-sdk/client-efs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { AwsCredentials, CredentialProvider, FetchFn } from '../../cli/aws-signing';
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
  /** The X-Amz-Target operation (ARC) or the Action parameter (Query APIs). */
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

/** A fake fetch that records requests and answers through a handler. */
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
    const operation = target ? target.split('.').pop()! : (new URLSearchParams(body).get('Action') ?? '');
    const req = { url, headers, body, operation };
    requests.push(req);
    const answer = await handler(req);
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    return new Response(text, { status: answer.status ?? 200, headers: answer.headers });
  };
  return { fetch, requests };
}

/** Real SDK clients of a region (to be mocked with aws-sdk-client-mock). */
export function regionClients(region: string): RegionClients {
  const config = { region, credentials: CREDS };
  return {
    autoscaling: new AutoScalingClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    rds: new RDSClient(config),
    elasticache: new ElastiCacheClient(config),
    efs: new EFSClient(config),
    cloudwatch: new CloudWatchClient(config),
    lambda: new LambdaClient(config),
    cloudformation: new CloudFormationClient(config),
  };
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

/** A DescribeStacks answer as CloudFormation sends it. */
export function describeStacksXml(stackName: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(
      ([k, v]) =>
        `<member><Description>d</Description><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>${stackName}</StackName>
        <Parameters><member><ParameterKey>BootstrapVersion</ParameterKey><ParameterValue>x</ParameterValue></member></Parameters>
        <Outputs>${members}</Outputs>
        <Tags><member><Key>Project</Key><Value>ha-web-service</Value></member></Tags>
        <StackStatus>UPDATE_COMPLETE</StackStatus>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</DescribeStacksResponse>`;
}

/** A Query API error answer. */
export function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
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
