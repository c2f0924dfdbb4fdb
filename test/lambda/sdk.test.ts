/**
 * The functions' use of the AWS SDK (lambda/shared/sdk.ts). aws-sdk-client-mock replaces a client's send(), below
 * which the SDK retries, so these tests give a real client a stub request handler instead: the SDK's middleware
 * (retries, error deserialization into exception classes) runs as in Lambda, only the HTTP exchange is fake.
 */
import { WEST } from './fixtures';
import {
  ElastiCacheClient,
  GlobalReplicationGroupNotFoundFault,
  paginateDescribeGlobalReplicationGroups,
} from '@aws-sdk/client-elasticache';
import { describeDatastore } from '../../lambda/cache-failover';
import { TIMEOUT_MARGIN_MS } from '../../lambda/shared/runtime';
import { allPages, clientConfig, SDK_RETRY } from '../../lambda/shared/sdk';

const DATASTORE = 'ldgnf-haweb-prod-sessions';
const XMLNS = 'http://elasticache.amazonaws.com/doc/2015-02-02/';

/** One HTTP answer of the stub: status and awsQuery XML body. */
interface Answer {
  readonly statusCode: number;
  readonly body: string;
}

const DESCRIBED: Answer = {
  statusCode: 200,
  body:
    `<DescribeGlobalReplicationGroupsResponse xmlns="${XMLNS}"><DescribeGlobalReplicationGroupsResult>` +
    `<GlobalReplicationGroups><GlobalReplicationGroup><GlobalReplicationGroupId>${DATASTORE}</GlobalReplicationGroupId>` +
    '<Status>available</Status><Members><GlobalReplicationGroupMember>' +
    '<ReplicationGroupId>haweb-prod-west-cache</ReplicationGroupId><ReplicationGroupRegion>us-west-2</ReplicationGroupRegion>' +
    '<Role>PRIMARY</Role><Status>associated</Status></GlobalReplicationGroupMember></Members>' +
    '</GlobalReplicationGroup></GlobalReplicationGroups></DescribeGlobalReplicationGroupsResult>' +
    '<ResponseMetadata><RequestId>r-ok</RequestId></ResponseMetadata></DescribeGlobalReplicationGroupsResponse>',
};

function fault(statusCode: number, code: string, message: string): Answer {
  return {
    statusCode,
    body:
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>r-${code}</RequestId></ErrorResponse>`,
  };
}

const THROTTLED = fault(400, 'Throttling', 'Rate exceeded');

/**
 * An ElastiCache client configured as the functions configure theirs, whose HTTP requests get `answers` in turn (the
 * last one repeats); `requests` counts them.
 */
function clientAnswering(...answers: Answer[]) {
  const state = { requests: 0 };
  const client = new ElastiCacheClient({
    ...clientConfig(WEST),
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    requestHandler: {
      handle: async () => {
        const answer = answers[Math.min(state.requests, answers.length - 1)]!;
        state.requests++;
        return {
          response: {
            statusCode: answer.statusCode,
            headers: { 'content-type': 'text/xml' },
            body: new TextEncoder().encode(answer.body),
          },
        };
      },
    },
  });
  return { client, state };
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('SDK clients of the functions', () => {
  test('retry in standard mode with 4 attempts: clientConfig is the region and those settings', async () => {
    expect(SDK_RETRY).toEqual({ maxAttempts: 4, retryMode: 'standard' });
    expect(clientConfig(WEST)).toEqual({ region: WEST, maxAttempts: 4, retryMode: 'standard' });
    const { client } = clientAnswering(DESCRIBED);
    expect(await client.config.maxAttempts()).toBe(4);
    expect((await client.config.retryStrategy()) as { mode?: string }).toMatchObject({ mode: 'standard' });
  });

  test('the client retries a throttled call itself, and the function sees only the answer', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0); // no backoff wait in the test
    const { client, state } = clientAnswering(THROTTLED, DESCRIBED);
    const datastore = await describeDatastore(client, DATASTORE, WEST);
    expect(datastore).toMatchObject({
      status: 'available',
      target: { replicationGroupId: 'haweb-prod-west-cache', role: 'PRIMARY' },
    });
    expect(state.requests).toBe(2);
  });

  test('a call still throttled after 4 attempts fails with the SDK error, and its backoff stays within the timeout margin', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    jest.spyOn(Math, 'random').mockReturnValue(1 - 1e-9); // the longest backoff the SDK can draw
    const { client, state } = clientAnswering(THROTTLED);
    const outcome = describeDatastore(client, DATASTORE, WEST).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Full jitter over 1 s, 2 s, 4 s: the fourth attempt goes out just before 7 s.
    await jest.advanceTimersByTimeAsync(6_900);
    expect(state.requests).toBe(3);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MARGIN_MS - 6_900);
    const err = (await outcome) as Error & { $metadata?: { attempts?: number; totalRetryDelay?: number } };
    expect(err).toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
    expect(state.requests).toBe(4);
    expect(err.$metadata).toMatchObject({ attempts: 4 });
    expect(err.$metadata!.totalRetryDelay!).toBeLessThan(TIMEOUT_MARGIN_MS);
  });

  test('other errors are not retried and arrive as their exception class', async () => {
    const { client, state } = clientAnswering(
      fault(404, 'GlobalReplicationGroupNotFoundFault', 'GlobalReplicationGroup not found'),
    );
    const err = await allPages(
      paginateDescribeGlobalReplicationGroups({ client }, { GlobalReplicationGroupId: DATASTORE }),
      (page) => page.GlobalReplicationGroups,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GlobalReplicationGroupNotFoundFault);
    expect(state.requests).toBe(1);
    await expect(describeDatastore(client, DATASTORE, WEST)).rejects.toThrow(
      `REFUSED: Global Datastore ${DATASTORE} was not found from us-west-2; check GLOBAL_DATASTORE_ID.`,
    );
  });
});

describe('allPages', () => {
  async function* pages<T>(...items: T[][]) {
    for (const page of items) yield { items: page };
  }

  test('collects the items of every page, in order', async () => {
    expect(await allPages(pages([1, 2], [], [3]), (p) => p.items)).toEqual([1, 2, 3]);
  });

  test('a page without the list counts as empty', async () => {
    expect(await allPages(pages([1]), () => undefined)).toEqual([]);
  });

  test('the not-found exception class means no items; any other error propagates', async () => {
    const notFound = new GlobalReplicationGroupNotFoundFault({ message: 'not found', $metadata: {} });
    // eslint-disable-next-line require-yield
    const failing = async function* (err: Error): AsyncGenerator<{ items: number[] }> {
      throw err;
    };
    expect(await allPages(failing(notFound), (p) => p.items, GlobalReplicationGroupNotFoundFault)).toEqual([]);
    await expect(allPages(failing(notFound), (p) => p.items)).rejects.toBe(notFound);
    const other = new Error('AccessDenied');
    await expect(allPages(failing(other), (p) => p.items, GlobalReplicationGroupNotFoundFault)).rejects.toBe(other);
  });
});
