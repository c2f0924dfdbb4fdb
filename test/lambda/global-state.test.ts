/**
 * The one reader of Global Datastore and Route 53 health-check state (lambda/shared/global-state.ts) that the switch
 * functions and the operator CLI share, and the paginator helper it reads through (lambda/shared/sdk.ts firstItem).
 */
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import * as sdk from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { HEALTH_CHECK_STATUS } from '../../contract';
import * as globalState from '../../lambda/shared/global-state';
import { firstItem } from '../../lambda/shared/sdk';
import { EAST, WEST } from './fixtures';

const { DescribeGlobalReplicationGroupsCommand, GlobalReplicationGroupNotFoundFault } = sdk;
/** The clients the reader is handed, and their mocks. */
const ec = new sdk.ElastiCacheClient({ region: WEST });
const cw = new CloudWatchClient({ region: EAST });
const elasticache = mockClient(ec);
const cloudwatch = mockClient(cw);

beforeEach(() => {
  elasticache.reset();
  cloudwatch.reset();
});

const OURS = {
  GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions',
  Status: 'available',
  Members: [
    { ReplicationGroupId: 'haweb-prod-cache', ReplicationGroupRegion: EAST, Role: 'primary', Status: 'associated' },
    { ReplicationGroupId: 'haweb-prod-cache', ReplicationGroupRegion: WEST, Role: 'SECONDARY', Status: 'associated' },
  ],
};
const OTHER = { GlobalReplicationGroupId: 'abcde-haweb-prod-sessions2', Status: 'available', Members: [] };

describe('readGlobalDatastore', () => {
  test('by ID: one DescribeGlobalReplicationGroups with the members, roles upper case', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves({ GlobalReplicationGroups: [OURS] });

    const state = await globalState.readGlobalDatastore(ec, { id: OURS.GlobalReplicationGroupId });

    expect(state).toEqual({
      id: 'ldgnf-haweb-prod-sessions',
      status: 'available',
      members: [
        { replicationGroupId: 'haweb-prod-cache', region: EAST, role: 'PRIMARY', status: 'associated' },
        { replicationGroupId: 'haweb-prod-cache', region: WEST, role: 'SECONDARY', status: 'associated' },
      ],
    });
    expect(elasticache.commandCalls(DescribeGlobalReplicationGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { GlobalReplicationGroupId: 'ldgnf-haweb-prod-sessions', ShowMemberInfo: true },
    ]);
    expect(globalState.primaries(state!).map((m) => m.region)).toEqual([EAST]);
    expect(globalState.memberIn(state!, WEST)?.role).toBe('SECONDARY');
    expect(globalState.describeMembers(globalState.primaries(state!))).toBe(`haweb-prod-cache (${EAST})`);
  });

  test('by ID: a datastore that does not exist (the SDK exception class) is undefined; other errors propagate', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .rejectsOnce(new GlobalReplicationGroupNotFoundFault({ message: 'not found', $metadata: {} }))
      .rejectsOnce(new Error('AccessDenied'));
    await expect(globalState.readGlobalDatastore(ec, { id: 'ldgnf-gone' })).resolves.toBeUndefined();
    await expect(globalState.readGlobalDatastore(ec, { id: 'ldgnf-gone' })).rejects.toThrow('AccessDenied');
  });

  test('by suffix: reads page after page until one matches, and no further', async () => {
    // The paginator reuses one input object, so the markers are recorded as each page is asked for.
    const asked: (string | undefined)[] = [];
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .callsFake((input: sdk.DescribeGlobalReplicationGroupsMessage) => {
        expect(input.ShowMemberInfo).toBe(true);
        asked.push(input.Marker);
        return input.Marker === undefined
          ? { GlobalReplicationGroups: [OTHER], Marker: 'page-2' }
          : input.Marker === 'page-2'
            ? { GlobalReplicationGroups: [OURS], Marker: 'page-3' }
            : { GlobalReplicationGroups: [] };
      });

    const state = await globalState.readGlobalDatastore(ec, { suffix: 'haweb-prod-sessions' });

    expect(state?.id).toBe('ldgnf-haweb-prod-sessions');
    expect(asked).toEqual([undefined, 'page-2']);
  });

  test('by suffix: the ID is the suffix or ends with -<suffix>; none on any page is undefined', async () => {
    elasticache
      .on(DescribeGlobalReplicationGroupsCommand)
      .resolves({ GlobalReplicationGroups: [OTHER, { ...OURS, GlobalReplicationGroupId: 'haweb-prod-sessions' }] });
    expect((await globalState.readGlobalDatastore(ec, { suffix: 'haweb-prod-sessions' }))?.id).toBe(
      'haweb-prod-sessions',
    );
    expect(await globalState.readGlobalDatastore(ec, { suffix: 'prod-sessions3' })).toBeUndefined();
  });

  test('what AWS leaves out reads as ? and unknown', async () => {
    elasticache.on(DescribeGlobalReplicationGroupsCommand).resolves({ GlobalReplicationGroups: [{ Members: [{}] }] });
    expect(await globalState.readGlobalDatastore(ec, { id: 'ldgnf-x' })).toEqual({
      id: 'ldgnf-x',
      status: 'unknown',
      members: [{ replicationGroupId: '?', region: '?', role: 'UNKNOWN', status: 'unknown' }],
    });
  });
});

