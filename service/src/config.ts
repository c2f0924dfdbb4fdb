/**
 * The service's configuration, read from environment variables. This is the only module that reads
 * `process.env`; everything else receives a {@link ServiceConfig}.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { DatabaseCredentials } from './db-auth';

/** Log levels the service accepts in LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How the service reaches PostgreSQL. */
export interface DatabaseConfig {
  /**
   * Host name of the region's writer endpoint (the Aurora cluster endpoint). In the passive region it does not
   * resolve until the region is promoted (AWS lists a secondary cluster's writer endpoint as `inactive`).
   */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /**
   * Host name of the region's reader endpoint, used for a new connection while the writer endpoint cannot be
   * reached (the passive region); the writer is tried again every few seconds. @default - the writer only
   */
  readonly readerHost?: string;
  /** TCP port of the reader endpoint. @default - {@link port} */
  readonly readerPort?: number;
  /** Database name. */
  readonly name: string;
  /** User name: the service's own role (`svc_<service>` when deployed), never the administrator. */
  readonly user: string;
  /**
   * How the service signs in, for each new connection (./db-auth.ts): an IAM database authentication token
   * (`DATABASE_AUTH=iam`, what the deploy sets), a password file read again for each connection
   * (`DATABASE_PASSWORD_FILE`), or a fixed password (`DATABASE_PASSWORD`). Never logged.
   */
  readonly credentials: DatabaseCredentials;
  /** Whether to connect with TLS (certificate verified). */
  readonly ssl: boolean;
  /** Path of a PEM CA bundle (the RDS CA bundle) that signs the server's certificate. @default - system CAs */
  readonly sslCaPath?: string;
}

/** How the service reaches Redis or Valkey (the session store). */
export interface RedisConfig {
  /** Host name of the primary endpoint. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** AUTH password; never logged. @default - no AUTH */
  readonly password?: string;
  /** Whether to connect with TLS. */
  readonly tls: boolean;
}

/** Limits of sign-in attempts and sign-ups (./sign-in-limits.ts), shared by every instance through Redis. */
export interface SignInLimitsConfig {
  /** Failed sign-ins from one client IP in a day before the IP is blocked for a day. */
  readonly failuresPerIpPerDay: number;
  /** Consecutive failed sign-ins of one user name from one client IP before the pair is blocked for an hour. */
  readonly consecutiveFailuresPerUserAndIp: number;
  /** Failed sign-ins of one account in a day, from any IP, before the account's sign-in is blocked for an hour. */
  readonly failuresPerAccountPerDay: number;
  /** Sign-ups from one client IP in an hour. */
  readonly signUpsPerIpPerHour: number;
}

/** Default of SIGN_UPS_PER_IP_PER_HOUR. */
export const DEFAULT_SIGN_UPS_PER_IP_PER_HOUR = 20;

/** The whole configuration of the service. */
export interface ServiceConfig {
  /** TCP port to listen on. */
  readonly port: number;
  /** Address to listen on. */
  readonly host: string;
  /** Version reported in `x-service-version`, health bodies and logs. */
  readonly version: string;
  /** Instance ID reported in `x-instance-id`, health bodies and logs. */
  readonly instanceId: string;
  /** Number of reverse proxies in front of the service whose X-Forwarded-For entries are trusted (0 = none). */
  readonly trustedProxyHops: number;
  /** PostgreSQL. */
  readonly database: DatabaseConfig;
  /** Session store. */
  readonly redis: RedisConfig;
  /** Shared directory for uploaded files (an EFS mount on EC2). */
  readonly filesDir: string;
  /** Session lifetime since last use, in seconds. */
  readonly sessionTtlSeconds: number;
  /** Whether the session cookie carries the Secure attribute. */
  readonly cookieSecure: boolean;
  /** Worker threads that hash and verify passwords (argon2id, about 80 ms of CPU each). */
  readonly passwordHashWorkers: number;
  /** Most password hashes waiting for a worker; a sign-in or sign-up beyond is refused with 503 and Retry-After. */
  readonly passwordHashQueue: number;
  /** Limits of sign-in attempts and sign-ups. */
  readonly signInLimits: SignInLimitsConfig;
  /** Largest accepted upload, in bytes. */
  readonly maxUploadBytes: number;
  /** Largest JSON body of a route that needs a session (POST /notes), in bytes. */
  readonly maxJsonBodyBytes: number;
  /** Largest body of a route open to anyone (POST /session), in bytes; the default of every route. */
  readonly maxPublicBodyBytes: number;
  /** Time limit to receive a request head (request line and headers), in milliseconds: 408 after it. */
  readonly headersTimeoutMs: number;
  /** Time limit to receive a whole request, head and body (an upload included), in milliseconds: 408 after it. */
  readonly requestTimeoutMs: number;
  /**
   * Time without a byte received after which a request whose body is incomplete is answered 408, and a connection
   * without a request in progress is closed, in milliseconds.
   */
  readonly idleTimeoutMs: number;
  /**
   * Time an idle kept-alive connection stays open between requests, in milliseconds; above the load balancer's
   * idle timeout (60 s), so that the load balancer, not the instance, closes idle connections.
   */
  readonly keepAliveTimeoutMs: number;
  /** Time limit of each deep health check, in milliseconds. */
  readonly healthTimeoutMs: number;
  /** Time between the start of shutdown (health turns 503) and closing the listener, in seconds. */
  readonly shutdownDrainSeconds: number;
  /** Time after which an unfinished shutdown exits with status 1, in seconds. */
  readonly shutdownTimeoutSeconds: number;
  /**
   * Time between maintenance rounds (retry of migrations left pending by a read-only database, sweep of
   * abandoned upload files), in seconds.
   */
  readonly maintenanceIntervalSeconds: number;
  /** Minimum level of log lines. */
  readonly logLevel: LogLevel;
}

