import {
  CloudFormationServiceException,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { HttpRequest, HttpResponse } from '@smithy/protocol-http';
import { mockClient } from 'aws-sdk-client-mock';
import { MAX_ATTEMPTS, sdkClients } from '../../cli/clients';
import {
  CloudFormationError,
  StackNotFoundError,
  deployedStack,
  describeStack,
  describeStackOutputs,
  requireOutput,
} from '../../cli/cloudformation';
import { describeStacksAnswer, regionClients, stackDoesNotExist, withCredentials } from './fakes';

const APP = 'HaWeb-demo-App-us-east-1';

afterEach(() => jest.restoreAllMocks());

describe('describeStackOutputs', () => {
  test("returns the stack's status and outputs (DescribeStacks of the named stack)", async () => {
    const client = regionClients('us-east-1').cloudformation;
    const cfn = mockClient(client);
    cfn.on(DescribeStacksCommand).resolves(describeStacksAnswer(APP, { HealthCheckId: 'hc-1' }));

    const stack = await describeStackOutputs(client, APP, 'us-east-1');

    expect(stack).toEqual({ stackName: APP, status: 'UPDATE_COMPLETE', outputs: { HealthCheckId: 'hc-1' } });
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: APP }]);
  });

  test("a stack that does not exist (CloudFormation's ValidationError) says to deploy first", async () => {
    const client = regionClients('us-west-2').cloudformation;
    mockClient(client).on(DescribeStacksCommand).rejects(stackDoesNotExist('HaWeb-demo-App-us-west-2'));

    const err = await describeStackOutputs(client, 'HaWeb-demo-App-us-west-2', 'us-west-2').catch((e) => e);

    expect(err).toBeInstanceOf(StackNotFoundError);
    expect(err.message).toBe(
      'stack HaWeb-demo-App-us-west-2 does not exist in us-west-2; run `cdk deploy` for this environment first',
    );
  });

  test('an answer without the stack is a stack that does not exist', async () => {
    const client = regionClients('us-east-1').cloudformation;
    mockClient(client).on(DescribeStacksCommand).resolves({ Stacks: [] });

    await expect(describeStackOutputs(client, APP, 'us-east-1')).rejects.toThrow(StackNotFoundError);
  });

  test("CloudFormation's other errors keep their code and message", async () => {
    const client = regionClients('us-east-1').cloudformation;
    const denied = new CloudFormationServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'not authorized & denied',
    });
    mockClient(client).on(DescribeStacksCommand).rejects(denied);

    const err = await describeStackOutputs(client, 'S', 'us-east-1').catch((e) => e);

    expect(err).toBeInstanceOf(CloudFormationError);
    expect(err.message).toBe('DescribeStacks failed: AccessDenied: not authorized & denied');
    expect(err.code).toBe('AccessDenied');
    expect(err.cause).toBe(denied);
  });

  test('a ValidationError about something else is not a missing stack', async () => {
    const client = regionClients('us-east-1').cloudformation;
    const invalid = new CloudFormationServiceException({
      name: 'ValidationError',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: "1 validation error detected: Value 'a b' at 'stackName' failed to satisfy constraint",
    });
    mockClient(client).on(DescribeStacksCommand).rejects(invalid);

    const err = await describeStackOutputs(client, 'a b', 'us-east-1').catch((e) => e);

    expect(err).toBeInstanceOf(CloudFormationError);
    expect(err.message).toMatch(/^DescribeStacks failed: ValidationError: 1 validation error detected/);
  });

  test("errors that are not CloudFormation's (an unreachable region) pass through as they are", async () => {
    const client = regionClients('us-west-2').cloudformation;
    const down = Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
    mockClient(client).on(DescribeStacksCommand).rejects(down);

    await expect(describeStackOutputs(client, APP, 'us-west-2')).rejects.toBe(down);
  });

  test('requireOutput names the stack, the output and the fix', () => {
    const stack = { stackName: 'HaWeb-demo-Storage-us-east-1', status: 'CREATE_COMPLETE', outputs: {} };
    expect(() => requireOutput(stack, 'FileSystemId', 'us-east-1')).toThrow(
      'stack HaWeb-demo-Storage-us-east-1 in us-east-1 has no output FileSystemId; run `cdk deploy` for this environment first',
    );
  });
});

describe('describeStack and deployedStack', () => {
  test('a stack that does not exist is undefined, not an error', async () => {
    const client = regionClients('us-east-1').cloudformation;
    mockClient(client).on(DescribeStacksCommand).rejects(stackDoesNotExist(APP));

    expect(await describeStack(client, APP)).toBeUndefined();
    expect(await deployedStack(client, APP)).toBeUndefined();
  });

  test('deployedStack reads the template as deployed (GetTemplate, stage Original) with the status and outputs', async () => {
    const client = regionClients('us-east-1').cloudformation;
    const cfn = mockClient(client);
    cfn
      .on(DescribeStacksCommand)
      .resolves(describeStacksAnswer(APP, { HealthCheckId: 'hc-1' }, 'UPDATE_ROLLBACK_FAILED'));
    cfn
      .on(GetTemplateCommand)
      .resolves({ TemplateBody: JSON.stringify({ Resources: { A: { Type: 'AWS::SNS::Topic' } } }) });

    const stack = await deployedStack(client, APP);

    expect(stack).toEqual({
      stackName: APP,
      status: 'UPDATE_ROLLBACK_FAILED',
      outputs: { HealthCheckId: 'hc-1' },
      template: { Resources: { A: { Type: 'AWS::SNS::Topic' } } },
    });
    expect(cfn.commandCalls(GetTemplateCommand)[0]!.args[0].input).toEqual({
      StackName: APP,
      TemplateStage: 'Original',
    });
  });

  test('a stack deleted between DescribeStacks and GetTemplate is undefined', async () => {
    const client = regionClients('us-east-1').cloudformation;
    const cfn = mockClient(client);
    cfn.on(DescribeStacksCommand).resolves(describeStacksAnswer(APP, {}));
    cfn.on(GetTemplateCommand).rejects(stackDoesNotExist(APP));

    expect(await deployedStack(client, APP)).toBeUndefined();
  });
});

