import { CapacityConfig, EnvironmentConfig, ServiceDefinition, ServiceRollout } from './types';

/**
 * Rollout of the example services. Detection by the ALB: a dead target stops getting traffic after
 * `healthCheck.intervalSeconds * unhealthyThresholdCount` = 10 s * 2 = 20 s. `deregistrationDelaySeconds`
 * (30 s) is longer than the services' longest request, so a draining instance finishes what it started.
 */
const ROLLOUT: ServiceRollout = {
  healthCheckGracePeriodSeconds: 120,
  instanceWarmupSeconds: 120,
  rollback5xxPerMinute: 10,
  deregistrationDelaySeconds: 30,
  targetCpuUtilizationPercent: 50,
};

/** The ALB's per-instance check of the example services: their shallow `/health` (liveness and draining). */
const HEALTH_CHECK = { path: '/health', intervalSeconds: 10, unhealthyThresholdCount: 2, healthyThresholdCount: 2 };

/** Node.js 22 as Amazon Linux 2023 packages it, and the command that runs an esbuild bundle's `server.js`. */
const NODE_22 = {
  bootHook: { packages: ['nodejs22'] },
  runCommand: '/usr/bin/node-22 --enable-source-maps server.js',
} as const;

/**
 * The reference service (`service/`): sign-in sessions in the cache, notes in the database, files on the shared
 * file system. Catches every request no other service's rule matches (`/*`, the last priority).
 */
export function webService(
  capacity: { primary: CapacityConfig; secondary: CapacityConfig },
  instanceTypes: readonly string[],
  overrides: Partial<ServiceDefinition> = {},
): ServiceDefinition {
  return {
    name: 'web',
    artifact: { directory: 'service', build: { entry: 'src/server.ts' } },
    ...NODE_22,
    port: 8080,
    routing: { priority: 1000, pathPatterns: ['/*'] },
    healthCheck: HEALTH_CHECK,
    readiness: { path: '/health/ready', writablePointer: '/database/writable' },
    capacity,
    instanceTypes,
    rollout: ROLLOUT,
    uses: ['database', 'sessionCache', 'sharedFiles'],
    ...overrides,
  };
}

/**
 * The catalog example (`services/catalog/`): a read-mostly API under `/api/catalog/*` that uses only the
 * database (reads from the reader endpoint, so it serves in the passive region too). It imports the reference
 * service's database error checks, which count in its bundle's cache key.
 */
export function catalogService(
  capacity: { primary: CapacityConfig; secondary: CapacityConfig },
  instanceTypes: readonly string[],
  overrides: Partial<ServiceDefinition> = {},
): ServiceDefinition {
  return {
    name: 'catalog',
    artifact: {
      directory: 'services/catalog',
      build: { entry: 'src/server.ts', extraSources: ['service/src/errors.ts', 'service/src/db-auth.ts'] },
    },
    ...NODE_22,
    port: 8081,
    routing: { priority: 100, pathPatterns: ['/api/catalog/*'] },
    healthCheck: HEALTH_CHECK,
    readiness: { path: '/api/catalog/health/ready', writablePointer: '/database/writable' },
    capacity,
    instanceTypes,
    rollout: ROLLOUT,
    uses: ['database'],
    ...overrides,
  };
}

/**
 * `demo`: the default environment. Placeholder account and hosted zone, so it
 * synthesizes on any machine with no AWS set-up; replace them before a deploy.
 */
export const demo: EnvironmentConfig = {
  name: 'demo',
  account: '111111111111',
  production: false,
  primary: {
    region: 'us-east-1',
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    vpcCidr: '10.10.0.0/16',
    natGateways: 1,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0de00000000000001',
    databaseReaders: 1,
  },
  secondary: {
    region: 'us-west-2',
    availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
    vpcCidr: '10.20.0.0/16',
    natGateways: 1,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0de00000000000002',
    databaseReaders: 1,
  },
  dns: {
    domainName: 'app.demo.example.com',
    hostedZoneId: 'Z0123456789DEMOZONE',
    hostedZoneName: 'demo.example.com',
    healthCheckFailureThreshold: 3,
    healthCheckPath: '/health/ready',
  },
  database: {
    engineVersion: '16.6',
    instanceClass: 'db.r6g.large',
    backupRetentionDays: 7,
    monitoringIntervalSeconds: 60,
  },
  cache: {
    engineVersion: '8.0',
    nodeType: 'cache.r7g.large',
    replicasPerRegion: 1,
  },
  loadBalancer: { accessLogRetentionDays: 90 },
  services: [webService({ primary: { min: 2, max: 4 }, secondary: { min: 1, max: 4 } }, ['m7g.medium', 'c7g.medium'])],
  alarmEmail: 'ops@demo.example.com',
  regionSwitch: { enabled: false, rtoMinutes: 30, manualApproval: false },
};

