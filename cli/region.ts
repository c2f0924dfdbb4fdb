import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EFSClient } from '@aws-sdk/client-efs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { setTimeout as delay } from 'node:timers/promises';
import { main } from './main';
import { RegionClients } from './status';

// Entry point of `npm run region -- <command>`: wiring only, the logic is in main.ts.

const credentials = defaultProvider();
// An unreachable region must cost seconds, not the SDK's default minutes.
const clientConfig = (region: string) => ({
  region,
  credentials,
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
});
const cache = new Map<string, RegionClients>();
const clients = (region: string): RegionClients => {
  let c = cache.get(region);
  if (!c) {
    const config = clientConfig(region);
    c = {
      autoscaling: new AutoScalingClient(config),
      elbv2: new ElasticLoadBalancingV2Client(config),
      rds: new RDSClient(config),
      elasticache: new ElastiCacheClient(config),
      efs: new EFSClient(config),
      cloudwatch: new CloudWatchClient(config),
      cloudformation: new CloudFormationClient(config),
      // rejoin waits in the function for up to its 12-minute timeout: one attempt, a matching read timeout.
      lambda: new LambdaClient({
        ...config,
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: 13 * 60_000 },
      }),
    };
    cache.set(region, c);
  }
  return c;
};

main(process.argv.slice(2), {
  credentials,
  fetch,
  clients,
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  now: () => new Date(),
  sleep: (ms) => delay(ms),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
