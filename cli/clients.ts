/**
 * The one place the CLI's SDK clients are made: `region.ts` hands {@link sdkClients} to `main`, and the tests build
 * theirs with it too. Every client retries in the SDK's standard mode with {@link MAX_ATTEMPTS} attempts and short
 * timeouts, so that an unreachable region costs seconds, not the SDK's default minutes.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EFSClient } from '@aws-sdk/client-efs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { CredentialProvider } from './credentials';
import { RegionClients } from './status';

/** Attempts of each call (the first and one retry of a throttled or transient failure), Lambda's excepted. */
export const MAX_ATTEMPTS = 2;

/** What the clients are made with. */
export interface SdkClientsProps {
  /** Where the credentials come from (the SDK's default chain in `region.ts`). */
  readonly credentials: CredentialProvider;
  /**
   * The HTTP handler of every client (tests hand in one that answers as AWS does).
   * @default - Node's HTTP: 3 s to connect, 10 s to answer (13 minutes for Lambda)
   */
  readonly requestHandler?: CloudFormationClientConfig['requestHandler'];
}

/** The SDK clients of each region, made on first use and kept. */
export function sdkClients(props: SdkClientsProps): (region: string) => RegionClients {
  const made = new Map<string, RegionClients>();
  return (region) => {
    let clients = made.get(region);
    if (!clients) {
      const config = {
        region,
        credentials: props.credentials,
        retryMode: 'standard',
        maxAttempts: MAX_ATTEMPTS,
        requestHandler: props.requestHandler ?? { connectionTimeout: 3_000, requestTimeout: 10_000 },
      };
      clients = {
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
          requestHandler: props.requestHandler ?? { connectionTimeout: 3_000, requestTimeout: 13 * 60_000 },
        }),
      };
      made.set(region, clients);
    }
    return clients;
  };
}
