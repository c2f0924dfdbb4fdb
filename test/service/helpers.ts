/**
 * Shared set-up of the service tests: real PostgreSQL and Redis on loopback (one of each per test file),
 * apps built on them, and small HTTP helpers.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';

import { artifactBundle, bundleFolder } from '../../lib/bundling';
import { ENVIRONMENTS } from '../../lib/config';
import { buildApp } from '../../service/src/app';
import type { ServiceConfig } from '../../service/src/config';
import { createPool, type DatabasePool } from '../../service/src/db';
import type { Lifecycle } from '../../service/src/health';
import { runMigrations } from '../../service/src/migrations';
import { PasswordHasher } from '../../service/src/password-hasher';
import type { Argon2Parameters } from '../../service/src/passwords';
import { createRedis } from '../../service/src/sessions';
import {
  scratchDir,
  startAll,
  startPostgres,
  startRedis,
  type PostgresServer,
  type RedisServer,
} from '../../support/local-servers';

import '../support/fastify-inject';

/** A logger that drops everything. */
export const silentLog = { info: () => undefined, warn: () => undefined };

/** PostgreSQL, Redis and a files directory for one test file. */
export interface Backends {
  /** Temporary root directory, removed by stop(). */
  readonly root: string;
  /** PostgreSQL. */
  readonly pg: PostgresServer;
  /** Redis. */
  readonly redis: RedisServer;
  /** The shared files directory. */
  readonly filesDir: string;
  /** Stops both servers and removes the directory. */
  stop(): Promise<void>;
}

/** Options of {@link startBackends}. */
export interface StartBackendsOptions {
  /** Root directory (created if missing, removed by stop()). @default - a new {@link scratchDir} */
  readonly root?: string;
  /** The redis-server program. @default - that of support/local-servers.ts */
  readonly redisBinary?: string;
}

/**
 * Starts PostgreSQL and Redis in a new temporary directory and applies the migrations. When anything fails,
 * stops what started and removes the directory before throwing: no server outlives a failed start-up.
 */
