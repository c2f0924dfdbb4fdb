/**
 * Typed configuration of one deployment environment (demo, staging, prod, ...).
 *
 * Every value that differs between environments lives here; constructs receive
 * only the part they need. `validateEnvironmentConfig` checks a config before
 * any construct is created.
 */

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
   * EC2 instance types of the web fleet, in order of preference, for example `["t3.small", "t3a.small"]`:
   * at least two of the same CPU architecture (all Graviton or all x86). The group launches the first that
   * has capacity in the AZ, so a shortage of one type (likely when many tenants fail over into a region at
   * once) does not stop the scale-up.
   */
  readonly instanceTypes: readonly string[];
  /** Auto Scaling group size; the secondary may run smaller (warm standby). */
  readonly capacity: CapacityConfig;
  /**
   * The web fleet's Amazon Machine Image in this region, pinned: `ami-` and 8 or 17 hexadecimal digits. An AMI
   * ID belongs to one region, so each region names its own (the same image copied with `aws ec2 copy-image`, or
   * `aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64 --region
   * <region>`). It must be Amazon Linux 2023 (the boot script uses dnf and systemd) of the instance types' CPU
   * architecture. A new ID is a reviewable diff of the launch template's `ImageId` alone, rolled out by instance
   * refresh.
   * @default - the latest Amazon Linux 2023 image of the instance types' architecture, looked up once (SSM
   *   parameter `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arm64|x86_64>`) at the first
   *   `cdk synth` with credentials and kept in `cdk.context.json`; never again until that entry is removed
   *   (`npx cdk context --reset <key>`), so no unrelated deploy rolls the fleet to a newer image.
   */
  readonly machineImageId?: string;
  /** Aurora reader instances in this region's cluster (the secondary's are all readers). */
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
  /** Path of the service's deep readiness endpoint that Route 53 checks. */
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

/** Web fleet, load balancer and rolling deploy settings shared by both regions. */
export interface ServiceConfig {
  /** TCP port the service listens on inside the VPC. */
  readonly port: number;
  /** Path of the shallow health check the ALB uses. */
  readonly healthCheckPath: string;
  /** Seconds between ALB health checks, 5 to 300. */
  readonly healthCheckIntervalSeconds: number;
  /** Failed ALB checks before a target is taken out, 2 to 10. */
  readonly unhealthyThresholdCount: number;
  /** Passed ALB checks before a target takes traffic, 2 to 10. */
  readonly healthyThresholdCount: number;
  /** Seconds a draining target keeps its in-flight requests, 0 to 3600. */
  readonly deregistrationDelaySeconds: number;
  /** Seconds after launch before ELB health counts against an instance. */
  readonly healthCheckGracePeriodSeconds: number;
  /** Seconds a new instance warms up before the refresh moves on and before its metrics count. */
  readonly instanceWarmupSeconds: number;
  /** Average CPU percentage that target tracking holds the fleet at. */
  readonly targetCpuUtilizationPercent: number;
  /** Target 5xx responses per minute that fail (and roll back) an instance refresh. */
  readonly refreshRollback5xxPerMinute: number;
  /** Days ALB access logs are kept. */
  readonly accessLogRetentionDays: number;
  /**
   * Central configuration of the service: environment variables, name to value, kept in Parameter Store under
   * `/haweb/<env>/web/<version>/<NAME>` in both regions (written by each App stack, loaded at boot and checked
   * against the launch template's hash). Names: capital letters, digits and underscores, not one the boot script
   * sets itself (`SERVICE_RESERVED_VARIABLES`) nor a runtime variable (`NODE_OPTIONS`, `LD_*`, `PATH`, ...);
   * values: 1 to 4,096 printable ASCII characters (no line breaks, no `{{resolve:...}}`); at most
   * `MAX_SERVICE_SETTINGS`. Not for secrets (Secrets Manager). A deploy that changes a value rolls the fleet by
   * instance refresh, so every instance runs the new value (README, "Central configuration").
   * @default - no settings (nothing is read at boot)
   */
  readonly settings?: Readonly<Record<string, string>>;
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
  /** Web fleet and deploys. */
  readonly service: ServiceConfig;
  /** E-mail address subscribed to the alarm topics. */
  readonly alarmEmail: string;
  /** Region switch orchestration. */
  readonly regionSwitch: RegionSwitchConfig;
}
