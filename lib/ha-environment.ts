import { Stack, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { EnvironmentConfig, RegionConfig, validateEnvironmentConfig } from './config';
import { physicalNames } from './names';
import { AppStack } from './stacks/app-stack';
import { DataStack } from './stacks/data-stack';
import { NetworkStack } from './stacks/network-stack';
import { OperationsStack } from './stacks/operations-stack';
import { StorageStack } from './stacks/storage-stack';

/** The stacks of one region. */
export interface RegionStacks {
  /** VPC and the instances' security group. */
  readonly network: NetworkStack;
  /** EFS. */
  readonly storage: StorageStack;
  /** KMS key, Aurora, ElastiCache. */
  readonly data: DataStack;
  /** ALB, certificate, Auto Scaling group, DNS failover. */
  readonly app: AppStack;
  /** Alarms, fault injection, switch functions; the primary's also the dashboard, plan and failover records. */
  readonly operations: OperationsStack;
}

/**
 * Creates every stack of one environment, in both regions, with the
 * dependencies that give `cdk deploy --all` a valid order:
 *
 * 1. Network (both regions)
 * 2. Storage of the secondary (the replication destination)
 * 3. Storage of the primary (replicates to 2) and Data of the primary
 *    (global cluster, Global Datastore)
 * 4. Data of the secondary (joins 3)
 * 5. App of each region (needs its region's Network, Storage and Data)
 * 6. Operations of the secondary, then of the primary (alarms, fault
 *    injection, switch functions; the primary's also holds the dashboard of
 *    both regions, the Region switch plan and the failover records)
 *
 * The config is validated first, so a bad config creates nothing.
 */
export class HaEnvironment {
  /** The primary region's stacks. */
  public readonly primary: RegionStacks;
  /** The secondary region's stacks. */
  public readonly secondary: RegionStacks;

  constructor(scope: Construct, config: EnvironmentConfig) {
    validateEnvironmentConfig(config);
    const names = physicalNames(config);

    // `guarded`: termination protection in production. Cross-stack references
    // are weak (Fn::GetStackOutput), so nothing else stops the deletion of a
    // stack that others still use: the stateful stacks and the network under them.
    const stackProps = (r: RegionConfig, lifecycle: string, guarded: boolean) => ({
      env: { account: config.account, region: r.region },
      availabilityZones: r.availabilityZones,
      terminationProtection: guarded && config.production,
      stackName: `${names.stackPrefix}-${lifecycle}-${r.region}`,
      description: `HA web service (${config.name}): ${lifecycle} in ${r.region}`,
    });
    const id = (lifecycle: string, r: RegionConfig) => `${names.stackPrefix}-${lifecycle}-${r.region}`;

    const network = (r: RegionConfig) =>
      new NetworkStack(scope, id('Network', r), { ...stackProps(r, 'Network', true), regionConfig: r });
    const netP = network(config.primary);
    const netS = network(config.secondary);

    const storageS = new StorageStack(scope, id('Storage', config.secondary), {
      ...stackProps(config.secondary, 'Storage', true),
      vpc: netS.vpc,
      webSecurityGroup: netS.webSecurityGroup,
      replicationDestination: true,
    });
    const storageP = new StorageStack(scope, id('Storage', config.primary), {
      ...stackProps(config.primary, 'Storage', true),
      vpc: netP.vpc,
      webSecurityGroup: netP.webSecurityGroup,
      replicateTo: storageS.fileSystem,
    });
    storageP.addStackDependency(storageS, 'EFS replication needs the destination file system');

    const dataP = new DataStack(scope, id('Data', config.primary), {
      ...stackProps(config.primary, 'Data', true),
      role: 'primary',
      config,
      names,
      vpc: netP.vpc,
      webSecurityGroup: netP.webSecurityGroup,
    });
    const dataS = new DataStack(scope, id('Data', config.secondary), {
      ...stackProps(config.secondary, 'Data', true),
      role: 'secondary',
      config,
      names,
      vpc: netS.vpc,
      webSecurityGroup: netS.webSecurityGroup,
      globalDatastoreId: dataP.cache.globalDatastore!.attrGlobalReplicationGroupId,
    });
    dataS.addStackDependency(dataP, 'The secondary joins the global cluster, Global Datastore and secret replicas');

    const app = (
      role: 'primary' | 'secondary',
      r: RegionConfig,
      net: NetworkStack,
      storage: StorageStack,
      data: DataStack,
    ) =>
      new AppStack(scope, id('App', r), {
        ...stackProps(r, 'App', false),
        role,
        config,
        vpc: net.vpc,
        webSecurityGroup: net.webSecurityGroup,
        loadBalancerSecurityGroup: net.loadBalancerSecurityGroup,
        fileSystem: storage.fileSystem,
        data: {
          databaseEndpoint: data.databaseEndpoint,
          databaseReadEndpoint: data.databaseReadEndpoint,
          databaseSecretName: names.databaseSecretName,
          cacheEndpoint: data.cacheEndpoint,
          cacheAuthSecretName: names.cacheAuthSecretName,
          secretsKeyArn: role === 'primary' ? data.key.keyArn : undefined,
        },
      });
    const appP = app('primary', config.primary, netP, storageP, dataP);
    const appS = app('secondary', config.secondary, netS, storageS, dataS);

    const watched = (net: NetworkStack, storage: StorageStack, data: DataStack, appStack: AppStack) => ({
      vpc: net.vpc,
      storage,
      data,
      app: appStack,
    });
    const opsS = new OperationsStack(scope, id('Operations', config.secondary), {
      ...stackProps(config.secondary, 'Operations', false),
      role: 'secondary',
      config,
      names,
      local: watched(netS, storageS, dataS, appS),
      remote: watched(netP, storageP, dataP, appP),
    });
    const opsP = new OperationsStack(scope, id('Operations', config.primary), {
      ...stackProps(config.primary, 'Operations', false),
      role: 'primary',
      config,
      names,
      local: watched(netP, storageP, dataP, appP),
      remote: watched(netS, storageS, dataS, appS),
      remoteFunctions: opsS.switchFunctions,
      remoteAlarms: opsS.alarms,
    });
    opsP.addStackDependency(opsS, 'The primary operations stack deploys last');

    this.primary = { network: netP, storage: storageP, data: dataP, app: appP, operations: opsP };
    this.secondary = { network: netS, storage: storageS, data: dataS, app: appS, operations: opsS };

    for (const stack of this.stacks) {
      Tags.of(stack).add('Project', 'ha-web-service');
      Tags.of(stack).add('Environment', config.name);
    }
  }

  /** Every stack, in deploy order. */
  public get stacks(): Stack[] {
    return [
      this.primary.network,
      this.secondary.network,
      this.secondary.storage,
      this.primary.storage,
      this.primary.data,
      this.secondary.data,
      this.primary.app,
      this.secondary.app,
      this.secondary.operations,
      this.primary.operations,
    ];
  }
}