export async function startBackends(options: StartBackendsOptions = {}): Promise<Backends> {
  const root = options.root ?? scratchDir('svc-test-');
  const filesDir = path.join(root, 'files');
  fs.mkdirSync(filesDir, { recursive: true });
  let started: [PostgresServer, RedisServer];
  try {
    started = await startAll([
      startPostgres({ dir: path.join(root, 'pg') }),
      startRedis({ dir: path.join(root, 'redis'), binary: options.redisBinary }),
    ]);
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const [pg, redis] = started;
  const backends: Backends = {
    root,
    pg,
    redis,
    filesDir,
    stop: async () => {
      await Promise.allSettled([pg.stop(), redis.stop()]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  const config = testConfig(backends);
  const pool = createPool(config.database, silentLog);
  try {
    try {
      await runMigrations(pool, silentLog);
    } finally {
      await pool.end();
    }
  } catch (err) {
    await backends.stop();
    throw err;
  }
  return backends;
}

/**
 * Runs every clean-up step in order, each even when an earlier one failed (so a failed close never leaves
 * a server running), then throws the first failure.
 */
export async function closeAll(...steps: Array<() => Promise<unknown> | unknown>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

/** The password pool settings of {@link testConfig}: one worker, a queue of 32 (the service's defaults). */
const SHARED_POOL = { passwordHashWorkers: 1, passwordHashQueue: 32 } as const;

/** A configuration pointing at the backends, with test-friendly values. */
export function testConfig(backends: Backends, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    version: '1.2.3-test',
    instanceId: 'i-test-a',
    trustedProxyHops: 1,
    database: {
      host: backends.pg.host,
      port: backends.pg.port,
      name: backends.pg.database,
      user: backends.pg.user,
      credentials: { kind: 'password', password: backends.pg.password },
      ssl: false,
    },
    redis: { host: backends.redis.host, port: backends.redis.port, password: backends.redis.password, tls: false },
    filesDir: backends.filesDir,
    sessionTtlSeconds: 3600,
    cookieSecure: true,
    ...SHARED_POOL,
    // The defaults, but sign-ups: every test file signs up its users from one address.
    signInLimits: {
      failuresPerIpPerDay: 100,
      consecutiveFailuresPerUserAndIp: 10,
      failuresPerAccountPerDay: 100,
      signUpsPerIpPerHour: 10_000,
    },
    maxUploadBytes: 10 * 1024 * 1024,
    maxJsonBodyBytes: 128 * 1024,
    maxPublicBodyBytes: 16 * 1024,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 120_000,
    idleTimeoutMs: 30_000,
    keepAliveTimeoutMs: 65_000,
    healthTimeoutMs: 2000,
    maintenanceIntervalSeconds: 60,
    shutdownDrainSeconds: 0,
    shutdownTimeoutSeconds: 30,
    logLevel: 'info',
    ...overrides,
  };
}

/**
 * The service's entry point as the deploy bundles it (lib/bundling.ts, the config's `web` artifact: one file,
 * Node.js 22, source map), copied to `outfile`, for tests that run the service as a real process.
 */
export async function buildServiceBundle(outfile: string): Promise<void> {
  const web = ENVIRONMENTS.demo!.services.find((s) => s.name === 'web')!.artifact;
  const folder = bundleFolder(artifactBundle(web.directory!, web.build!));
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  fs.copyFileSync(path.join(folder, 'server.js'), outfile);
  fs.copyFileSync(path.join(folder, 'server.js.map'), `${outfile}.map`);
}

/** The environment variables the server reads, for the same configuration. */
export function serverEnv(
  backends: Backends,
  port: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PORT: String(port),
    HOST: '127.0.0.1',
    SERVICE_VERSION: '9.9.9-spawned',
    INSTANCE_ID: 'i-spawned',
    DATABASE_HOST: backends.pg.host,
    DATABASE_PORT: String(backends.pg.port),
    DATABASE_NAME: backends.pg.database,
    DATABASE_USER: backends.pg.user,
    DATABASE_PASSWORD: backends.pg.password,
    REDIS_HOST: backends.redis.host,
    REDIS_PORT: String(backends.redis.port),
    REDIS_PASSWORD: backends.redis.password,
    FILES_DIR: backends.filesDir,
    COOKIE_SECURE: 'false',
    ...extra,
  };
}

/** An app with its own clients, as one instance of the fleet. */
export interface TestApp {
  /** The Fastify application (ready). */
  readonly app: FastifyInstance;
  /** Its PostgreSQL pool. */
  readonly pool: DatabasePool;
  /** Its Redis client. */
  readonly redis: Redis;
  /** Its password worker pool (shared by the apps of a test file that keep the tests' pool settings). */
  readonly passwords: PasswordHasher;
  /** Log lines written, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Closes the app and its clients. */
  close(): Promise<void>;
}

/** The password workers' entry in tests (TypeScript, loaded with tsx: see password-worker.ts). */
export const PASSWORD_WORKER_ENTRY = path.join(__dirname, 'password-worker.ts');

/**
 * The argon2id parameters of the apps of the tests that are not about hashing (the minimum memory argon2 allows for
 * one lane is 8 KiB): a sign-in there costs a fraction of a millisecond instead of about 70 ms, as Rails'
 * `has_secure_password` uses bcrypt's minimum cost in tests. The service itself always hashes with
 * `ARGON2_PARAMETERS`; accounts.test.ts, server.test.ts (the built bundle), the drill and the game day run those.
 */
export const TEST_ARGON2_PARAMETERS: Argon2Parameters = {
  memorySize: 64,
  iterations: 1,
  parallelism: 1,
  hashLength: 32,
  saltLength: 16,
};

/** A password worker pool as the configuration asks, on the tests' worker entry, hashing with `parameters`. */
export function testPasswordHasher(
  config: Pick<ServiceConfig, 'passwordHashWorkers' | 'passwordHashQueue'>,
  parameters: Argon2Parameters = TEST_ARGON2_PARAMETERS,
) {
  return new PasswordHasher({
    entry: PASSWORD_WORKER_ENTRY,
    workers: config.passwordHashWorkers,
    maxQueue: config.passwordHashQueue,
    parameters,
  });
}

/**
 * The pool of the apps of a test file that keep the tests' pool settings: one worker thread for all of them (each
 * new one costs a few hundred milliseconds of CPU to start), closed after the file's tests.
 */
let sharedPasswords: PasswordHasher | undefined;
if (typeof afterAll === 'function') {
  afterAll(async () => {
    await sharedPasswords?.close();
    sharedPasswords = undefined;
  });
}

/** The pool an app of `config` uses, and whether the app owns it (closes it with itself). */
function passwordsFor(
  config: ServiceConfig,
  parameters: Argon2Parameters,
): { passwords: PasswordHasher; owned: boolean } {
  const shared =
    parameters === TEST_ARGON2_PARAMETERS &&
    config.passwordHashWorkers === SHARED_POOL.passwordHashWorkers &&
    config.passwordHashQueue === SHARED_POOL.passwordHashQueue;
  if (!shared) return { passwords: testPasswordHasher(config, parameters), owned: true };
  sharedPasswords ??= testPasswordHasher(SHARED_POOL);
  return { passwords: sharedPasswords, owned: false };
}

/** Builds an app on its own clients. */
export async function createTestApp(
  config: ServiceConfig,
  options: {
    lifecycle?: Lifecycle;
    onDatabaseWritable?: () => void;
    /** The argon2id parameters of its new hashes. @default TEST_ARGON2_PARAMETERS */
    passwordParameters?: Argon2Parameters;
  } = {},
): Promise<TestApp> {
  const pool = createPool(config.database, silentLog);
  const redis = createRedis(config.redis, silentLog);
  const { passwords, owned } = passwordsFor(config, options.passwordParameters ?? TEST_ARGON2_PARAMETERS);
  const logs: Record<string, unknown>[] = [];
  const app = buildApp({
    config,
    pool,
    redis,
    passwords,
    lifecycle: options.lifecycle,
    onDatabaseWritable: options.onDatabaseWritable,
    logDestination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  try {
    await app.ready();
    await waitForRedis(redis);
  } catch (err) {
    await app.close().catch(() => undefined);
    if (owned) await passwords.close();
    await pool.end();
    redis.disconnect();
    throw err;
  }
  return {
    app,
    pool,
    redis,
    passwords,
    logs,
    close: async () => {
      await app.close();
      if (owned) await passwords.close();
      await pool.end();
      redis.disconnect();
    },
  };
}

/** Waits (at most 5 s) for a client to be connected; a client to a dead server is left as is. */
async function waitForRedis(redis: Redis): Promise<void> {
  const deadline = Date.now() + 5000;
  while (redis.status !== 'ready' && Date.now() < deadline) {
    if (redis.status === 'reconnecting') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `sid=...` cookie pair set by a response, for the next request's Cookie header. */
export function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'sid');
  if (!cookie) throw new Error(`no sid cookie in response ${response.statusCode}: ${response.body}`);
  return `sid=${cookie.value}`;
}

/** The password {@link signUp} gives every account unless told otherwise (within the policy: 12 to 128). */
export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Creates the account `user` (POST /users) unless it exists: a 409 means it does (signed up earlier in the test
 * file, maybe by another app on the same backends). Costs one hash the first time only.
 */
export async function signUp(app: FastifyInstance, user = 'alice', password = TEST_PASSWORD): Promise<void> {
  const response = await app.inject({ method: 'POST', url: '/users', payload: { user, password } });
  if (response.statusCode !== 201 && response.statusCode !== 409) {
    throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  }
}

/** Signs up (unless the account exists) and signs in; returns the Cookie header value. */
export async function signIn(app: FastifyInstance, user = 'alice', password = TEST_PASSWORD): Promise<string> {
  await signUp(app, user, password);
  const response = await app.inject({ method: 'POST', url: '/session', payload: { user, password } });
  if (response.statusCode !== 201) throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  return sessionCookie(response);
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An HTTP request written by hand on a raw socket, so a test controls when the body arrives. */
export interface RawRequest {
  /** The socket. */
  readonly socket: net.Socket;
  /** Resolves with everything the server sent once it closes the connection or the response is complete. */
  readonly response: Promise<string>;
}

/** Opens a connection and sends a request head; the caller writes the body. */
export function rawRequest(port: number, head: string): RawRequest {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(head);
  const response = new Promise<string>((resolve, reject) => {
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const headEnd = data.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(data);
      if (headEnd >= 0 && length && data.length >= headEnd + 4 + Number(length[1])) {
        socket.end();
        resolve(data);
      }
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
  response.catch(() => undefined);
  return { socket, response };
}

/** Names of the temporary upload files in a files directory (at its top, whichever account uploads). */
export function tempUploads(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('.upload-'));
}

/** The account id of `user`, read from the database. */
export async function accountId(backends: Backends, user: string): Promise<string> {
  const rows = await backends.pg.adminQuery('SELECT id::text AS id FROM users WHERE name = $1', [user]);
  if (rows.length === 0) throw new Error(`no account ${user}`);
  return String(rows[0]!.id);
}

/** The directory of `user`'s files (`<FILES_DIR>/users/<account id>`). */
export async function userFilesDir(backends: Backends, user: string, filesDir = backends.filesDir): Promise<string> {
  return path.join(filesDir, 'users', await accountId(backends, user));
}

/** A response read with node:http. */
export interface HttpResponse {
  /** Status code. */
  readonly status: number;
  /** Headers. */
  readonly headers: Record<string, string | string[] | undefined>;
  /** Body as text. */
  readonly body: string;
}

/** One request on a new connection (no keep-alive), bounded by `timeoutMs`. */
export function httpRequest(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
  timeoutMs = 5000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }),
        );
        response.on('error', reject);
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`${options.path} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Starts listening on a free loopback port; returns the port. */
export async function listenOnLoopback(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as net.AddressInfo).port;
}

/**
 * Sends `data` on a new connection and resolves with everything the server sent once it closes the connection;
 * fails after `timeoutMs` (with what came so far) when it does not.
 */
export function exchangeRaw(port: number, data: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${timeoutMs} ms; received: ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => undefined);
    socket.write(data);
  });
}

/** One HTTP/1.1 response parsed from raw text. */
export interface RawResponse {
  /** Status code. */
  readonly status: number;
  /** Headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** Body (Content-Length framed). */
  readonly body: string;
}

/** Splits the raw text of one or more Content-Length-framed responses. */
export function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    responses.push({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: rest.slice(headEnd + 4, headEnd + 4 + length),
    });
    rest = rest.slice(headEnd + 4 + length);
  }
  return responses;
}

/** The access-log lines of an app (`msg: "request"`). */
export function accessLines(service: TestApp): Record<string, unknown>[] {
  return service.logs.filter((line) => line.msg === 'request');
}
