/**
 * The reads of `status` that list things, through the SDK's paginators: each must see past the first page (an
 * account with more load balancers, target groups, Auto Scaling groups or Global Datastores than one page holds).
 */
import {
  DescribeAutoScalingGroupsCommand,
  type DescribeAutoScalingGroupsCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { DescribeReplicationConfigurationsCommand } from '@aws-sdk/client-efs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type DescribeLoadBalancersCommandInput,
  type DescribeTargetGroupsCommandInput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DescribeGlobalReplicationGroupsCommand,
  type DescribeGlobalReplicationGroupsMessage,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { liveGroupArns, readCache, readFiles, readTargets } from '../../cli/status';
import { regionClients } from './fakes';

const REGION = 'us-west-2';
const NOW = new Date('2025-06-01T12:00:00Z');

/**
 * A fake of a paginated operation: `pages[i]` answers the request with the i-th token (`tokenIn`, undefined first),
 * and names the next one (`tokenOut`) unless it is the last. The tokens asked for are recorded (the paginator reuses
 * one input object, so they cannot be read from the calls afterwards).
 */
function paged<I extends object, P extends object>(tokenIn: keyof I, tokenOut: string, pages: readonly P[]) {
  const asked: (string | undefined)[] = [];
  const answer = (input: I) => {
    const token = input[tokenIn] as string | undefined;
    asked.push(token);
    const i = token === undefined ? 0 : Number(token.replace('page-', '')) - 1;
    return { ...pages[i], ...(i + 1 < pages.length ? { [tokenOut]: `page-${i + 2}` } : {}) };
  };
  return { answer, asked };
}

test('readTargets finds the load balancer on a later page, and counts the target groups of every page', async () => {
  const clients = regionClients(REGION);
  const elb = mockClient(clients.elbv2);
  const balancers = paged<DescribeLoadBalancersCommandInput, object>('Marker', 'NextMarker', [
    { LoadBalancers: [{ DNSName: 'other.elb.amazonaws.com', LoadBalancerArn: 'arn:other' }] },
    { LoadBalancers: [{ DNSName: 'HaWeb-LB.elb.amazonaws.com', LoadBalancerArn: 'arn:lb' }] },
    { LoadBalancers: [] },
  ]);
  elb.on(DescribeLoadBalancersCommand).callsFake(balancers.answer);
  const groups = paged<DescribeTargetGroupsCommandInput, object>('Marker', 'NextMarker', [
    { TargetGroups: [{ TargetGroupArn: 'arn:tg:web' }] },
    { TargetGroups: [{ TargetGroupArn: 'arn:tg:api' }] },
  ]);
  elb.on(DescribeTargetGroupsCommand, { LoadBalancerArn: 'arn:lb' }).callsFake(groups.answer);
  elb.on(DescribeTargetHealthCommand).callsFake(async (input: { TargetGroupArn: string }) => ({
    TargetHealthDescriptions: (input.TargetGroupArn === 'arn:tg:web' ? ['healthy', 'draining'] : ['healthy']).map(
      (State) => ({ TargetHealth: { State } }),
    ),
  }));

  const status = await readTargets(clients.elbv2, 'haweb-lb.elb.amazonaws.com', [
    { service: 'api', targetGroupArn: () => 'arn:tg:api' },
  ]);

  expect(status).toMatchObject({ healthy: 2, total: 3, byState: { healthy: 2, draining: 1 } });
  expect(status.services).toEqual([
    {
      service: 'api',
      ok: true,
      value: { targetGroupArn: 'arn:tg:api', healthy: 1, total: 1, byState: { healthy: 1 } },
    },
  ]);
  // The third page of load balancers is never asked for: the second holds the one wanted.
  expect(balancers.asked).toEqual([undefined, 'page-2']);
  expect(groups.asked).toEqual([undefined, 'page-2']);
});

test('liveGroupArns reads every page of DescribeAutoScalingGroups', async () => {
  const clients = regionClients(REGION);
  const groups = paged<DescribeAutoScalingGroupsCommandInput, object>('NextToken', 'NextToken', [
    { AutoScalingGroups: [{ AutoScalingGroupName: 'haweb-demo-web', AutoScalingGroupARN: 'arn:asg:web' }] },
    { AutoScalingGroups: [{ AutoScalingGroupName: 'haweb-demo-api', AutoScalingGroupARN: 'arn:asg:api' }] },
  ]);
  mockClient(clients.autoscaling).on(DescribeAutoScalingGroupsCommand).callsFake(groups.answer);

  const arns = await liveGroupArns(clients.autoscaling, ['haweb-demo-web', 'haweb-demo-api']);

  expect([...arns]).toEqual([
    ['haweb-demo-web', 'arn:asg:web'],
    ['haweb-demo-api', 'arn:asg:api'],
  ]);
  expect(groups.asked).toEqual([undefined, 'page-2']);
});

test("readCache finds the environment's Global Datastore on a later page, and the region's member", async () => {
  const clients = regionClients(REGION);
  const datastores = paged<DescribeGlobalReplicationGroupsMessage, object>('Marker', 'Marker', [
    { GlobalReplicationGroups: [{ GlobalReplicationGroupId: 'abcde-haweb-other-sessions', Members: [] }] },
    {
      GlobalReplicationGroups: [
        {
          GlobalReplicationGroupId: 'ldgnf-haweb-demo-sessions',
          Status: 'primary-and-secondary',
          Members: [
            {
              ReplicationGroupId: 'rg-east',
              ReplicationGroupRegion: 'us-east-1',
              Role: 'PRIMARY',
              Status: 'associated',
            },
            { ReplicationGroupId: 'rg-west', ReplicationGroupRegion: REGION, Role: 'SECONDARY', Status: 'associated' },
          ],
        },
      ],
    },
  ]);
  mockClient(clients.elasticache).on(DescribeGlobalReplicationGroupsCommand).callsFake(datastores.answer);

  expect(await readCache(clients.elasticache, REGION, 'haweb-demo-sessions')).toEqual({
    globalReplicationGroupId: 'ldgnf-haweb-demo-sessions',
    globalStatus: 'primary-and-secondary',
    replicationGroupId: 'rg-west',
    role: 'SECONDARY',
    status: 'associated',
  });
  expect(datastores.asked).toEqual([undefined, 'page-2']);
});

test('readFiles reads every page of DescribeReplicationConfigurations', async () => {
  const clients = regionClients(REGION);
  const replication = (source: string, destination: string) => ({
    SourceFileSystemId: source,
    SourceFileSystemRegion: source === 'fs-west' ? REGION : 'us-east-1',
    Destinations: [
      { FileSystemId: destination, Region: destination === 'fs-west' ? REGION : 'us-east-1', Status: 'ENABLED' },
    ],
  });
  const pages = paged<{ NextToken?: string }, object>('NextToken', 'NextToken', [
    { Replications: [replication('fs-east', 'fs-west')] },
    { Replications: [replication('fs-west', 'fs-east')] },
  ]);
  mockClient(clients.efs).on(DescribeReplicationConfigurationsCommand).callsFake(pages.answer);

  const files = await readFiles(clients.efs, 'fs-west', NOW);

  expect(files.replications.map((r) => [r.direction, r.peerFileSystemId])).toEqual([
    ['incoming', 'fs-east'],
    ['outgoing', 'fs-east'],
  ]);
  expect(pages.asked).toEqual([undefined, 'page-2']);
});
