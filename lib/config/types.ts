/**
 * Typed configuration of one deployment environment (demo, staging, prod, ...).
 *
 * Every value that differs between environments lives here; constructs receive
 * only the part they need. `validateEnvironmentConfig` checks a config before
 * any construct is created.
 */
import { COMPONENTS, CONFIG_COMPONENT, type ConfigComponent } from '../../contract/components';

import type { ServiceRouting } from './routing';

export type { ServiceRouting } from './routing';

/**
 * Instance counts of one region's Auto Scaling group. There is no desired capacity: how many instances run is
 * the running system's state, not the template's. A new group starts at `min`; scaling policies and the Region
 * switch plan's scale-up of the region it activates change it at run time, and a deploy leaves it alone (a
 * template that set it would undo the plan's scale-up in the middle of an incident).
 */
export interface CapacityConfig {
  /** Fewest instances the group keeps in service, and the size a new group starts with. */
  readonly min: number;
  /** Most instances scaling (or the plan's scale-up) may run. */
  readonly max: number;
}

/** Settings of one of the two regions. */
export interface RegionConfig {
  /** AWS region name, for example `us-east-1`. */
  readonly region: string;
  /**
   * The three availability zones to spread over. Given here so that synthesis
   * never looks them up in the account.
   */
  readonly availabilityZones: readonly string[];
  /** IPv4 CIDR of the region's VPC, /16 to /20; must not overlap the other region's. */
  readonly vpcCidr: string;
  /** NAT gateways (1 to 3); 3 keeps egress alive through the loss of an AZ. */
  readonly natGateways: number;
  /**
   * The base Amazon Machine Image of this region's fleets (every service whose artifact is a directory), pinned: `ami-` and 8 or 17 hexadecimal digits. An AMI
   * ID belongs to one region, so each region names its own (the same image copied with `aws ec2 copy-image`, or
   * `aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64 --region
   * <region>`). It must be Amazon Linux 2023 (the boot script uses dnf and systemd) of the instance types' CPU
   * architecture. A new ID is a reviewable diff of the launch templates' `ImageId` alone, rolled out by instance
   * refresh. A service whose artifact is an image (`ServiceArtifact.machineImageIds`) uses its own instead.
   * @default - the latest Amazon Linux 2023 image of the instance types' architecture, looked up once (SSM
   *   parameter `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arm64|x86_64>`, the architecture
   *   of each service's first instance type) at the first
   *   `cdk synth` with credentials and kept in `cdk.context.json`; never again until that entry is removed
   *   (`npx cdk context --reset <key>`), so no unrelated deploy rolls the fleet to a newer image.
   */
  readonly machineImageId?: string;
  /** Aurora reader instances in this region's cluster (the secondary's are all readers); unused without a database. */
  readonly databaseReaders: number;
}

/** DNS names and the Route 53 health checks that drive failover. */
export interface DnsConfig {
  /** The service's public name, for example `app.example.com`; must sit inside `hostedZoneName`. */
  readonly domainName: string;
  /** ID of the existing public hosted zone (imported by attributes, never looked up). */
  readonly hostedZoneId: string;
  /** Name of that hosted zone, for example `example.com`. */
  readonly hostedZoneName: string;
  /**
   * Consecutive failed Route 53 checks (10 s apart) before a region counts as
   * unhealthy, 1 to 10.
   */
  readonly healthCheckFailureThreshold: number;
  /**
   * Path, on the region's own name, that the region's Route 53 health check requests (through the listener rules,
   * so it reaches the service whose routing matches it): the deep readiness endpoint that decides whether the
   * region takes traffic, for example `/health/ready`.
   */
  readonly healthCheckPath: string;
}

/** Aurora PostgreSQL Global Database settings. */
export interface DatabaseConfig {
  /** Full Aurora PostgreSQL engine version, for example `16.6`. */
  readonly engineVersion: string;
  /** DB instance class; Global Database needs a memory-optimised class (`db.r*`). */
  readonly instanceClass: string;
  /** Days of automated backups kept, 1 to 35. */
  readonly backupRetentionDays: number;
  /**
   * Seconds between Enhanced Monitoring samples of every Aurora instance: 1, 5, 10, 15, 30 or 60 (the values
   * RDS accepts; 0, which turns it off, is refused: AWS Control Tower CT.RDS.PR.2).
   */
  readonly monitoringIntervalSeconds: number;
}

