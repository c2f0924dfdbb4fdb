/**
 * The catalog service's configuration, from its environment (the boot script writes it: `PORT`, the database
 * endpoints and credentials, `SERVICE_VERSION`, `INSTANCE_ID`, ..., and the settings of the environment's
 * central configuration). Every problem is reported at once, naming the variable, the value and the fix.
 */

import type { DatabaseCredentials } from '../../../service/src/db-auth';

/** Thrown when the environment is invalid; the message lists every problem, one per line. */
export class CatalogConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`Invalid catalog service configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CatalogConfigError';
  }
}

/** Where the database is: the writer endpoint for writes, the reader endpoint for reads. */
export interface CatalogDatabaseConfig {
  /** Writer (cluster) endpoint; inactive in the passive region, where writes answer 503. */
  readonly host: string;
  /** Reader endpoint: every read goes here (a read-mostly API; replica lag is milliseconds). */
  readonly readerHost: string;
  /** Port of both endpoints. */
  readonly port: number;
  /** Database name. */
  readonly database: string;
  /** User: the service's own role (`svc_catalog` when deployed). */
  readonly user: string;
  /**
   * How it signs in, for each new connection (the reference service's db-auth.ts): an IAM database authentication
   * token (`DATABASE_AUTH=iam` and `DATABASE_REGION`, what the deploy sets), a password file read for each
   * connection (`DATABASE_PASSWORD_FILE`), or a fixed password (`DATABASE_PASSWORD`).
   */
  readonly credentials: DatabaseCredentials;
  /** TLS with the given CA bundle (PEM file), or none (`DATABASE_SSL=false`, local runs). */
  readonly sslCaFile?: string;
}

/** The catalog service's configuration. */
export interface CatalogConfig {
  /** TCP port, 1 to 65535 (`PORT`). */
  readonly port: number;
  /** Address to listen on (`HOST`, default 127.0.0.1). */
  readonly host: string;
  /** Proxies in front whose `X-Forwarded-For` entries are trusted, 0 to 5 (`TRUSTED_PROXY_HOPS`, default 1: the ALB). */
  readonly trustedProxyHops: number;
  /** The database. */
  readonly database: CatalogDatabaseConfig;
  /** The deployed version (`SERVICE_VERSION`), sent as `x-service-version`. */
  readonly version: string;
  /** The instance (`INSTANCE_ID`), sent as `x-instance-id`. */
  readonly instanceId: string;
  /** Seconds the service keeps answering, not ready, after SIGTERM (`SHUTDOWN_DRAIN_SECONDS`, default 0). */
  readonly drainSeconds: number;
  /** pino log level (`LOG_LEVEL`, default info). */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads and checks the configuration from `env`. @throws CatalogConfigError naming every problem. */
export function loadCatalogConfig(env: Readonly<Record<string, string | undefined>>): CatalogConfig {
  const problems: string[] = [];
  const text = (name: string, fallback?: string): string => {
    const value = env[name] ?? fallback;
    if (value === undefined || value === '') {
      problems.push(`${name} is not set.`);
      return '';
    }
    return value;
  };
  const integer = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (fallback === undefined) problems.push(`${name} is not set; set it to a whole number from ${min} to ${max}.`);
      return fallback ?? min;
    }
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} "${raw}" must be a whole number from ${min} to ${max}.`);
    }
    return value;
  };
  const ssl = env.DATABASE_SSL ?? 'true';
  if (ssl !== 'true' && ssl !== 'false') problems.push(`DATABASE_SSL "${ssl}" must be true or false.`);
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL "${logLevel}" must be one of ${LOG_LEVELS.join(', ')}.`);
  }
  const config: CatalogConfig = {
    port: integer('PORT', undefined, 1, 65535),
    host: env.HOST || '127.0.0.1',
    trustedProxyHops: integer('TRUSTED_PROXY_HOPS', 1, 0, 5),
    database: {
      host: text('DATABASE_HOST'),
      readerHost: text('DATABASE_READER_HOST', env.DATABASE_HOST),
      port: integer('DATABASE_PORT', 5432, 1, 65535),
      database: text('DATABASE_NAME'),
      user: text('DATABASE_USER'),
      credentials: credentials(env, ssl === 'true', problems),
      sslCaFile: ssl === 'true' ? text('DATABASE_SSL_CA') : undefined,
    },
    version: env.SERVICE_VERSION || 'dev',
    instanceId: env.INSTANCE_ID || 'local',
    drainSeconds: integer('SHUTDOWN_DRAIN_SECONDS', 0, 0, 300),
    logLevel: logLevel as CatalogConfig['logLevel'],
  };
  if (problems.length > 0) throw new CatalogConfigError(problems);
  return config;
}

/** DATABASE_AUTH (`password`, the default, or `iam`) and the variables each needs. */
function credentials(
  env: Readonly<Record<string, string | undefined>>,
  tls: boolean,
  problems: string[],
): DatabaseCredentials {
  const auth = env.DATABASE_AUTH || 'password';
  const password = env.DATABASE_PASSWORD || undefined;
  const passwordFile = env.DATABASE_PASSWORD_FILE || undefined;
  if (auth === 'iam') {
    if (password !== undefined || passwordFile !== undefined) {
      problems.push('DATABASE_PASSWORD and DATABASE_PASSWORD_FILE must be unset when DATABASE_AUTH is iam.');
    }
    if (!tls) problems.push('DATABASE_AUTH iam needs DATABASE_SSL true (IAM database authentication requires TLS).');
    if (!env.DATABASE_REGION) problems.push('DATABASE_REGION is not set; DATABASE_AUTH iam signs tokens for it.');
    return { kind: 'iam', region: env.DATABASE_REGION ?? '' };
  }
  if (auth !== 'password') problems.push(`DATABASE_AUTH "${auth}" must be password or iam.`);
  if (password !== undefined && passwordFile !== undefined) {
    problems.push('Set one of DATABASE_PASSWORD and DATABASE_PASSWORD_FILE, not both.');
  }
  if (passwordFile !== undefined) return { kind: 'passwordFile', path: passwordFile };
  if (password === undefined)
    problems.push('DATABASE_PASSWORD is not set (or DATABASE_PASSWORD_FILE, or DATABASE_AUTH iam).');
  return { kind: 'password', password: password ?? '' };
}
