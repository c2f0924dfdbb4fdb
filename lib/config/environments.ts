import { EnvironmentConfig, ServiceConfig } from './types';

/**
 * Settings of the web fleet shared by the example environments.
 *
 * Detection by the ALB: a dead target stops getting traffic after
 * `healthCheckIntervalSeconds * unhealthyThresholdCount` = 10 s * 2 = 20 s.
 * `deregistrationDelaySeconds` (30 s) is longer than the service's longest
 * request, so a draining instance finishes what it started.
 */
const SERVICE_DEFAULTS: ServiceConfig = {
  port: 8080,
  healthCheckPath: '/health',
  healthCheckIntervalSeconds: 10,
  unhealthyThresholdCount: 2,
  healthyThresholdCount: 2,
  deregistrationDelaySeconds: 30,
  healthCheckGracePeriodSeconds: 120,
  instanceWarmupSeconds: 120,
  targetCpuUtilizationPercent: 50,
  refreshRollback5xxPerMinute: 10,
  accessLogRetentionDays: 90,
};

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
    instanceTypes: ['m7g.medium', 'c7g.medium'],
    capacity: { min: 2, max: 4 },
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0de00000000000001',
    databaseReaders: 1,
  },
  secondary: {
    region: 'us-west-2',
    availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
    vpcCidr: '10.20.0.0/16',
    natGateways: 1,
    instanceTypes: ['m7g.medium', 'c7g.medium'],
    capacity: { min: 1, max: 4 },
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
  service: SERVICE_DEFAULTS,
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
    instanceTypes: ['m7g.large', 'c7g.large'],
    capacity: { min: 2, max: 6 },
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-05a90000000000001',
    databaseReaders: 1,
  },
  secondary: {
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.40.0.0/16',
    natGateways: 1,
    instanceTypes: ['m7g.large', 'c7g.large'],
    capacity: { min: 1, max: 6 },
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
  // Central configuration (Parameter Store, read at boot): the service logs debug lines in staging.
  service: { ...SERVICE_DEFAULTS, settings: { LOG_LEVEL: 'debug' } },
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
    instanceTypes: ['m7g.large', 'm7gd.large'],
    capacity: { min: 3, max: 12 },
    // Placeholder: your region's Amazon Linux 2023 image (see RegionConfig.machineImageId), or remove the key.
    machineImageId: 'ami-0ec20000000000001',
    databaseReaders: 2,
  },
  secondary: {
    region: 'us-west-2',
    availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
    vpcCidr: '10.60.0.0/16',
    natGateways: 3,
    instanceTypes: ['m7g.large', 'm7gd.large'],
    capacity: { min: 2, max: 12 },
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
  service: {
    ...SERVICE_DEFAULTS,
    targetCpuUtilizationPercent: 45,
    settings: { LOG_LEVEL: 'info', MAINTENANCE_INTERVAL_SECONDS: '60' },
  },
  alarmEmail: 'oncall@example.com',
  regionSwitch: { enabled: true, rtoMinutes: 15, manualApproval: true },
};

/** Every environment `-c env=<name>` can pick. Add yours here. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentConfig>> = { demo, staging, prod };

/** The environment synthesized when no `-c env=` is given. */
export const DEFAULT_ENVIRONMENT = 'demo';
