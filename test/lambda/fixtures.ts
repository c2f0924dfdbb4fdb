/**
 * Shared fixtures of the region switch function tests. Importing this module
 * first sets a valid environment, so each function's cold-start configuration
 * loads, and silences the Powertools logger.
 */
import type { Runtime, Log } from '../../lambda/shared/runtime';

export const EAST = 'us-east-1';
export const WEST = 'us-west-2';

export const RESOURCES = {
  [EAST]: {
    appStackName: 'HaWeb-prod-App-us-east-1',
    dbClusterIdentifier: 'haweb-prod-east',
    cacheReplicationGroupId: 'haweb-prod-east-cache',
    fileSystemId: 'fs-0123456789abcdef0',
    regionalUrl: 'https://us-east-1.example.com',
  },
  [WEST]: {
    appStackName: 'HaWeb-prod-App-us-west-2',
    dbClusterIdentifier: 'haweb-prod-west',
    cacheReplicationGroupId: 'haweb-prod-west-cache',
    fileSystemId: 'fs-0fedcba9876543210',
    regionalUrl: 'https://us-west-2.example.com',
  },
};

/**
 * What each region's app stack outputs (lib/stack-outputs.ts), as preflight reads them at run time: the target
 * groups of the services `web` (`TargetGroupArnWeb`) and `order-api` (`TargetGroupArnOrderApi`), the health check.
 */
export const APP_STACK_OUTPUTS = {
  [EAST]: {
    targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-east/0123456789abcdef',
    orderApiTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/order-api-east/0123456789abcd01',
    healthCheckId: '11111111-2222-3333-4444-555555555555',
  },
  [WEST]: {
    targetGroupArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/web-west/fedcba9876543210',
    orderApiTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/order-api-west/fedcba98765432ab',
    healthCheckId: '66666666-7777-8888-9999-000000000000',
  },
};

/** The one service of the valid environment: the reference web service. */
export const WEB_SERVICE = { name: 'web', readinessPath: '/health/ready', writablePointer: '/database/writable' };

/** A second service, for environments of two. */
export const ORDER_API_SERVICE = { name: 'order-api', readinessPath: '/api/orders/ready', writablePointer: null };

export const VALID_ENV: Record<string, string> = {
  REGIONS: JSON.stringify(RESOURCES),
  SERVICES: JSON.stringify([WEB_SERVICE]),
  GLOBAL_CLUSTER_IDENTIFIER: 'haweb-prod-global',
  GLOBAL_DATASTORE_ID: 'ldgnf-haweb-prod-sessions',
};

/** The variables of each data component: its global variable (if any) and its key in every region. */
const COMPONENT_VARIABLES = {
  database: { global: 'GLOBAL_CLUSTER_IDENTIFIER', key: 'dbClusterIdentifier' },
  cache: { global: 'GLOBAL_DATASTORE_ID', key: 'cacheReplicationGroupId' },
  files: { global: undefined, key: 'fileSystemId' },
} as const;

/** {@link VALID_ENV} of an environment without the data `components` (their variables and REGIONS keys removed). */
export function envWithout(...components: (keyof typeof COMPONENT_VARIABLES)[]): Record<string, string> {
  const env = { ...VALID_ENV };
  const regions = JSON.parse(VALID_ENV.REGIONS!) as Record<string, Record<string, string>>;
  for (const component of components) {
    const { global, key } = COMPONENT_VARIABLES[component];
    if (global) delete env[global];
    for (const resources of Object.values(regions)) delete resources[key];
  }
  env.REGIONS = JSON.stringify(regions);
  return env;
}

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
Object.assign(process.env, VALID_ENV);

/** Region switch's invocation of a graceful activation of us-west-2. */
export const REGION_SWITCH_EVENT = {
  executionId: 'a1b2c3d4',
  planArn: 'arn:aws:arc-region-switch::123456789012:plan/haweb-prod:abc123',
  executionAction: 'activate',
  executionMode: 'graceful',
  activateRegion: WEST,
  deactivateRegion: EAST,
};

/** The operator CLI's planned switch to us-west-2. */
export const OPERATOR_EVENT = { targetRegion: WEST, sourceRegion: EAST, mode: 'planned' };

/** A log that keeps its entries. */
export function memoryLog(): Log & { entries: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const entries: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return {
    entries,
    info: (message, fields) => entries.push({ level: 'info', message, fields }),
    warn: (message, fields) => entries.push({ level: 'warn', message, fields }),
    error: (message, fields) => entries.push({ level: 'error', message, fields }),
  };
}

/** A runtime whose clock moves only when it sleeps, and records the sleeps. */
export function fakeRuntime(
  timeoutMs = 15 * 60_000,
): Runtime & { sleeps: number[]; log: ReturnType<typeof memoryLog> } {
  const start = Date.parse('2025-06-01T12:00:00Z');
  let now = start;
  const sleeps: number[] = [];
  return {
    log: memoryLog(),
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    deadline: start + timeoutMs,
  };
}

/** An error as the SDK raises it, by exception name. */
export function awsError(name: string, message = name): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** A throttling error, as the SDK raises it once its own retries are spent. */
export function throttled(): Error {
  return awsError('ThrottlingException', 'Rate exceeded');
}

/** An SDK client's resolved retry configuration (the parts lambda/shared/sdk.ts sets). */
interface RetryConfigured {
  readonly config: {
    maxAttempts(): Promise<number>;
    retryStrategy(): Promise<object>;
  };
}

/** The retry settings `client` resolved: its attempts and its retry strategy's mode. */
export async function retrySettings(client: unknown): Promise<{ maxAttempts: number; retryMode: unknown }> {
  const { config } = client as RetryConfigured;
  const strategy = (await config.retryStrategy()) as { readonly mode?: string };
  return { maxAttempts: await config.maxAttempts(), retryMode: strategy.mode };
}

/**
 * Loads `modulePath` afresh with `env` in place of the valid environment (cold-start configuration),
 * with the modules named in `alsoLoad` (an SDK client, to mock) from the same fresh registry.
 */
export function loadWithEnv<T>(
  modulePath: string,
  env: Record<string, string | undefined>,
  alsoLoad: readonly string[] = [],
): T & { loaded: Record<string, unknown> } {
  const saved = { ...process.env };
  for (const key of Object.keys(VALID_ENV)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  let result: (T & { loaded: Record<string, unknown> }) | undefined;
  try {
    jest.isolateModules(() => {
      const loaded: Record<string, unknown> = {};
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      for (const name of alsoLoad) loaded[name] = require(name);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      result = { ...(require(modulePath) as T), loaded };
    });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  return result!;
}
