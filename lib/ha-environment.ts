import { Stack, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DataComponent, EnvironmentConfig, hasDataComponent, RegionConfig, validateEnvironmentConfig } from './config';
import { crossRegionId } from './cross-region';
import { parseRecorded, RecordedFacts } from './recorded';
import { DATA_OUTPUTS, STORAGE_OUTPUTS } from './stack-outputs';
import { physicalNames, StackLifecycle, stackName } from './names';
import { AppStack } from './stacks/app-stack';
import { DataStack } from './stacks/data-stack';
import { NetworkStack } from './stacks/network-stack';
import { OperationsStack } from './stacks/operations-stack';
import { StorageStack } from './stacks/storage-stack';

/** The stacks of one region. */
export interface RegionStacks {
  /** VPC, the instances' security group, the region's logs key. */
  readonly network: NetworkStack;
  /** EFS, when a service uses shared files. */
  readonly storage?: StorageStack;
  /** KMS key, Aurora, ElastiCache, when a service uses the database or the session cache. */
  readonly data?: DataStack;
  /** ALB, certificate, each service's Auto Scaling group, alarms, regional dashboard, regional record and health check. */
  readonly app: AppStack;
  /** Switch functions, fault injection, the region's failover record; the primary's also the plan and dashboard. */
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
 *
 * Storage exists only when a service uses shared files, Data only when one uses the database or the session
 * cache (and holds only what is used).
 * 5. App of each region (needs its region's Network, Storage and Data)
 * 6. Operations of the secondary, then of the primary (switch functions,
 *    fault injection, the region's failover record; the primary's also holds
 *    the environment dashboard and the Region switch plan)
 *
 * Within a region stacks share values through CloudFormation exports, which
 * CloudFormation keeps consistent; across regions only the immutable IDs of
 * `cross-region.ts` pass, and everything else is found by the fixed names of
 * `names.ts`. The config is validated first, so a bad config creates nothing.
 */
export class HaEnvironment {
  /** The primary region's stacks. */
  public readonly primary: RegionStacks;
  /** The secondary region's stacks. */
  public readonly secondary: RegionStacks;

  /**
   * @param recordedFacts the facts recorded after the first deploy (`lib/recorded.ts`), as `bin/app.ts` reads
   *   them from the `cdk.context.json` entry `haweb:<env>:recorded`; validated against `config` here, before any
   *   stack is created.
   * @default - nothing recorded (the first deploy)
   */
  constructor(scope: Construct, config: EnvironmentConfig, recordedFacts?: RecordedFacts) {
    validateEnvironmentConfig(config);
    const recorded = parseRecorded(config, recordedFacts);
    const names = physicalNames(config);

    // `guarded`: termination protection in production on the stateful stacks and
    // the network under them (a failed first create of one of them needs the
    // protection lifted before the retry: docs/runbooks/first-deploy.md).
    const stackProps = (r: RegionConfig, lifecycle: StackLifecycle, guarded: boolean) => ({
      env: { account: config.account, region: r.region },
      availabilityZones: r.availabilityZones,
      terminationProtection: guarded && config.production,
      stackName: stackName(config, lifecycle, r.region),
      description: `HA web service (${config.name}): ${lifecycle} in ${r.region}`,
    });
    const id = (lifecycle: StackLifecycle, r: RegionConfig) => stackName(config, lifecycle, r.region);

    const network = (r: RegionConfig) =>
      new NetworkStack(scope, id('Network', r), {
        ...stackProps(r, 'Network', true),
        regionConfig: r,
        services: config.services.map((s) => s.name),
      });
    // Each data component admits exactly the instances of the services that use it.
    const clientsOf = (net: NetworkStack, component: DataComponent) =>
      config.services.filter((s) => s.uses.includes(component)).map((s) => net.securityGroupFor(s.name));
    const dataClients = (net: NetworkStack) => ({
      database: clientsOf(net, 'database'),
      sessionCache: clientsOf(net, 'sessionCache'),
    });
    const netP = network(config.primary);
    const netS = network(config.secondary);
    const files = hasDataComponent(config, 'sharedFiles');
    const cache = hasDataComponent(config, 'sessionCache');

    let storageS: StorageStack | undefined;
    let storageP: StorageStack | undefined;
    if (files) {
      storageS = new StorageStack(scope, id('Storage', config.secondary), {
        ...stackProps(config.secondary, 'Storage', true),
        vpc: netS.vpc,
        clients: clientsOf(netS, 'sharedFiles'),
        replicationDestination: true,
      });
      storageP = new StorageStack(scope, id('Storage', config.primary), {
        ...stackProps(config.primary, 'Storage', true),
        vpc: netP.vpc,
        clients: clientsOf(netP, 'sharedFiles'),
        replicateTo: {
          region: config.secondary.region,
          fileSystemId: crossRegionId(
            { stack: storageS, outputName: STORAGE_OUTPUTS.fileSystemId },
            'fileSystemId',
            recorded.fileSystemIds[config.secondary.region],
          ),
        },
      });
      storageP.addStackDependency(storageS, 'EFS replication needs the destination file system');
    }

    let dataP: DataStack | undefined;
    let dataS: DataStack | undefined;
    if (hasDataComponent(config, 'database') || cache) {
      dataP = new DataStack(scope, id('Data', config.primary), {
        ...stackProps(config.primary, 'Data', true),
        role: 'primary',
        config,
        names,
        recorded,
        vpc: netP.vpc,
        clients: dataClients(netP),
      });
      dataS = new DataStack(scope, id('Data', config.secondary), {
        ...stackProps(config.secondary, 'Data', true),
        role: 'secondary',
        config,
        names,
        vpc: netS.vpc,
        clients: dataClients(netS),
        globalDatastoreId: cache
          ? crossRegionId(
              { stack: dataP, outputName: DATA_OUTPUTS.globalDatastoreId },
              'globalDatastoreId',
              recorded.globalDatastoreId,
            )
          : undefined,
      });
      dataS.addStackDependency(dataP, 'The secondary joins the global cluster, Global Datastore and secret replicas');
    }

    const app = (
      role: 'primary' | 'secondary',
      r: RegionConfig,
      net: NetworkStack,
      storage: StorageStack | undefined,
      data: DataStack | undefined,
    ) =>
      new AppStack(scope, id('App', r), {
        ...stackProps(r, 'App', false),
        role,
        config,
        names,
        vpc: net.vpc,
        securityGroupFor: (service) => net.securityGroupFor(service),
        loadBalancerSecurityGroup: net.loadBalancerSecurityGroup,
        fileSystem: storage?.fileSystem,
        data: {
          database: data?.database && {
            endpoint: data.database.endpoint,
            readEndpoint: data.database.readEndpoint,
            secretName: names.databaseSecretName,
          },
          cache: data?.cache && {
            endpoint: data.cache.primaryEndpointAddress,
            authSecretName: names.cacheAuthSecretName,
          },
          secretsKeyArn: role === 'primary' ? data?.key.keyArn : undefined,
        },
      });
    const appP = app('primary', config.primary, netP, storageP, dataP);
    const appS = app('secondary', config.secondary, netS, storageS, dataS);

    const globalDatastoreId = (role: 'primary' | 'secondary'): string | undefined => {
      if (!dataP?.cache) return undefined;
      if (role === 'primary')
        return recorded.globalDatastoreId ?? dataP.cache.globalDatastore!.attrGlobalReplicationGroupId;
      return crossRegionId(
        { stack: dataP, outputName: DATA_OUTPUTS.globalDatastoreId },
        'globalDatastoreId',
        recorded.globalDatastoreId,
      );
    };
    const operations = (
      role: 'primary' | 'secondary',
      r: RegionConfig,
      net: NetworkStack,
      storage: StorageStack | undefined,
      remoteStorage: StorageStack | undefined,
      appStack: AppStack,
    ) =>
      new OperationsStack(scope, id('Operations', r), {
        ...stackProps(r, 'Operations', false),
        role,
        config,
        names,
        vpc: net.vpc,
        app: appStack,
        fileSystemId: storage?.fileSystem.fileSystemId,
        remoteFileSystemId:
          remoteStorage &&
          crossRegionId(
            { stack: remoteStorage, outputName: STORAGE_OUTPUTS.fileSystemId },
            'fileSystemId',
            recorded.fileSystemIds[remoteStorage.region],
          ),
        globalDatastoreId: globalDatastoreId(role),
      });
    const opsS = operations('secondary', config.secondary, netS, storageS, storageP, appS);
    const opsP = operations('primary', config.primary, netP, storageP, storageS, appP);
    // Until the IDs are recorded, the reads of the other region resolve at deploy: their producers come first.
    const reads = "The switch functions read the other region's file system ID";
    if (storageP && recorded.fileSystemIds[config.primary.region] === undefined)
      opsS.addStackDependency(storageP, reads);
    if (storageS && recorded.fileSystemIds[config.secondary.region] === undefined)
      opsP.addStackDependency(storageS, reads);
    if (dataP?.cache && recorded.globalDatastoreId === undefined) {
      opsS.addStackDependency(dataP, 'The switch functions read the Global Datastore ID');
    }
    // Nothing of the secondary is read by reference, but the plan names the secondary's functions and alarms by
    // ARN and reads its fleets' ARNs by name, so they must exist first.
    opsP.addStackDependency(opsS, "The Region switch plan names the secondary's functions, alarms and fleets");
    opsP.addStackDependency(appS, "The Region switch plan names the secondary's functions, alarms and fleets");

    this.primary = { network: netP, storage: storageP, data: dataP, app: appP, operations: opsP };
    this.secondary = { network: netS, storage: storageS, data: dataS, app: appS, operations: opsS };

    for (const stack of this.stacks) {
      Tags.of(stack).add('Project', 'ha-web-service');
      Tags.of(stack).add('Environment', config.name);
    }
  }

  /** Every stack, in deploy order. */
  public get stacks(): Stack[] {
    const all: (Stack | undefined)[] = [
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
    return all.filter((stack): stack is Stack => stack !== undefined);
  }
}