/** Thrown by {@link loadConfig} when a variable is missing or invalid; the message names every such variable. */
export class ConfigError extends Error {
  /** The problems found, one per variable. */
  public readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads variables and collects every problem, so one message lists them all. */
class EnvReader {
  public readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) {
      this.problems.push(`${name} is required`);
      return '';
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /** A secret: kept verbatim (not trimmed), and never echoed in a message. */
  secret(name: string, required: boolean): string | undefined {
    const value = this.env[name];
    if (value === undefined || value === '') {
      if (required) this.problems.push(`${name} is required`);
      return undefined;
    }
    return value;
  }

  integer(name: string, fallback: number | undefined, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) {
      if (fallback === undefined) this.problems.push(`${name} is required`);
      return fallback ?? min;
    }
    const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback ?? min;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.problems.push(`${name} must be "true" or "false" (got "${this.raw(name)}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }
}

const MAX_PORT = 65535;
const ONE_GIB = 1024 * 1024 * 1024;
const ONE_MIB = 1024 * 1024;

/** What may appear in a response header value written by the service (SERVICE_VERSION, INSTANCE_ID). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * Reads the configuration from environment variables (see service/README.md for the table).
 *
 * @param env the environment; @default process.env
 * @throws ConfigError naming every missing or invalid variable
 */
export function loadConfig(env: Env = process.env): ServiceConfig {
  const read = new EnvReader(env);
  const sslCaPath = read.optionalString('DATABASE_SSL_CA');
  const config: ServiceConfig = {
    port: read.integer('PORT', 8080, 1, MAX_PORT),
    host: read.string('HOST', '0.0.0.0'),
    version: read.string('SERVICE_VERSION', '0.0.0-dev'),
    instanceId: read.string('INSTANCE_ID', os.hostname()),
    trustedProxyHops: read.integer('TRUSTED_PROXY_HOPS', 1, 0, 10),
    database: {
      host: read.string('DATABASE_HOST'),
      port: read.integer('DATABASE_PORT', 5432, 1, MAX_PORT),
      readerHost: read.optionalString('DATABASE_READER_HOST'),
      readerPort: optionalPort(read, 'DATABASE_READER_PORT'),
      name: read.string('DATABASE_NAME'),
      user: read.string('DATABASE_USER'),
      credentials: databaseCredentials(read),
      ssl: read.boolean('DATABASE_SSL', false),
      sslCaPath,
    },
    redis: {
      host: read.string('REDIS_HOST'),
      port: read.integer('REDIS_PORT', 6379, 1, MAX_PORT),
      password: read.secret('REDIS_PASSWORD', false),
      tls: read.boolean('REDIS_TLS', false),
    },
    filesDir: read.string('FILES_DIR'),
    sessionTtlSeconds: read.integer('SESSION_TTL_SECONDS', 86400, 60, 30 * 86400),
    cookieSecure: read.boolean('COOKIE_SECURE', true),
    passwordHashWorkers: read.integer('PASSWORD_HASH_WORKERS', 1, 1, 64),
    passwordHashQueue: read.integer('PASSWORD_HASH_QUEUE', 32, 0, 10_000),
    signInLimits: {
      failuresPerIpPerDay: read.integer('SIGN_IN_FAILURES_PER_IP_PER_DAY', 100, 1, 1_000_000),
      consecutiveFailuresPerUserAndIp: read.integer('SIGN_IN_CONSECUTIVE_FAILURES_PER_USER_AND_IP', 10, 1, 1000),
      failuresPerAccountPerDay: read.integer('SIGN_IN_FAILURES_PER_ACCOUNT_PER_DAY', 100, 1, 100_000),
      signUpsPerIpPerHour: read.integer('SIGN_UPS_PER_IP_PER_HOUR', DEFAULT_SIGN_UPS_PER_IP_PER_HOUR, 1, 1_000_000),
    },
    maxUploadBytes: read.integer('MAX_UPLOAD_BYTES', 10 * 1024 * 1024, 1, ONE_GIB),
    maxJsonBodyBytes: read.integer('MAX_JSON_BODY_BYTES', 128 * 1024, 1024, ONE_MIB),
    maxPublicBodyBytes: read.integer('MAX_PUBLIC_BODY_BYTES', 16 * 1024, 256, ONE_MIB),
    headersTimeoutMs: read.integer('HEADERS_TIMEOUT_SECONDS', 10, 1, 300) * 1000,
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_SECONDS', 120, 1, 3600) * 1000,
    idleTimeoutMs: read.integer('IDLE_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    keepAliveTimeoutMs: read.integer('KEEP_ALIVE_TIMEOUT_SECONDS', 65, 1, 3600) * 1000,
    healthTimeoutMs: read.integer('HEALTH_TIMEOUT_MS', 2000, 100, 60_000),
    shutdownDrainSeconds: read.integer('SHUTDOWN_DRAIN_SECONDS', 0, 0, 3600),
    shutdownTimeoutSeconds: read.integer('SHUTDOWN_TIMEOUT_SECONDS', 30, 1, 3600),
    maintenanceIntervalSeconds: read.integer('MAINTENANCE_INTERVAL_SECONDS', 60, 1, 3600),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (sslCaPath !== undefined) {
    if (!config.database.ssl) {
      read.problems.push('DATABASE_SSL_CA is set but DATABASE_SSL is not "true"');
    } else if (!isReadableFile(sslCaPath)) {
      read.problems.push(`DATABASE_SSL_CA must be a readable file (got "${sslCaPath}")`);
    }
  }
  if (config.database.readerPort !== undefined && config.database.readerHost === undefined) {
    read.problems.push('DATABASE_READER_PORT is set but DATABASE_READER_HOST is not');
  }
  if (config.filesDir && !config.filesDir.startsWith('/')) {
    read.problems.push(`FILES_DIR must be an absolute path (got "${config.filesDir}")`);
  }
  for (const [name, value] of [
    ['SERVICE_VERSION', config.version],
    ['INSTANCE_ID', config.instanceId],
  ] as const) {
    if (value && !HEADER_SAFE.test(value)) {
      read.problems.push(
        `${name} must be printable ASCII without spaces, as it is sent in a header (got ${JSON.stringify(value)})`,
      );
    }
  }
  if (config.maxPublicBodyBytes > config.maxJsonBodyBytes) {
    read.problems.push(
      `MAX_PUBLIC_BODY_BYTES must not exceed MAX_JSON_BODY_BYTES (got ${config.maxPublicBodyBytes} > ${config.maxJsonBodyBytes})`,
    );
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs || config.headersTimeoutMs > config.idleTimeoutMs) {
    read.problems.push(
      'HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS or IDLE_TIMEOUT_SECONDS ' +
        `(got ${config.headersTimeoutMs / 1000}, ${config.requestTimeoutMs / 1000} and ${config.idleTimeoutMs / 1000})`,
    );
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/**
 * DATABASE_AUTH (`password`, the default, or `iam`) and what it needs: with `iam`, DATABASE_REGION (the region whose
 * cluster the endpoints belong to, which signs the token) and TLS; with `password`, exactly one of DATABASE_PASSWORD
 * and DATABASE_PASSWORD_FILE (a readable file).
 */
function databaseCredentials(read: EnvReader): DatabaseCredentials {
  const auth = read.oneOf('DATABASE_AUTH', ['password', 'iam'] as const, 'password');
  const password = read.secret('DATABASE_PASSWORD', false);
  const passwordFile = read.optionalString('DATABASE_PASSWORD_FILE');
  if (auth === 'iam') {
    if (password !== undefined || passwordFile !== undefined) {
      read.problems.push('DATABASE_PASSWORD and DATABASE_PASSWORD_FILE must be unset when DATABASE_AUTH is "iam"');
    }
    if (!read.boolean('DATABASE_SSL', false)) {
      read.problems.push('DATABASE_AUTH "iam" needs DATABASE_SSL "true" (IAM database authentication requires TLS)');
    }
    return { kind: 'iam', region: read.string('DATABASE_REGION') };
  }
  if (password !== undefined && passwordFile !== undefined) {
    read.problems.push('set one of DATABASE_PASSWORD and DATABASE_PASSWORD_FILE, not both');
  }
  if (passwordFile !== undefined) {
    if (!isReadableFile(passwordFile)) {
      read.problems.push(`DATABASE_PASSWORD_FILE must be a readable file (got "${passwordFile}")`);
    }
    return { kind: 'passwordFile', path: passwordFile };
  }
  if (password === undefined) {
    read.problems.push('DATABASE_PASSWORD or DATABASE_PASSWORD_FILE is required (or DATABASE_AUTH=iam)');
  }
  return { kind: 'password', password: password ?? '' };
}

/** An optional port variable: undefined when unset. */
function optionalPort(read: EnvReader, name: string): number | undefined {
  return read.optionalString(name) === undefined ? undefined : read.integer(name, undefined, 1, MAX_PORT);
}

function isReadableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The configuration with its secrets replaced, for logging. */
export function redactedConfig(config: ServiceConfig): Record<string, unknown> {
  return {
    ...config,
    database: {
      ...config.database,
      credentials:
        config.database.credentials.kind === 'password'
          ? { kind: 'password', password: '[redacted]' }
          : config.database.credentials,
    },
    redis: { ...config.redis, password: config.redis.password === undefined ? undefined : '[redacted]' },
  };
}