describe('latestDatapoint and readHealthCheck', () => {
  const END = new Date('2025-06-01T12:00:00Z');
  const at = (msAgo: number) => new Date(END.getTime() - msAgo);

  test('the latest datapoint of every page of GetMetricData, one query of 60-second periods in the window', async () => {
    cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataInput) =>
      input.NextToken === undefined
        ? {
            MetricDataResults: [{ Id: 'latest', Values: [7, 5], Timestamps: [at(120_000), at(180_000)] }],
            NextToken: 't',
          }
        : { MetricDataResults: [{ Id: 'latest', Values: [3], Timestamps: [at(60_000)] }] },
    );

    const point = await globalState.latestDatapoint(cw, HEALTH_CHECK_STATUS, 'hc-1', {
      end: END,
      lookbackMs: 600_000,
      statistic: 'Maximum',
    });

    expect(point).toEqual({ value: 3, at: at(60_000) });
    const calls = cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      StartTime: at(600_000),
      EndTime: END,
      MetricDataQueries: [
        {
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Route53',
              MetricName: 'HealthCheckStatus',
              Dimensions: [{ Name: 'HealthCheckId', Value: 'hc-1' }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });
  });

  test.each([
    [[1], 'healthy'],
    [[0], 'unhealthy'],
    [[], 'unknown'],
  ])('a health check whose latest minimum is %j is %s', async (values, status) => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'latest', Values: values, Timestamps: values.map(() => at(60_000)) }],
    });
    const state = await globalState.readHealthCheck(cw, 'hc-1', END, 180_000);
    expect(state).toEqual({ healthCheckId: 'hc-1', status, ...(values.length ? { at: at(60_000) } : {}) });
    expect(
      cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries![0]!.MetricStat!.Stat,
    ).toBe('Minimum');
  });
});

describe('firstItem', () => {
  async function* pages(...items: number[][]) {
    for (const page of items) yield { items: page };
  }

  test('stops at the page with the first match', async () => {
    const seen: number[][] = [];
    const tracked = async function* () {
      for await (const page of pages([1, 2], [3, 4], [5])) {
        seen.push(page.items);
        yield page;
      }
    };
    expect(
      await firstItem(
        tracked(),
        (p) => p.items,
        (n) => n > 2,
      ),
    ).toBe(3);
    expect(seen).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  test('none matching is undefined; the not-found class is undefined too, other errors propagate', async () => {
    expect(
      await firstItem(
        pages([1]),
        (p) => p.items,
        (n) => n > 1,
      ),
    ).toBeUndefined();
    const notFound = new GlobalReplicationGroupNotFoundFault({ message: 'not found', $metadata: {} });
    // eslint-disable-next-line require-yield
    const failing = async function* (err: Error): AsyncGenerator<{ items: number[] }> {
      throw err;
    };
    const any = () => true;
    expect(await firstItem(failing(notFound), (p) => p.items, any, GlobalReplicationGroupNotFoundFault)).toBe(
      undefined,
    );
    await expect(
      firstItem(failing(new Error('x')), (p) => p.items, any, GlobalReplicationGroupNotFoundFault),
    ).rejects.toThrow('x');
  });
});