/** CloudFormation's answers over HTTP (Query protocol, XML), in turn; the last one repeats. */
function fakeCloudFormation(...answers: { status: number; body: string }[]) {
  const requests: HttpRequest[] = [];
  const requestHandler = {
    handle: async (request: HttpRequest) => {
      requests.push(request);
      const answer = answers[Math.min(requests.length, answers.length) - 1]!;
      const response = new HttpResponse({
        statusCode: answer.status,
        headers: { 'content-type': 'text/xml' },
        body: new TextEncoder().encode(answer.body),
      });
      return { response };
    },
  };
  // The CLI's own client of the region, as region.ts makes it, with the HTTP handler replaced.
  const cloudformation = (region: string) => sdkClients({ credentials: withCredentials, requestHandler })(region);
  return { requests, client: (region: string) => cloudformation(region).cloudformation };
}

const ok = (stackName: string, outputs: Record<string, string>) => ({
  status: 200,
  body: `<?xml version="1.0" encoding="UTF-8"?>
<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>${stackName}</StackName>
        <CreationTime>2025-01-01T00:00:00Z</CreationTime>
        <Outputs>${Object.entries(outputs)
          .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
          .join('')}</Outputs>
        <StackStatus>UPDATE_COMPLETE</StackStatus>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</DescribeStacksResponse>`,
});

const error = (status: number, code: string, message: string) => ({
  status,
  body: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
});

describe("the CLI's CloudFormation client (clients.ts) against CloudFormation's HTTP answers", () => {
  test("sends a signed DescribeStacks to the region's endpoint and reads the XML answer", async () => {
    const cf = fakeCloudFormation(ok(APP, { HealthCheckId: 'hc-1' }));

    const stack = await describeStackOutputs(cf.client('us-east-1'), APP, 'us-east-1');

    expect(stack).toEqual({ stackName: APP, status: 'UPDATE_COMPLETE', outputs: { HealthCheckId: 'hc-1' } });
    const [req] = cf.requests;
    expect(req!.hostname).toBe('cloudformation.us-east-1.amazonaws.com');
    expect(new URLSearchParams(String(req!.body)).get('Action')).toBe('DescribeStacks');
    expect(new URLSearchParams(String(req!.body)).get('StackName')).toBe(APP);
    expect(req!.headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudformation\/aws4_request/,
    );
  });

  test('a stack that does not exist (400 ValidationError) is reported as such, without a retry', async () => {
    const missing = 'HaWeb-demo-App-us-west-2';
    const cf = fakeCloudFormation(error(400, 'ValidationError', `Stack with id ${missing} does not exist`));

    const err = await describeStackOutputs(cf.client('us-west-2'), missing, 'us-west-2').catch((e) => e);

    expect(err).toBeInstanceOf(StackNotFoundError);
    expect(err.message).toBe(
      `stack ${missing} does not exist in us-west-2; run \`cdk deploy\` for this environment first`,
    );
    expect(cf.requests).toHaveLength(1);
  });

  test('an error keeps its code and its decoded message, without a retry', async () => {
    const cf = fakeCloudFormation(error(403, 'AccessDenied', 'not authorized &amp; denied'));

    const err = await describeStackOutputs(cf.client('us-east-1'), 'S', 'us-east-1').catch((e) => e);

    expect(err).toBeInstanceOf(CloudFormationError);
    expect(err.message).toBe('DescribeStacks failed: AccessDenied: not authorized & denied');
    expect(cf.requests).toHaveLength(1);
  });

  describe('throttling, retried by the SDK (standard mode, MAX_ATTEMPTS attempts)', () => {
    // The standard mode waits a random fraction of its backoff: none at all here.
    beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0));

    test('a throttled call is retried and its answer read', async () => {
      const cf = fakeCloudFormation(error(400, 'Throttling', 'Rate exceeded'), ok(APP, { HealthCheckId: 'hc-1' }));

      const stack = await describeStackOutputs(cf.client('us-east-1'), APP, 'us-east-1');

      expect(stack.outputs).toEqual({ HealthCheckId: 'hc-1' });
      expect(cf.requests).toHaveLength(2);
    });

    test(`throttled ${MAX_ATTEMPTS} times: the error after ${MAX_ATTEMPTS} attempts, no more`, async () => {
      const cf = fakeCloudFormation(error(400, 'Throttling', 'Rate exceeded'));

      const err = await describeStackOutputs(cf.client('us-east-1'), APP, 'us-east-1').catch((e) => e);

      expect(err).toBeInstanceOf(CloudFormationError);
      expect(err.message).toBe('DescribeStacks failed: Throttling: Rate exceeded');
      expect(cf.requests).toHaveLength(MAX_ATTEMPTS);
      expect(err.cause.$metadata.attempts).toBe(MAX_ATTEMPTS);
    });
  });
});