/** `staging`: production-shaped, smaller, without the production guards. */
export const staging: EnvironmentConfig = {
  name: 'staging',
  account: '222222222222',
  production: false,
  primary: {
    region: 'eu-west-1',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    vpcCidr: '10.30.0.0/16',
    natGateways: 2,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-05a90000000000001',
    databaseReaders: 1,
  },
  secondary: {
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.40.0.0/16',
    natGateways: 1,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-05a90000000000002',
    databaseReaders: 1,
  },
  dns: {
    domainName: 'app.staging.example.com',
    hostedZoneId: 'Z0123456789STAGING',
    hostedZoneName: 'staging.example.com',
    healthCheckFailureThreshold: 3,
    healthCheckPath: '/health/ready',
  },
  database: {
    engineVersion: '16.6',
    instanceClass: 'db.r6g.large',
    backupRetentionDays: 7,
    monitoringIntervalSeconds: 60,
  },
  cache: {
    engineVersion: '8.0',
    nodeType: 'cache.r7g.large',
    replicasPerRegion: 1,
  },
  loadBalancer: { accessLogRetentionDays: 90 },
  services: [
    // Central configuration (Parameter Store, read at boot): the services log debug lines in staging.
    webService({ primary: { min: 2, max: 6 }, secondary: { min: 1, max: 6 } }, ['m7g.large', 'c7g.large'], {
      environment: { LOG_LEVEL: 'debug' },
    }),
    catalogService({ primary: { min: 2, max: 4 }, secondary: { min: 1, max: 4 } }, ['m7g.medium', 'c7g.medium'], {
      environment: { LOG_LEVEL: 'debug' },
    }),
  ],
  alarmEmail: 'ops@staging.example.com',
  regionSwitch: { enabled: true, rtoMinutes: 30, manualApproval: false },
};

/** `prod`: full size in both regions' primary, guarded against deletion. */
export const prod: EnvironmentConfig = {
  name: 'prod',
  account: '333333333333',
  production: true,
  primary: {
    region: 'us-east-1',
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    vpcCidr: '10.50.0.0/16',
    natGateways: 3,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0ec20000000000001',
    databaseReaders: 2,
  },
  secondary: {
    region: 'us-west-2',
    availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
    vpcCidr: '10.60.0.0/16',
    natGateways: 3,
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0ec20000000000002',
    // Three instances in each region: the writer and two readers once this region is promoted.
    databaseReaders: 3,
  },
  dns: {
    domainName: 'app.example.com',
    hostedZoneId: 'Z0123456789PRODZONE',
    hostedZoneName: 'example.com',
    healthCheckFailureThreshold: 3,
    healthCheckPath: '/health/ready',
  },
  database: {
    engineVersion: '16.6',
    instanceClass: 'db.r6g.xlarge',
    backupRetentionDays: 14,
    monitoringIntervalSeconds: 15,
  },
  cache: {
    engineVersion: '8.0',
    nodeType: 'cache.r7g.large',
    replicasPerRegion: 2,
  },
  loadBalancer: { accessLogRetentionDays: 90 },
  services: [
    webService({ primary: { min: 3, max: 12 }, secondary: { min: 2, max: 12 } }, ['m7g.large', 'm7gd.large'], {
      rollout: { ...ROLLOUT, targetCpuUtilizationPercent: 45 },
      environment: { LOG_LEVEL: 'info', MAINTENANCE_INTERVAL_SECONDS: '60' },
    }),
    catalogService({ primary: { min: 3, max: 6 }, secondary: { min: 2, max: 6 } }, ['m7g.medium', 'm7gd.medium'], {
      environment: { LOG_LEVEL: 'info' },
    }),
  ],

  alarmEmail: 'oncall@example.com',
  regionSwitch: { enabled: true, rtoMinutes: 15, manualApproval: true },
};

/** Every environment `-c env=<name>` can pick. Add yours here. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentConfig>> = { demo, staging, prod };

/** The environment synthesized when no `-c env=` is given. */
export const DEFAULT_ENVIRONMENT = 'demo';
