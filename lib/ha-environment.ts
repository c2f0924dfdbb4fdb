import { Stack, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { stackName, type StackLifecycle } from '../contract';
import { DataComponent, EnvironmentConfig, hasDataComponent, RegionConfig, validateEnvironmentConfig } from './config';
import { crossRegionId } from './cross-region';
import { parseRecorded, RecordedFacts } from './recorded';
import { DATA_OUTPUTS, STORAGE_OUTPUTS } from './stack-outputs';
import { physicalNames, type PhysicalNames } from './names';
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
    const build = new StackFactory(scope, config, parseRecorded(config, recordedFacts));
    const network = { primary: build.network(config.primary), secondary: build.network(config.secondary) };
    const storage = build.storage(network);
    const data = build.data(network);
    const app = {
      primary: build.app('primary', network.primary, storage.primary, data.primary),
      secondary: build.app('secondary', network.secondary, storage.secondary, data.secondary),
    };
    const operations = build.operations(network, storage, data.primary, app);
    this.primary = { ...pick(network, storage, data, app, operations, 'primary') };
    this.secondary = { ...pick(network, storage, data, app, operations, 'secondary') };
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

type Role = 'primary' | 'secondary';
type PerRegion<T> = { readonly primary: T; readonly secondary: T };

function pick(
  network: PerRegion<NetworkStack>,
  storage: PerRegion<StorageStack | undefined>,
  data: PerRegion<DataStack | undefined>,
  app: PerRegion<AppStack>,
  operations: PerRegion<OperationsStack>,
  role: Role,
): RegionStacks {
  return {
    network: network[role],
    storage: storage[role],
    data: data[role],
    app: app[role],
    operations: operations[role],
  };
}

/** Makes each stack of an environment, with what it shares with the others (see {@link HaEnvironment}). */
class StackFactory {
  private readonly names: PhysicalNames;

  constructor(
    private readonly scope: Construct,
    private readonly config: EnvironmentConfig,
    private readonly recorded: RecordedFacts,
  ) {
    this.names = physicalNames(config);
  }

  /**
   * The props every stack shares. `guarded`: termination protection in production on the stateful stacks and the
   * network under them (a failed first create of one of them needs the protection lifted before the retry:
   * docs/runbooks/first-deploy.md).
   */
  private stackProps(r: RegionConfig, lifecycle: StackLifecycle, guarded: boolean) {
    const { config } = this;
    return {
      env: { account: config.account, region: r.region },
      availabilityZones: r.availabilityZones,
      terminationProtection: guarded && config.production,
      stackName: stackName(config.name, lifecycle, r.region),
      description: `HA web service (${config.name}): ${lifecycle} in ${r.region}`,
    };
  }

  private id(lifecycle: StackLifecycle, r: RegionConfig): string {
    return stackName(this.config.name, lifecycle, r.region);
  }

  /** The security groups of the instances of the services that use `component`: exactly those it admits. */
  private clientsOf(net: NetworkStack, component: DataComponent) {
    return this.config.services.filter((s) => s.uses.includes(component)).map((s) => net.securityGroupFor(s.name));
  }

  network(r: RegionConfig): NetworkStack {
    return new NetworkStack(this.scope, this.id('Network', r), {
      ...this.stackProps(r, 'Network', true),
      regionConfig: r,
      services: this.config.services.map((s) => s.name),
    });
  }

  /** Both regions' Storage stacks, the secondary (the replication destination) first; none without shared files. */
  storage(net: PerRegion<NetworkStack>): PerRegion<StorageStack | undefined> {
    const { config, recorded } = this;
    if (!hasDataComponent(config, 'sharedFiles')) return { primary: undefined, secondary: undefined };
    const secondary = new StorageStack(this.scope, this.id('Storage', config.secondary), {
      ...this.stackProps(config.secondary, 'Storage', true),
      vpc: net.secondary.vpc,
      clients: this.clientsOf(net.secondary, 'sharedFiles'),
      replicationDestination: true,
    });
    const primary = new StorageStack(this.scope, this.id('Storage', config.primary), {
      ...this.stackProps(config.primary, 'Storage', true),
      vpc: net.primary.vpc,
      clients: this.clientsOf(net.primary, 'sharedFiles'),
      replicateTo: {
        region: config.secondary.region,
        fileSystemId: crossRegionId(
          { stack: secondary, outputName: STORAGE_OUTPUTS.fileSystemId },
          'fileSystemId',
          recorded.fileSystemIds[config.secondary.region],
        ),
      },
    });
    primary.addStackDependency(secondary, 'EFS replication needs the destination file system');
    return { primary, secondary };
  }

  /** Both regions' Data stacks, the primary (global cluster, Global Datastore) first; none without either. */
  data(net: PerRegion<NetworkStack>): PerRegion<DataStack | undefined> {
    const { config, names, recorded } = this;
    const cache = hasDataComponent(config, 'sessionCache');
    if (!hasDataComponent(config, 'database') && !cache) return { primary: undefined, secondary: undefined };
    const clients = (n: NetworkStack) => ({
      database: this.clientsOf(n, 'database'),
      sessionCache: this.clientsOf(n, 'sessionCache'),
    });
    const primary = new DataStack(this.scope, this.id('Data', config.primary), {
      ...this.stackProps(config.primary, 'Data', true),
      role: 'primary',
      config,
      names,
      recorded,
      vpc: net.primary.vpc,
      clients: clients(net.primary),
    });
    const secondary = new DataStack(this.scope, this.id('Data', config.secondary), {
      ...this.stackProps(config.secondary, 'Data', true),
      role: 'secondary',
      config,
      names,
      vpc: net.secondary.vpc,
      clients: clients(net.secondary),
      globalDatastoreId: cache ? this.globalDatastoreId(primary, 'secondary') : undefined,
    });
    secondary.addStackDependency(
      primary,
      'The secondary joins the global cluster, Global Datastore and secret replicas',
    );
    return { primary, secondary };
  }

  /**
   * The Global Datastore's ID as `role`'s stacks read it: the recorded literal, else a reference to the primary's
   * Data stack (in the primary region) or its output through `cross-region.ts` (in the other).
   */
  private globalDatastoreId(dataP: DataStack, role: Role): string {
    const { recorded } = this;
    if (role === 'primary') {
      return recorded.globalDatastoreId ?? dataP.cache!.globalDatastore!.attrGlobalReplicationGroupId;
    }
    return crossRegionId(
      { stack: dataP, outputName: DATA_OUTPUTS.globalDatastoreId },
      'globalDatastoreId',
      recorded.globalDatastoreId,
    );
  }

  app(role: Role, net: NetworkStack, storage: StorageStack | undefined, data: DataStack | undefined): AppStack {
    const { config, names } = this;
    const r = config[role];
    return new AppStack(this.scope, this.id('App', r), {
      ...this.stackProps(r, 'App', false),
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
          clusterResourceId: data.database.clusterResourceId,
          name: data.database.name,
        },
        cache: data?.cache && {
          endpoint: data.cache.primaryEndpointAddress,
          authSecretName: names.cacheAuthSecretName,
        },
        secretsKeyArn: role === 'primary' ? data?.key.keyArn : undefined,
      },
    });
  }

  /**
   * Both regions' Operations stacks, the secondary first (the primary's plan names its functions, alarms and
   * fleets), with the dependencies on what they read of the other region before the IDs are recorded.
   */
  operations(
    net: PerRegion<NetworkStack>,
    storage: PerRegion<StorageStack | undefined>,
    dataP: DataStack | undefined,
    app: PerRegion<AppStack>,
  ): PerRegion<OperationsStack> {
    const { config, recorded } = this;
    const make = (role: Role, remote: Role) => {
      const r = config[role];
      const remoteStorage = storage[remote];
      return new OperationsStack(this.scope, this.id('Operations', r), {
        ...this.stackProps(r, 'Operations', false),
        role,
        config,
        names: this.names,
        vpc: net[role].vpc,
        app: app[role],
        fileSystemId: storage[role]?.fileSystem.fileSystemId,
        remoteFileSystemId:
          remoteStorage &&
          crossRegionId(
            { stack: remoteStorage, outputName: STORAGE_OUTPUTS.fileSystemId },
            'fileSystemId',
            recorded.fileSystemIds[remoteStorage.region],
          ),
        globalDatastoreId: dataP?.cache ? this.globalDatastoreId(dataP, role) : undefined,
      });
    };
    const secondary = make('secondary', 'primary');
    const primary = make('primary', 'secondary');
    // Until the IDs are recorded, the reads of the other region resolve at deploy: their producers come first.
    const reads = "The switch functions read the other region's file system ID";
    if (storage.primary && recorded.fileSystemIds[config.primary.region] === undefined)
      secondary.addStackDependency(storage.primary, reads);
    if (storage.secondary && recorded.fileSystemIds[config.secondary.region] === undefined)
      primary.addStackDependency(storage.secondary, reads);
    if (dataP?.cache && recorded.globalDatastoreId === undefined) {
      secondary.addStackDependency(dataP, 'The switch functions read the Global Datastore ID');
    }
    // Nothing of the secondary is read by reference, but the plan names the secondary's functions and alarms by
    // ARN and reads its fleets' ARNs by name, so they must exist first.
    primary.addStackDependency(secondary, "The Region switch plan names the secondary's functions, alarms and fleets");
    primary.addStackDependency(
      app.secondary,
      "The Region switch plan names the secondary's functions, alarms and fleets",
    );
    return { primary, secondary };
  }
}
