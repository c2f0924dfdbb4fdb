/**
 * Real PostgreSQL and Redis servers on loopback, for the service's tests and the local HA drill.
 *
 * Every server listens on 127.0.0.1 only, on a free port, with password authentication. Every process
 * started here is stopped by `stop()` and, as a last resort, killed when this Node.js process exits.
 *
 * When running as root (CI containers), PostgreSQL refuses to run as root, so `initdb`, `pg_ctl` and the
 * server run as the `postgres` system user through `setpriv`; the working directory is then owned by that
 * user, and its ancestors get the traverse bit (o+x, never read) so that user can reach it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';

/**
 * Directory of the PostgreSQL server binaries: $POSTGRES_BIN_DIR if set, else /usr/lib/postgresql/15/bin,
 * else the newest /usr/lib/postgresql/<major>/bin (Debian and Ubuntu layout).
 */
export const POSTGRES_BIN_DIR = findPostgresBinDir();

function findPostgresBinDir(): string {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const preferred = '/usr/lib/postgresql/15/bin';
  if (fs.existsSync(path.join(preferred, 'initdb'))) return preferred;
  let majors: number[] = [];
  try {
    majors = fs
      .readdirSync('/usr/lib/postgresql')
      .map(Number)
      .filter((major) => Number.isInteger(major) && fs.existsSync(`/usr/lib/postgresql/${major}/bin/initdb`));
  } catch {
    // No Debian-style installation.
  }
  return majors.length > 0 ? `/usr/lib/postgresql/${Math.max(...majors)}/bin` : preferred;
}

/** The Redis server binary. */
export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

/** Longest wait for a server to start or stop. */
const START_STOP_TIMEOUT_MS = 30_000;

/** Processes to kill if this Node.js process exits while they still run, keyed by an opaque id. */
const leftovers = new Map<number, () => void>();
let nextLeftoverId = 1;
let exitHandlerRegistered = false;

function killLeftovers(): void {
  for (const killOne of leftovers.values()) {
    try {
      killOne();
    } catch {
      // Already gone.
    }
  }
  leftovers.clear();
}

/**
 * A fatal signal skips 'exit' handlers. When nothing else in the process handles the signal, kill the
 * servers, then let the signal take its default course; when the program handles it itself, leave the
 * servers to its own clean-up (its exit then runs the 'exit' handler).
 */
function onFatalSignal(signal: NodeJS.Signals): void {
  const handler = (): void => {
    if (process.listenerCount(signal) > 1) return;
    killLeftovers();
    process.removeListener(signal, handler);
    process.kill(process.pid, signal);
  };
  process.on(signal, handler);
}

function trackLeftover(kill: () => void): number {
  if (!exitHandlerRegistered) {
    exitHandlerRegistered = true;
    process.on('exit', killLeftovers);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) onFatalSignal(signal);
  }
  const id = nextLeftoverId++;
  leftovers.set(id, kill);
  return id;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.unref();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!port) throw new Error('freePort: could not read the bound port');
  return port;
}

