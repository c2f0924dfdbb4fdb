import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, redactedConfig } from '../../service/src/config';
import { poolConfig } from '../../service/src/db';
import { redisOptions } from '../../service/src/sessions';

const required = {
  DATABASE_HOST: 'db.internal',
  DATABASE_NAME: 'app',
  DATABASE_USER: 'app',
  DATABASE_PASSWORD: 's3cret-db-password',
  REDIS_HOST: 'cache.internal',
  FILES_DIR: '/mnt/efs',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  test('applies the documented defaults when only the required variables are set', () => {
    const config = loadConfig(required);
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      trustedProxyHops: 1,
      database: { host: 'db.internal', port: 5432, name: 'app', user: 'app', ssl: false },
      redis: { host: 'cache.internal', port: 6379, tls: false },
      filesDir: '/mnt/efs',
      sessionTtlSeconds: 86400,
      cookieSecure: true,
      passwordHashWorkers: 1,
      passwordHashQueue: 32,
      signInLimits: {
        failuresPerIpPerDay: 100,
        consecutiveFailuresPerUserAndIp: 10,
        failuresPerAccountPerDay: 100,
        signUpsPerIpPerHour: 20,
      },
      maxUploadBytes: 10 * 1024 * 1024,
      maxJsonBodyBytes: 128 * 1024,
      maxPublicBodyBytes: 16 * 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 120_000,
      idleTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      healthTimeoutMs: 2000,
      shutdownDrainSeconds: 0,
      shutdownTimeoutSeconds: 30,
      maintenanceIntervalSeconds: 60,
      logLevel: 'info',
    });
    expect(config.redis.password).toBeUndefined();
    expect(config.database.readerHost).toBeUndefined();
    expect(config.database.readerPort).toBeUndefined();
    expect(config.instanceId).toBe(os.hostname());
  });

  test('reads every variable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const ca = path.join(dir, 'rds-ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    try {
      const config = loadConfig({
        ...required,
        PORT: '9000',
        HOST: '127.0.0.1',
        SERVICE_VERSION: '2.0.0',
        INSTANCE_ID: 'i-0abc',
        TRUSTED_PROXY_HOPS: '2',
        DATABASE_PORT: '6543',
        DATABASE_READER_HOST: 'db-ro.internal',
        DATABASE_READER_PORT: '6544',
        DATABASE_SSL: 'true',
        DATABASE_SSL_CA: ca,
        REDIS_PORT: '6380',
        REDIS_PASSWORD: 'redis-token',
        REDIS_TLS: 'true',
        SESSION_TTL_SECONDS: '600',
        COOKIE_SECURE: 'false',
        MAX_UPLOAD_BYTES: '2048',
        MAX_JSON_BODY_BYTES: '65536',
        MAX_PUBLIC_BODY_BYTES: '4096',
        HEADERS_TIMEOUT_SECONDS: '5',
        REQUEST_TIMEOUT_SECONDS: '300',
        IDLE_TIMEOUT_SECONDS: '20',
        KEEP_ALIVE_TIMEOUT_SECONDS: '75',
        HEALTH_TIMEOUT_MS: '500',
        SHUTDOWN_DRAIN_SECONDS: '20',
        SHUTDOWN_TIMEOUT_SECONDS: '60',
        MAINTENANCE_INTERVAL_SECONDS: '5',
        LOG_LEVEL: 'debug',
        PASSWORD_HASH_WORKERS: '2',
        PASSWORD_HASH_QUEUE: '0',
        SIGN_IN_FAILURES_PER_IP_PER_DAY: '500',
        SIGN_IN_CONSECUTIVE_FAILURES_PER_USER_AND_IP: '5',
        SIGN_IN_FAILURES_PER_ACCOUNT_PER_DAY: '50',
        SIGN_UPS_PER_IP_PER_HOUR: '3',
      });
      expect(config).toEqual({
        port: 9000,
        host: '127.0.0.1',
        version: '2.0.0',
        instanceId: 'i-0abc',
        trustedProxyHops: 2,
        database: {
          host: 'db.internal',
          port: 6543,
          readerHost: 'db-ro.internal',
          readerPort: 6544,
          name: 'app',
          user: 'app',
          credentials: { kind: 'password', password: 's3cret-db-password' },
          ssl: true,
          sslCaPath: ca,
        },
        redis: { host: 'cache.internal', port: 6380, password: 'redis-token', tls: true },
        filesDir: '/mnt/efs',
        sessionTtlSeconds: 600,
        cookieSecure: false,
        passwordHashWorkers: 2,
        passwordHashQueue: 0,
        signInLimits: {
          failuresPerIpPerDay: 500,
          consecutiveFailuresPerUserAndIp: 5,
          failuresPerAccountPerDay: 50,
          signUpsPerIpPerHour: 3,
        },
        maxUploadBytes: 2048,
        maxJsonBodyBytes: 65536,
        maxPublicBodyBytes: 4096,
        headersTimeoutMs: 5000,
        requestTimeoutMs: 300_000,
        idleTimeoutMs: 20_000,
        keepAliveTimeoutMs: 75_000,
        healthTimeoutMs: 500,
        shutdownDrainSeconds: 20,
        shutdownTimeoutSeconds: 60,
        maintenanceIntervalSeconds: 5,
        logLevel: 'debug',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(Object.keys(required))('names %s when it is missing', (name) => {
    const env: Record<string, string> = { ...required };
    delete env[name];
    const problem =
      name === 'DATABASE_PASSWORD'
        ? 'DATABASE_PASSWORD or DATABASE_PASSWORD_FILE is required (or DATABASE_AUTH=iam)'
        : `${name} is required`;
    expect(configError(env).message).toBe(`Invalid configuration: ${problem}`);
  });

  test('lists every problem in one message', () => {
    expect(configError({}).problems).toEqual([
      'DATABASE_HOST is required',
      'DATABASE_NAME is required',
      'DATABASE_USER is required',
      'DATABASE_PASSWORD or DATABASE_PASSWORD_FILE is required (or DATABASE_AUTH=iam)',
      'REDIS_HOST is required',
      'FILES_DIR is required',
    ]);
  });

  test.each([
    ['PORT', 'http', 'PORT must be an integer from 1 to 65535 (got "http")'],
    ['DATABASE_PORT', '70000', 'DATABASE_PORT must be an integer from 1 to 65535 (got "70000")'],
    ['TRUSTED_PROXY_HOPS', '-1', 'TRUSTED_PROXY_HOPS must be an integer from 0 to 10 (got "-1")'],
    ['SESSION_TTL_SECONDS', '1.5', 'SESSION_TTL_SECONDS must be an integer from 60 to 2592000 (got "1.5")'],
    ['MAX_UPLOAD_BYTES', '0', 'MAX_UPLOAD_BYTES must be an integer from 1 to 1073741824 (got "0")'],
    ['COOKIE_SECURE', 'yes', 'COOKIE_SECURE must be "true" or "false" (got "yes")'],
    ['REDIS_TLS', 'on', 'REDIS_TLS must be "true" or "false" (got "on")'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    ['FILES_DIR', 'files', 'FILES_DIR must be an absolute path (got "files")'],
    [
      'DATABASE_READER_PORT',
      '0',
      'DATABASE_READER_PORT must be an integer from 1 to 65535 (got "0"); DATABASE_READER_PORT is set but DATABASE_READER_HOST is not',
    ],
    ['MAINTENANCE_INTERVAL_SECONDS', '0', 'MAINTENANCE_INTERVAL_SECONDS must be an integer from 1 to 3600 (got "0")'],
    ['MAX_JSON_BODY_BYTES', '100', 'MAX_JSON_BODY_BYTES must be an integer from 1024 to 1048576 (got "100")'],
    [
      'MAX_PUBLIC_BODY_BYTES',
      '262144',
      'MAX_PUBLIC_BODY_BYTES must not exceed MAX_JSON_BODY_BYTES (got 262144 > 131072)',
    ],
    ['REQUEST_TIMEOUT_SECONDS', '0', 'REQUEST_TIMEOUT_SECONDS must be an integer from 1 to 3600 (got "0")'],
    ['KEEP_ALIVE_TIMEOUT_SECONDS', 'ten', 'KEEP_ALIVE_TIMEOUT_SECONDS must be an integer from 1 to 3600 (got "ten")'],
    [
      'HEADERS_TIMEOUT_SECONDS',
      '60',
      'HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS or IDLE_TIMEOUT_SECONDS (got 60, 120 and 30)',
    ],
    [
      'IDLE_TIMEOUT_SECONDS',
      '5',
      'HEADERS_TIMEOUT_SECONDS must not exceed REQUEST_TIMEOUT_SECONDS or IDLE_TIMEOUT_SECONDS (got 10, 120 and 5)',
    ],
    ['PASSWORD_HASH_WORKERS', '0', 'PASSWORD_HASH_WORKERS must be an integer from 1 to 64 (got "0")'],
    ['PASSWORD_HASH_QUEUE', '-1', 'PASSWORD_HASH_QUEUE must be an integer from 0 to 10000 (got "-1")'],
    [
      'SIGN_IN_FAILURES_PER_IP_PER_DAY',
      '0',
      'SIGN_IN_FAILURES_PER_IP_PER_DAY must be an integer from 1 to 1000000 (got "0")',
    ],
    [
      'SIGN_IN_CONSECUTIVE_FAILURES_PER_USER_AND_IP',
      '1001',
      'SIGN_IN_CONSECUTIVE_FAILURES_PER_USER_AND_IP must be an integer from 1 to 1000 (got "1001")',
    ],
    [
      'SIGN_IN_FAILURES_PER_ACCOUNT_PER_DAY',
      'many',
      'SIGN_IN_FAILURES_PER_ACCOUNT_PER_DAY must be an integer from 1 to 100000 (got "many")',
    ],
    ['SIGN_UPS_PER_IP_PER_HOUR', '0', 'SIGN_UPS_PER_IP_PER_HOUR must be an integer from 1 to 1000000 (got "0")'],
    [
      'INSTANCE_ID',
      'i-0abc\u0007x',
      'INSTANCE_ID must be printable ASCII without spaces, as it is sent in a header (got "i-0abc\\u0007x")',
    ],
  ])('rejects %s=%s', (name, value, message) => {
    expect(configError({ ...required, [name]: value }).message).toBe(`Invalid configuration: ${message}`);
  });

  test('rejects DATABASE_READER_PORT without DATABASE_READER_HOST', () => {
    expect(configError({ ...required, DATABASE_READER_PORT: '5433' }).message).toBe(
      'Invalid configuration: DATABASE_READER_PORT is set but DATABASE_READER_HOST is not',
    );
  });

  test('rejects a CA bundle that does not exist', () => {
    const env = { ...required, DATABASE_SSL: 'true', DATABASE_SSL_CA: '/nonexistent/rds-ca.pem' };
    expect(configError(env).message).toBe(
      'Invalid configuration: DATABASE_SSL_CA must be a readable file (got "/nonexistent/rds-ca.pem")',
    );
  });

  test('rejects a CA bundle without DATABASE_SSL', () => {
    expect(configError({ ...required, DATABASE_SSL_CA: '/etc/hosts' }).message).toBe(
      'Invalid configuration: DATABASE_SSL_CA is set but DATABASE_SSL is not "true"',
    );
  });

  describe('database credentials', () => {
    const withoutPassword: Record<string, string> = { ...required };
    delete withoutPassword.DATABASE_PASSWORD;

    test('DATABASE_AUTH=iam signs tokens for DATABASE_REGION, and needs TLS', () => {
      const iam = { ...withoutPassword, DATABASE_AUTH: 'iam', DATABASE_REGION: 'eu-west-1', DATABASE_SSL: 'true' };
      expect(loadConfig(iam).database.credentials).toEqual({ kind: 'iam', region: 'eu-west-1' });
      expect(configError({ ...iam, DATABASE_SSL: 'false', DATABASE_REGION: '' }).problems).toEqual([
        'DATABASE_AUTH "iam" needs DATABASE_SSL "true" (IAM database authentication requires TLS)',
        'DATABASE_REGION is required',
      ]);
      expect(configError({ ...iam, DATABASE_PASSWORD: 'x' }).problems).toEqual([
        'DATABASE_PASSWORD and DATABASE_PASSWORD_FILE must be unset when DATABASE_AUTH is "iam"',
      ]);
    });

    test('DATABASE_PASSWORD_FILE: a readable file, not together with DATABASE_PASSWORD', () => {
      expect(loadConfig({ ...withoutPassword, DATABASE_PASSWORD_FILE: '/etc/hosts' }).database.credentials).toEqual({
        kind: 'passwordFile',
        path: '/etc/hosts',
      });
      expect(configError({ ...withoutPassword, DATABASE_PASSWORD_FILE: '/nonexistent/pw' }).problems).toEqual([
        'DATABASE_PASSWORD_FILE must be a readable file (got "/nonexistent/pw")',
      ]);
      expect(configError({ ...required, DATABASE_PASSWORD_FILE: '/etc/hosts' }).problems).toEqual([
        'set one of DATABASE_PASSWORD and DATABASE_PASSWORD_FILE, not both',
      ]);
    });

    test('DATABASE_AUTH takes password or iam only', () => {
      expect(configError({ ...required, DATABASE_AUTH: 'kerberos' }).problems).toEqual([
        'DATABASE_AUTH must be one of password, iam (got "kerberos")',
      ]);
    });

    test('the pool asks for the password of each new connection unless it is fixed', () => {
      expect(poolConfig(loadConfig(required).database).password).toBe('s3cret-db-password');
      const fromFile = loadConfig({ ...withoutPassword, DATABASE_PASSWORD_FILE: '/etc/hosts' }).database;
      expect(typeof poolConfig(fromFile).password).toBe('function');
    });
  });

  test('never puts a password in an error message', () => {
    const error = configError({ ...required, REDIS_PASSWORD: 'redis-token', PORT: 'x' });
    expect(error.message).not.toContain('s3cret-db-password');
    expect(error.message).not.toContain('redis-token');
  });

  test('redactedConfig hides both passwords', () => {
    const text = JSON.stringify(redactedConfig(loadConfig({ ...required, REDIS_PASSWORD: 'redis-token' })));
    expect(text).not.toContain('s3cret-db-password');
    expect(text).not.toContain('redis-token');
    expect(text).toContain('[redacted]');
  });
});

describe('client options', () => {
  test('PostgreSQL uses verified TLS with the CA bundle when DATABASE_SSL=true', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const ca = path.join(dir, 'rds-ca.pem');
    fs.writeFileSync(ca, 'CA BUNDLE');
    try {
      const options = poolConfig(loadConfig({ ...required, DATABASE_SSL: 'true', DATABASE_SSL_CA: ca }).database);
      expect(options.ssl).toEqual({ rejectUnauthorized: true, ca: 'CA BUNDLE' });
      expect(options.connectionTimeoutMillis).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL without TLS by default', () => {
    expect(poolConfig(loadConfig(required).database).ssl).toBe(false);
  });

  test('Redis fails fast while disconnected and reconnects with capped back-off', () => {
    const options = redisOptions(loadConfig({ ...required, REDIS_PASSWORD: 'redis-token', REDIS_TLS: 'true' }).redis);
    expect(options).toMatchObject({
      password: 'redis-token',
      tls: { servername: 'cache.internal' },
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    const retry = options.retryStrategy!;
    expect(retry(1)).toBe(100);
    expect(retry(1000)).toBe(1000);
  });

  test('Redis without TLS or AUTH by default', () => {
    const options = redisOptions(loadConfig(required).redis);
    expect(options.tls).toBeUndefined();
    expect(options.password).toBeUndefined();
  });
});