/** ElastiCache (Valkey) Global Datastore settings for sessions. */
export interface CacheConfig {
  /** Valkey engine version, for example `8.0`. */
  readonly engineVersion: string;
  /** Cache node type; Global Datastore needs `cache.m*` or `cache.r*` (no `t` types). */
  readonly nodeType: string;
  /** Read replicas per region besides the primary node, 1 to 5 (Multi-AZ needs 1+). */
  readonly replicasPerRegion: number;
}

/** The region's shared load balancer. */
export interface LoadBalancerConfig {
  /** Days ALB access logs are kept, 1 to 3650. */
  readonly accessLogRetentionDays: number;
}

/**
 * A data component of an environment, created only when at least one service uses it: the config's names of the
 * contract's components (`contract/components.ts`, where the switch functions' and the CLI's names are mapped).
 */
export type DataComponent = ConfigComponent;

/** Every {@link DataComponent}, in the order they are created and switched (the contract's order). */
export const DATA_COMPONENTS: readonly DataComponent[] = COMPONENTS.map((c) => CONFIG_COMPONENT[c]);

/** Most services one environment may hold (listener rules, fleets and alarms per region grow with each). */
export const MAX_SERVICES = 10;

/**
 * How a directory artifact is built: esbuild bundles a Node.js entry point into one CommonJS `server.js` (with a
 * linked source map, Node.js 22, every dependency bundled), locally, once per content (`lib/bundling.ts`).
 */
export interface NodeBundleBuild {
  /** The TypeScript or JavaScript entry point, relative to the artifact directory, for example `src/server.ts`. */
  readonly entry: string;
  /**
   * Files or folders outside the artifact directory that the entry point imports, relative to the repository
   * root (where `cdk.json` is): they count in the bundle's cache key, so a change of one rebuilds it.
   * @default - none
   */
  readonly extraSources?: readonly string[];
}

/**
 * What a service runs: exactly one of
 *
 * - `directory`: a folder of the repository (relative to its root, where `cdk.json` is), zipped into a versioned
 *   S3 asset (the key is the content's hash, so a change of a byte is a new version and an instance refresh),
 *   downloaded and unpacked to `/opt/haweb/app` at boot, where `runCommand` runs; with `build`, the folder is
 *   bundled first and the asset holds the bundle only;
 * - `machineImageIds`: an image per region with the service already installed (`ami-` and 8 or 17 hexadecimal
 *   digits, one ID of each region), instead of the regions' base image; nothing is downloaded at boot.
 */
export interface ServiceArtifact {
  /** Folder of the service, relative to the repository root, for example `services/catalog`. */
  readonly directory?: string;
  /**
   * Build the folder with esbuild before packaging it.
   * @default - the folder is packaged as it is
   */
  readonly build?: NodeBundleBuild;
  /**
   * Files of a directory without a build to leave out of the asset: glob patterns as in `.gitignore`, for example
   * `[".git", ".env", "tests/"]` (secrets and history must not reach the asset bucket).
   * @default - none: every file of the folder
   */
  readonly exclude?: readonly string[];
  /** The service's image in each region (an AMI belongs to one region): `{ primary: 'ami-…', secondary: 'ami-…' }`. */
  readonly machineImageIds?: { readonly primary: string; readonly secondary: string };
}

/** What the boot script does for a service before it starts it, after the platform's own steps. */
export interface BootHook {
  /**
   * Amazon Linux 2023 packages to install with dnf, for example `["nodejs22"]` (names of letters, digits, `.`,
   * `_`, `+`, `-`).
   * @default - none
   */
  readonly packages?: readonly string[];
  /**
   * Shell commands run as root (bash, `set -euo pipefail`) after the artifact is in place and before the service
   * starts; a failing command stops the boot, and the instance never becomes healthy (instance refresh rolls back).
   * No line breaks, no secrets (the boot script is in the launch template).
   * @default - none
   */
  readonly commands?: readonly string[];
}

/** A secret of a service: a Secrets Manager secret (in both regions: a replica in the secondary), read at boot. */
export interface ServiceSecret {
  /** The secret's name, the same in both regions, for example `orders/payment-api-key`. */
  readonly secretName: string;
  /**
   * Key of the secret's JSON value to take.
   * @default - the whole secret string
   */
  readonly jsonKey?: string;
}