function randomSecret(): string {
  return randomBytes(18).toString('base64url');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion, capturing stdout and stderr together. */
function run(command: string, args: readonly string[], timeoutMs = START_STOP_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function runOrThrow(command: string, args: readonly string[]): Promise<string> {
  const result = await run(command, args);
  if (result.code !== 0) {
    throw new Error(`${path.basename(command)} exited with ${result.code}:\n${result.output}`);
  }
  return result.output;
}

const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** The command and arguments that run a PostgreSQL binary as a user it accepts. */
function postgresCommand(binary: string, args: readonly string[]): [string, string[]] {
  const binaryPath = path.join(POSTGRES_BIN_DIR, binary);
  if (!runningAsRoot) return [binaryPath, [...args]];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', binaryPath, ...args]];
}

/** Creates `dir` (mode 0700) and, when running as root, hands it to the postgres system user. */
async function preparePostgresDir(dir: string, paths: readonly string[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!runningAsRoot) return;
  const uid = Number((await runOrThrow('id', ['-u', 'postgres'])).trim());
  const gid = Number((await runOrThrow('id', ['-g', 'postgres'])).trim());
  for (const p of [dir, ...paths]) fs.chownSync(p, uid, gid);
  // The postgres user must be able to traverse every ancestor (mkdtemp makes 0700 directories).
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const mode = fs.statSync(parent).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(parent, (mode & 0o7777) | 0o001);
    if (parent === path.dirname(parent)) break;
  }
}

/** A PostgreSQL server on loopback, with one application user owning one database. */
export interface PostgresServer {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** TCP port; kept across restarts. */
  readonly port: number;
  /** The application user (not a superuser), owner of `database`. */
  readonly user: string;
  /** The application database. */
  readonly database: string;
  /** Password of `user` (SCRAM-SHA-256 over TCP). */
  readonly password: string;
  /** The cluster's data directory (`<dir>/data`). */
  readonly dataDir: string;
  /** Connection string for `user` on `database`: postgres://user:password@127.0.0.1:port/database. */
  readonly url: string;
  /** The superuser's name (`postgres`). */
  readonly superuser: string;
  /** The superuser's password. */
  readonly superuserPassword: string;
  /** Connection string for the superuser on `database`. */
  readonly adminUrl: string;
  /** Runs one SQL statement as the superuser on `database` and returns its rows. */
  adminQuery(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Stops the server (`pg_ctl stop -m fast`, waits). Does nothing when it is not running. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (`pg_ctl start -w`). Does nothing when it runs. */
  start(): Promise<void>;
  /** Stops then starts the server. */
  restart(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Working directory: holds `data/` (the cluster), `run/` (unix sockets) and `postgres.log`. */
  readonly dir: string;
}

/**
 * Creates a PostgreSQL cluster in `opts.dir` with `initdb` and starts it on a free loopback port.
 *
 * The cluster has a superuser `postgres` and an application user `app` owning database `app`, both with
 * random passwords; TCP connections need a password (scram-sha-256). fsync stays on.
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresServer> {
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  const pwFile = path.join(dir, 'superuser-password');
  const superuser = 'postgres';
  const superuserPassword = randomSecret();
  const user = 'app';
  const database = 'app';
  const password = randomSecret();
  const host = '127.0.0.1';
  const port = await freePort();

  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(pwFile, `${superuserPassword}\n`, { mode: 0o600 });
  await preparePostgresDir(dir, [socketDir, pwFile]);
  await runOrThrow(
    ...postgresCommand('initdb', [
      `--pgdata=${dataDir}`,
      `--username=${superuser}`,
      `--pwfile=${pwFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=peer',
      '--encoding=UTF8',
      '--no-locale',
    ]),
  );
  fs.rmSync(pwFile, { force: true });
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# Set by support/local-servers.ts',
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${socketDir}'`,
      'fsync = on',
      'max_connections = 50',
      "shared_buffers = '32MB'",
      'log_min_messages = warning',
      '',
    ].join('\n'),
  );

  let leftoverId: number | undefined;
  let running = false;

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  const start = async (): Promise<void> => {
    if (running) return;
    await runOrThrow(...postgresCommand('pg_ctl', ['start', '-w', '-t', '30', '-D', dataDir, '-l', logFile]));
    running = true;
    const pid = postmasterPid();
    if (pid) {
      // pg_ctl starts the postmaster in its own session, so its process group holds every backend.
      leftoverId = trackLeftover(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          process.kill(pid, 'SIGKILL');
        }
      });
    }
  };

  const stop = async (): Promise<void> => {
    if (!running) return;
    await runOrThrow(...postgresCommand('pg_ctl', ['stop', '-w', '-t', '30', '-D', dataDir, '-m', 'fast']));
    running = false;
    if (leftoverId !== undefined) leftovers.delete(leftoverId);
    leftoverId = undefined;
  };

  const adminQuery = async (sql: string, params?: unknown[]): Promise<Record<string, unknown>[]> => {
    const client = new Client({ host, port, user: superuser, password: superuserPassword, database });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  await start();
  try {
    const bootstrap = new Client({ host, port, user: superuser, password: superuserPassword, database: 'postgres' });
    await bootstrap.connect();
    try {
      await bootstrap.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
      await bootstrap.query(`CREATE DATABASE ${database} OWNER ${user}`);
    } finally {
      await bootstrap.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const encode = encodeURIComponent;
  return {
    host,
    port,
    user,
    database,
    password,
    dataDir,
    url: `postgres://${encode(user)}:${encode(password)}@${host}:${port}/${encode(database)}`,
    superuser,
    superuserPassword,
    adminUrl: `postgres://${encode(superuser)}:${encode(superuserPassword)}@${host}:${port}/${encode(database)}`,
    adminQuery,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** A Redis server on loopback, run as a child process. */
export interface RedisServer {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** TCP port; kept across restarts. */
  readonly port: number;
  /** The AUTH password (requirepass); also used as masterauth when replicating. */
  readonly password: string;
  /** The working directory: append-only file and `redis.log`. */
  readonly dir: string;
  /** Connection string: redis://:password@127.0.0.1:port. */
  readonly url: string;
  /** Sends one command (authenticated) and returns its reply. */
  command(...args: (string | number)[]): Promise<unknown>;
  /** Stops the server (SIGTERM, repeated until Redis has flushed its append-only file and exits; SIGKILL after 30 s). */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data; keeps its current replication role. */
  start(): Promise<void>;
  /** Stops then starts the server. */
  restart(): Promise<void>;
  /** Makes this server a primary (REPLICAOF NO ONE). */
  promote(): Promise<void>;
  /** Makes this server a replica of `other` (REPLICAOF host port, masterauth = other's password). */
  replicaOf(other: RedisServer): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Working directory (created if missing): append-only file and log. */
  readonly dir: string;
  /** AUTH password. @default - the primary's password when `replicaOf` is given, otherwise random */
  readonly password?: string;
  /** Start as a replica of this server. @default - a primary */
  readonly replicaOf?: RedisServer;
}

/** Starts redis-server on a free loopback port with requirepass, masterauth and appendonly, and waits for PING. */
export async function startRedis(opts: StartRedisOptions): Promise<RedisServer> {
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const host = '127.0.0.1';
  const port = await freePort();
  const password = opts.password ?? opts.replicaOf?.password ?? randomSecret();
  let primary: { host: string; port: number; password: string } | undefined = opts.replicaOf;
  let child: ChildProcess | undefined;
  let leftoverId: number | undefined;

  const command = async (...args: (string | number)[]): Promise<unknown> => {
    const client = new Redis({
      host,
      port,
      password,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const reply = await client.call(String(args[0]), ...args.slice(1).map(String));
      await client.quit();
      return reply;
    } finally {
      // disconnect() arms a 2 s timer that only a later 'close' clears: call it only on a live stream.
      if (client.status !== 'end') client.disconnect();
    }
  };

  const waitForPing = async (): Promise<void> => {
    const deadline = Date.now() + START_STOP_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`redis-server exited during start-up; see ${path.join(dir, 'redis.log')}`);
      }
      try {
        if ((await command('PING')) === 'PONG') return;
      } catch (err) {
        lastError = err;
      }
      await sleep(50);
    }
    throw new Error(
      `redis-server on port ${port} did not answer PING within ${START_STOP_TIMEOUT_MS} ms: ${lastError}`,
    );
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      '--bind',
      host,
      '--port',
      String(port),
      '--requirepass',
      password,
      '--masterauth',
      primary?.password ?? password,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--dir',
      dir,
      '--logfile',
      path.join(dir, 'redis.log'),
      '--daemonize',
      'no',
      // Full resynchronisation at once rather than after the default 5 s wait for more replicas.
      '--repl-diskless-sync-delay',
      '0',
    ];
    if (primary) args.push('--replicaof', primary.host, String(primary.port));
    const proc = spawn(REDIS_SERVER_BIN, args, { stdio: 'ignore' });
    proc.on('error', () => undefined);
    child = proc;
    leftoverId = trackLeftover(() => proc.kill('SIGKILL'));
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    try {
      await waitForPing();
    } catch (err) {
      await stop();
      throw err;
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      // Redis ignores SIGTERM while it writes its first append-only file (a replica right after its
      // first sync does): ask again until it exits.
      const again = setInterval(() => proc.kill('SIGTERM'), 200);
      const timer = setTimeout(() => proc.kill('SIGKILL'), START_STOP_TIMEOUT_MS);
      await exited;
      clearInterval(again);
      clearTimeout(timer);
    }
    child = undefined;
    if (leftoverId !== undefined) leftovers.delete(leftoverId);
    leftoverId = undefined;
  };

  await start();
  return {
    host,
    port,
    password,
    dir,
    url: `redis://:${encodeURIComponent(password)}@${host}:${port}`,
    command,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    promote: async () => {
      await command('REPLICAOF', 'NO', 'ONE');
      primary = undefined;
    },
    replicaOf: async (other: RedisServer) => {
      await command('CONFIG', 'SET', 'masterauth', other.password);
      await command('REPLICAOF', other.host, other.port);
      primary = { host: other.host, port: other.port, password: other.password };
    },
  };
}
