import {
  ArcRegionSwitchClient,
  ArcRegionSwitchError,
  arcDataPlaneHostname,
  toArcError,
} from '../../cli/arc-region-switch-client';
import { NO_CREDENTIALS_MESSAGE, NoCredentialsError } from '../../cli/credentials';
import { fakeFetch, noCredentials, withCredentials } from './fakes';

const PLAN_ARN = 'arn:aws:arc-region-switch::111111111111:plan/haweb-demo:abc123';

describe('ArcRegionSwitchClient', () => {
  test('StartPlanExecution is an awsJson1_0 POST to the regional data plane', async () => {
    const f = fakeFetch(() => ({ body: { executionId: 'exec-1', activateRegion: 'us-west-2' } }));
    const client = new ArcRegionSwitchClient({ credentials: withCredentials, fetch: f.fetch });

    const out = await client.startPlanExecution('us-west-2', {
      planArn: PLAN_ARN,
      targetRegion: 'us-west-2',
      action: 'activate',
      mode: 'ungraceful',
      comment: 'drill',
    });

    expect(out).toEqual({ executionId: 'exec-1', activateRegion: 'us-west-2' });
    expect(f.requests).toHaveLength(1);
    const req = f.requests[0];
    expect(req.url).toBe('https://arc-region-switch.us-west-2.api.aws/');
    expect(req.headers['x-amz-target']).toBe('ArcRegionSwitch.StartPlanExecution');
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(req.body)).toEqual({
      planArn: PLAN_ARN,
      targetRegion: 'us-west-2',
      action: 'activate',
      mode: 'ungraceful',
      comment: 'drill',
    });
  });

  test('requests carry a SigV4 signature scoped to the region and arc-region-switch', async () => {
    const f = fakeFetch(() => ({ body: { plans: [] } }));
    const client = new ArcRegionSwitchClient({ credentials: withCredentials, fetch: f.fetch });

    await client.listPlansInRegion('us-east-1', {});

    const h = f.requests[0].headers;
    expect(h.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/arc-region-switch\/aws4_request, SignedHeaders=[^,]*content-type;host;[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(h['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(h['x-amz-security-token']).toBe('token');
    expect(h.host).toBeUndefined();
  });

  test('GetPlanExecution and ListPlanExecutionEvents use their own targets', async () => {
    const f = fakeFetch((req) => ({
      body: req.operation === 'GetPlanExecution' ? { executionState: 'inProgress' } : { items: [] },
    }));
    const client = new ArcRegionSwitchClient({ credentials: withCredentials, fetch: f.fetch });

    const exec = await client.getPlanExecution('us-west-2', { planArn: PLAN_ARN, executionId: 'e' });
    await client.listPlanExecutionEvents('us-west-2', { planArn: PLAN_ARN, executionId: 'e' });

    expect(exec.executionState).toBe('inProgress');
    expect(f.requests.map((r) => r.headers['x-amz-target'])).toEqual([
      'ArcRegionSwitch.GetPlanExecution',
      'ArcRegionSwitch.ListPlanExecutionEvents',
    ]);
  });

  test('an error answer becomes an ArcRegionSwitchError with the code from __type', async () => {
    const f = fakeFetch(() => ({
      status: 404,
      body: { __type: 'com.amazonaws.arcregionswitch#ResourceNotFoundException', message: 'no such plan' },
    }));
    const client = new ArcRegionSwitchClient({ credentials: withCredentials, fetch: f.fetch });

    const err = await client.getPlanExecution('us-west-2', { planArn: PLAN_ARN, executionId: 'x' }).catch((e) => e);

    expect(err).toBeInstanceOf(ArcRegionSwitchError);
    expect(err).toMatchObject({ code: 'ResourceNotFoundException', status: 404, operation: 'GetPlanExecution' });
    expect(err.message).toBe('GetPlanExecution failed: ResourceNotFoundException: no such plan');
  });

  test('the X-Amzn-ErrorType header wins and loses its suffix', () => {
    const err = toArcError('StartPlanExecution', 403, 'AccessDeniedException:http://internal.amazon.com/', {}, '');
    expect(err.code).toBe('AccessDeniedException');
    expect(err.message).toBe('StartPlanExecution failed: AccessDeniedException: HTTP 403');
  });

  test('a non-JSON error body is quoted in the message', () => {
    const err = toArcError('ListPlansInRegion', 502, null, undefined, 'Bad Gateway');
    expect(err).toMatchObject({ code: 'HTTP502', status: 502 });
    expect(err.message).toBe('ListPlansInRegion failed: HTTP502: Bad Gateway');
  });

  test('without credentials nothing is sent and NoCredentialsError is thrown', async () => {
    const f = fakeFetch(() => ({ body: {} }));
    const client = new ArcRegionSwitchClient({ credentials: noCredentials, fetch: f.fetch });

    const err = await client.listPlansInRegion('us-west-2', {}).catch((e) => e);

    expect(err).toBeInstanceOf(NoCredentialsError);
    expect(err.message).toBe(NO_CREDENTIALS_MESSAGE);
    expect(f.requests).toHaveLength(0);
  });

  test('the data plane host is dual-stack api.aws', () => {
    expect(arcDataPlaneHostname('eu-central-1')).toBe('arc-region-switch.eu-central-1.api.aws');
  });
});