/** Extra permissions of a service's instances, in IAM's words: allowed actions on resources. */
export interface ServiceGrant {
  /** IAM actions, `service:Action`, wildcards only after a prefix (`s3:Get*`), for example `["sqs:SendMessage"]`. */
  readonly actions: readonly string[];
  /** ARNs the actions are allowed on; `*` only where the action allows no resource scope. */
  readonly resources: readonly string[];
  /**
   * Why the service needs this. Required when an action or a resource holds a wildcard: it becomes the cdk-nag
   * acknowledgement (AwsSolutions-IAM5) on the instance role, where reviewers see it.
   * @default - none (no wildcard allowed)
   */
  readonly reason?: string;
}

/** The ALB's health check of a service's targets (the shallow, per-instance check). */
export interface ServiceHealthCheck {
  /** Path the load balancer requests on each instance, for example `/health`. */
  readonly path: string;
  /** Seconds between checks, 5 to 300. */
  readonly intervalSeconds: number;
  /** Failed checks before a target is taken out, 2 to 10. */
  readonly unhealthyThresholdCount: number;
  /** Passed checks before a target takes traffic, 2 to 10. */
  readonly healthyThresholdCount: number;
}

/**
 * The service's deep readiness endpoint, reached through the load balancer on the region's own name
 * (`https://<region>.<domainName><path>`): pre-flight and post-check of a region switch request it, and require
 * HTTP 200 and, with `writablePointer`, the value `true` at that place of the JSON body.
 */
export interface ServiceReadiness {
  /** Path, routed to this service by its `routing`, for example `/api/catalog/health/ready`. */
  readonly path: string;
  /**
   * RFC 6901 JSON pointer to where the body reports a writable database, for example `/database/writable`.
   * Required when the service uses the database (post-check proves the promoted region writes).
   * @default - the service reports no database state (HTTP 200 is enough)
   */
  readonly writablePointer?: string;
}

/** Instance counts of one service's Auto Scaling group in each region. */
export interface ServiceCapacity {
  /** In the primary region. */
  readonly primary: CapacityConfig;
  /** In the secondary region (may run smaller: a warm standby). */
  readonly secondary: CapacityConfig;
}

/** How the instances of a service are rolled out and scaled. */
export interface ServiceRollout {
  /** Seconds after launch before ELB health counts against an instance, 0 to 7200. */
  readonly healthCheckGracePeriodSeconds: number;
  /** Seconds a new instance warms up before the refresh moves on and before its metrics count, 0 to 3600. */
  readonly instanceWarmupSeconds: number;
  /** Target 5xx responses per minute that fail (and roll back) an instance refresh, 1 to 100,000. */
  readonly rollback5xxPerMinute: number;
  /** Seconds a draining target keeps its in-flight requests, 0 to 3600. */
  readonly deregistrationDelaySeconds: number;
  /** Average CPU percentage that target tracking holds the group at, 10 to 90. */
  readonly targetCpuUtilizationPercent: number;
}

/**
 * One service (workload) of the environment: in each region its own Auto Scaling group (instance refresh with
 * alarm rollback), target group and listener rule on the shared HTTPS listener, alarms, dashboard row, fault
 * injection target and place in the Region switch plan. README, "Deploy your own service", documents every key.
 */
export interface ServiceDefinition {
  /**
   * Stable name, used in resource names and paths (`haweb-<env>-<name>`, `/haweb/<env>/<name>`): 1 to 20
   * lower-case letters, digits and single dashes, starting with a letter. Renaming a service replaces it.
   */
  readonly name: string;
  /** What the service runs. */
  readonly artifact: ServiceArtifact;
  /**
   * The command systemd runs (as the unprivileged service user, in `/opt/haweb/app`), for example
   * `/usr/bin/node-22 --enable-source-maps server.js`: an absolute program path and its arguments, no shell.
   */
  readonly runCommand: string;
  /**
   * Packages and commands of the boot script for this service.
   * @default - none
   */
  readonly bootHook?: BootHook;
  /** TCP port the service listens on, 1024 to 65535. */
  readonly port: number;
  /**
   * Central configuration: environment variables, name to value, kept in Parameter Store under
   * `/haweb/<env>/<name>/<version>/<NAME>` in both regions (written by each App stack, loaded at boot and checked
   * against the launch template's hash). Names: capital letters, digits and underscores, not one the platform sets
   * itself (`SERVICE_RESERVED_VARIABLES`) nor a runtime variable (`NODE_OPTIONS`, `LD_*`, `PATH`, ...); values: 1
   * to 4,096 printable ASCII characters (no line breaks, no `{{resolve:...}}`); at most `MAX_SERVICE_SETTINGS`.
   * Not for secrets (`secrets`). A deploy that changes a value rolls the group by instance refresh (README,
   * "Central configuration").
   * @default - none (nothing is read at boot)
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Secrets, environment variable name to Secrets Manager secret (and JSON key), read at boot into the root-only
   * environment file; the instances may read exactly these secrets.
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, ServiceSecret>>;
  /**
   * Extra IAM permissions of the instances.
   * @default - none: the instances get only what the platform grants (artifact, logs, settings, secrets, the data
   *   components in `uses`)
   */
  readonly grants?: readonly ServiceGrant[];
  /** Which requests of the shared HTTPS listener go to this service (`lib/config/routing.ts`). */
  readonly routing: ServiceRouting;
  /** The load balancer's per-instance health check. */
  readonly healthCheck: ServiceHealthCheck;
  /**
   * The deep readiness endpoint the region switch checks.
   * @default - none: the switch checks only that the service's target group has healthy targets
   */
  readonly readiness?: ServiceReadiness;
  /** Group sizes per region. */
  readonly capacity: ServiceCapacity;
  /**
   * EC2 instance types in order of preference, for example `["m7g.large", "c7g.large"]`: at least two of the same
   * CPU architecture (all Graviton or all x86). The group launches the first that has capacity in the AZ, so a
   * shortage of one type (likely when many tenants fail over into a region at once) does not stop the scale-up.
   */
  readonly instanceTypes: readonly string[];
  /** Instance refresh, rollback and scaling thresholds. */
  readonly rollout: ServiceRollout;
  /**
   * The data components the service uses, which decide the environment variables it gets, what its instances may
   * reach and what exists at all: `database` (Aurora: `DATABASE_*`), `sessionCache` (Valkey: `REDIS_*`),
   * `sharedFiles` (EFS, mounted at `/mnt/shared`: `FILES_DIR=/mnt/shared/<name>`).
   */
  readonly uses: readonly DataComponent[];
}

/** The Route 53 ARC Region switch plan of an environment. */
export interface RegionSwitchConfig {
  /** Deploy the plan (and its execution role and report bucket). */
  readonly enabled: boolean;
  /** Recovery time objective the plan is held to, in minutes (5 to 1440). */
  readonly rtoMinutes: number;
  /** Ask an operator to approve before the data tier is switched. */
  readonly manualApproval: boolean;
}

/** One deployment environment. */
export interface EnvironmentConfig {
  /** Environment name, used in stack names: lower-case letters, digits and dashes. */
  readonly name: string;
  /** 12-digit AWS account ID that both regions deploy into. */
  readonly account: string;
  /**
   * Production safety: ALB deletion protection and CloudFormation termination
   * protection on the stateful stacks.
   */
  readonly production: boolean;
  /**
   * The region the environment was first created in: it creates the global cluster from its cluster (the first
   * Aurora writer), creates the Global Datastore with its group as the first primary, replicates its EFS file
   * system to the secondary's, and holds the PRIMARY failover record and the Region switch plan. These are
   * creation-time facts: which region is active later is runtime state that the Region switch plan moves, and
   * no config edit follows a switch (swapping `primary` and `secondary` would delete and recreate the data tier;
   * README, "Deploy model"). `failback` returns the active role here.
   */
  readonly primary: RegionConfig;
  /**
   * The other region: a warm standby at creation (read-only replicas of the data tier, a smaller fleet), and the
   * active region after a switchover or failover. In production it must be able to run what the primary runs
   * (validation: database instances, NAT gateways, maximum capacity).
   */
  readonly secondary: RegionConfig;
  /** Public names and failover health checks. */
  readonly dns: DnsConfig;
  /** Aurora Global Database. */
  readonly database: DatabaseConfig;
  /** Session cache Global Datastore. */
  readonly cache: CacheConfig;
  /** The shared load balancer of each region. */
  readonly loadBalancer: LoadBalancerConfig;
  /**
   * The services (workloads), each its own Auto Scaling group and target group behind the region's shared HTTPS
   * listener, in both regions: 1 to {@link MAX_SERVICES}, unique names. The data components exist only when a
   * service uses them (`uses`); README, "Deploy your own service".
   */
  readonly services: readonly ServiceDefinition[];
  /** E-mail address subscribed to the alarm topics. */
  readonly alarmEmail: string;
  /** Region switch orchestration. */
  readonly regionSwitch: RegionSwitchConfig;
}
