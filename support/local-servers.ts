/**
 * Real PostgreSQL and Redis servers on loopback, for the service's tests and the local HA drill.
 *
 * Every server listens on 127.0.0.1 only, on a free port, with password authentication.
 *
 * Nothing started here outlives the Node.js process that started it, however that process ends (a normal
 * exit, a failed test, a signal, even SIGKILL): each server runs in its own process group, registered with
 * a watchdog, a small shell process whose standard input is a pipe from this process. The kernel closes
 * that pipe when this process dies, whatever killed it; the watchdog then reads end-of-file and stops every
 * server still registered (SIGQUIT or SIGTERM, then SIGKILL to the whole group one second later).
 *
 * A missing program fails at once with a {@link MissingProgramError} naming it and the command that
 * installs it. The programs are looked up at `$POSTGRES_BIN_DIR` (initdb and postgres) and
 * `$REDIS_SERVER_BIN` when set, else in the Debian and Ubuntu locations, else on PATH; the options
 * `binDir` of {@link startPostgres} and `binary` of {@link startRedis} override both.
 *
 * `initdb` (about 1.5 s) runs once per template directory, not once per server: the first server makes a
 * template cluster (superuser `postgres`, application user `app` owning database `app`) under a
 * cross-process lock, and every server starts on a copy of it with new random passwords. The template
 * directory is `$HA_WEB_TEST_RUN_DIR` (one jest run, see test/global-setup.ts) when set, else a temporary
 * directory of this process, removed at exit.
 *
 * When running as root (CI containers), PostgreSQL refuses to run as root, so `initdb` and the server
 * run as the `postgres` system user through `setpriv`; the working directory is then owned by that
 * user, and its ancestors get the traverse bit (o+x, never read) so that user can reach it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Client } from 'pg';

const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** The command that installs a Debian or Ubuntu package here (`sudo` unless running as root). */
export function aptInstallCommand(...packages: string[]): string {
  const sudo = runningAsRoot ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(' ')}`;
}

/** A program the servers need is not installed (or not where it was configured to be). */
export class MissingProgramError extends Error {
  /** The program's name, e.g. `redis-server`. */
  public readonly program: string;
  /** The command that installs it on Debian and Ubuntu. */
  public readonly installCommand: string;

  constructor(program: string, looked: string, installCommand: string, override: string) {
    super(
      `${program} is not installed: not found at ${looked}. Install it with \`${installCommand}\` (Debian/Ubuntu; ` +
        `\`npm run drill:deps\` installs everything the tests and the drill need), or set ${override}.`,
    );
    this.name = 'MissingProgramError';
    this.program = program;
    this.installCommand = installCommand;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, program))) return path.join(dir, program);
  }
  return undefined;
}

/**
 * Directory of the PostgreSQL server binaries: $POSTGRES_BIN_DIR if set, else /usr/lib/postgresql/15/bin,
 * else the newest /usr/lib/postgresql/<major>/bin (Debian and Ubuntu layout), else that of `initdb` on PATH.
 * When none has them, /usr/lib/postgresql/15/bin (and starting a server fails, naming the install command).
 */
export const POSTGRES_BIN_DIR = findPostgresBinDir();

function findPostgresBinDir(): string {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const preferred = '/usr/lib/postgresql/15/bin';
  if (isExecutable(path.join(preferred, 'initdb'))) return preferred;
  let majors: number[] = [];
  try {
    majors = fs
      .readdirSync('/usr/lib/postgresql')
      .map(Number)
      .filter((major) => Number.isInteger(major) && isExecutable(`/usr/lib/postgresql/${major}/bin/initdb`));
  } catch {
    // No Debian-style installation.
  }
  if (majors.length > 0) return `/usr/lib/postgresql/${Math.max(...majors)}/bin`;
  const initdb = onPath('initdb');
  return initdb ? path.dirname(fs.realpathSync(initdb)) : preferred;
}

/** The Redis server binary: $REDIS_SERVER_BIN if set, else /usr/bin/redis-server, else `redis-server` on PATH. */
export const REDIS_SERVER_BIN =
  process.env.REDIS_SERVER_BIN ||
  (isExecutable('/usr/bin/redis-server')
    ? '/usr/bin/redis-server'
    : (onPath('redis-server') ?? '/usr/bin/redis-server'));

function requirePostgresProgram(binDir: string, program: 'initdb' | 'postgres' | 'pg_basebackup'): string {
  const file = path.join(binDir, program);
  if (!isExecutable(file)) {
    throw new MissingProgramError(
      `PostgreSQL's ${program}`,
      file,
      aptInstallCommand('postgresql'),
      'POSTGRES_BIN_DIR to the directory holding initdb and postgres',
    );
  }
  return file;
}

function requireRedisServer(binary: string): string {
  if (!isExecutable(binary)) {
    throw new MissingProgramError(
      'redis-server',
      binary,
      aptInstallCommand('redis-server'),
      'REDIS_SERVER_BIN to its path',
    );
  }
  return binary;
}

/** Longest wait for a server to start or stop. */
const START_STOP_TIMEOUT_MS = 30_000;

/** Longest wait for another process's PostgreSQL template. */
const TEMPLATE_WAIT_MS = 120_000;

/**
 * The watchdog's script. Lines on standard input: `add <pid>:<signal>` registers the process group `pid`
 * (stopped with `signal`, then SIGKILL), `del <pid>` forgets it, `dir <path>` registers a directory to
 * remove. At end of input (this process is gone, or closed the pipe), it stops the process groups still
 * registered, then removes the directories.
 */
const WATCHDOG_SCRIPT = `
groups=
dirs=
while read -r op arg; do
  case "$op" in
    add) groups="$groups $arg" ;;
    del) kept=; for g in $groups; do [ "\${g%%:*}" = "$arg" ] || kept="$kept $g"; done; groups=$kept ;;
    dir) dirs="$dirs
$arg" ;;
  esac
done
if [ -n "$groups" ]; then
  for g in $groups; do kill -s "\${g#*:}" "\${g%%:*}" 2>/dev/null; done
  sleep 1
  for g in $groups; do kill -s KILL -- "-\${g%%:*}" 2>/dev/null; done
fi
printf '%s\\n' "$dirs" | while IFS= read -r d; do [ -z "$d" ] || rm -rf -- "$d"; done
exit 0
`;

let watchdogInput: Writable | undefined;

function watchdog(): Writable {
  if (watchdogInput?.writable) return watchdogInput;
  // Its own process group: a Ctrl-C meant for this process must not stop the watchdog first.
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  const input = child.stdin!;
  input.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process alive.
  child.unref();
  (input as Writable & { unref?: () => void }).unref?.();
  watchdogInput = input;
  return input;
}

/**
 * Registers the process group led by `pid` with the watchdog, to be stopped with `signal` if this process
 * dies first. Returns the function that unregisters it (once the server stopped).
 */
function guardProcessGroup(pid: number, signal: 'QUIT' | 'TERM'): () => void {
  const input = watchdog();
  input.write(`add ${pid}:${signal}\n`);
  let guarded = true;
  return () => {
    if (guarded && input.writable) input.write(`del ${pid}\n`);
    guarded = false;
  };
}

/** At least this much free space makes /dev/shm the place for {@link scratchDir}'s directories. */
const MIN_SHM_FREE_BYTES = 1024 ** 3;

/** statfs(2)'s f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * Makes a new temporary directory (0700) for servers' data: on /dev/shm when it is a RAM file system with
 * at least 1 GiB free (copies of the template and PostgreSQL's fsyncs then cost no disk I/O), else in
 * os.tmpdir(). The watchdog removes it if this process dies without removing it.
 */
export function scratchDir(prefix: string): string {
  let base = os.tmpdir();
  try {
    const shm = fs.statfsSync('/dev/shm');
    if (shm.type === TMPFS_MAGIC && shm.bavail * shm.bsize >= MIN_SHM_FREE_BYTES) base = '/dev/shm';
  } catch {
    // No /dev/shm.
  }
  const dir = fs.mkdtempSync(path.join(base, prefix));
  if (!dir.includes('\n')) watchdog().write(`dir ${dir}\n`);
  return dir;
}

/**
 * Waits for every start, concurrently. When one fails, stops those that started (and waits for them to
 * stop), then throws the first failure; so a failed start-up leaves no server behind.
 */
export async function startAll<const T extends readonly Promise<{ stop(): Promise<void> }>[]>(
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await Promise.allSettled(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failure.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
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

/** The last lines of a log file, for an error message. */
function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion, capturing stdout and stderr together; `env` is added to this process's. */
function run(
  command: string,
  args: readonly string[],
  timeoutMs = START_STOP_TIMEOUT_MS,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

async function runOrThrow(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const result = await run(command, args, START_STOP_TIMEOUT_MS, env);
  if (result.code !== 0) {
    throw new Error(`${path.basename(command)} exited with ${result.code}:\n${result.output}`);
  }
  return result.output;
}

/** The command and arguments that run a PostgreSQL binary as a user it accepts. */
function postgresCommand(binaryPath: string, args: readonly string[]): [string, string[]] {
  if (!runningAsRoot) return [binaryPath, [...args]];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', binaryPath, ...args]];
}

let postgresIds: Promise<{ uid: number; gid: number }> | undefined;

/** Creates `dir` (mode 0700) and, when running as root, hands it to the postgres system user. */
async function preparePostgresDir(dir: string, paths: readonly string[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!runningAsRoot) return;
  postgresIds ??= (async () => {
    const uid = Number((await runOrThrow('id', ['-u', 'postgres'])).trim());
    const gid = Number((await runOrThrow('id', ['-g', 'postgres'])).trim());
    return { uid, gid };
  })();
  const { uid, gid } = await postgresIds;
  for (const p of [dir, ...paths]) fs.chownSync(p, uid, gid);
  // The postgres user must be able to traverse every ancestor (mkdtemp makes 0700 directories).
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const mode = fs.statSync(parent).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(parent, (mode & 0o7777) | 0o001);
    if (parent === path.dirname(parent)) break;
  }
}

/** A running postmaster, a child of this process leading its own process group. */
interface Postmaster {
  /** Whether it has exited (stopped, or died). */
  exited(): boolean;
  /** Stops it with a fast shutdown (SIGINT) and waits; SIGKILL to its group after 30 s. */
  stop(): Promise<void>;
  /** Kills its process group at once (SIGKILL), as the loss of its host would, and waits. */
  kill(): Promise<void>;
}

/** Whether `child` has exited. */
function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Starts `postgres -D dataDir` (log appended to `logFile`) and waits until it accepts connections. */
async function launchPostmaster(
  postgres: string,
  dataDir: string,
  logFile: string,
  settings: readonly string[] = [],
): Promise<Postmaster> {
  const log = fs.openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    const args = ['-D', dataDir, ...settings.flatMap((setting) => ['-c', setting])];
    child = spawn(...postgresCommand(postgres, args), { detached: true, stdio: ['ignore', log, log] });
  } finally {
    fs.closeSync(log);
  }
  child.on('error', () => undefined);
  const pid = child.pid;
  const release = pid ? guardProcessGroup(pid, 'QUIT') : () => undefined;
  const gone = new Promise<void>((resolve) => {
    if (!pid) resolve();
    child.once('exit', () => resolve());
  });

  const stop = async (): Promise<void> => {
    if (pid && !exited(child)) {
      child.kill('SIGINT');
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, START_STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    }
    release();
  };

  const kill = async (): Promise<void> => {
    if (pid && !exited(child)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await gone;
    }
    release();
  };

  // postmaster.pid's eighth line reads `ready` once the server accepts connections (PostgreSQL 10+).
  const deadline = Date.now() + START_STOP_TIMEOUT_MS;
  for (;;) {
    if (!pid || exited(child)) {
      await stop();
      throw new Error(`postgres exited during start-up (${dataDir}); ${logFile} ends with:\n${logTail(logFile)}`);
    }
    let lines: string[] = [];
    try {
      lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    } catch {
      // Not written yet.
    }
    if (Number(lines[0]) === pid && lines[7]?.trim() === 'ready') return { stop, kill, exited: () => exited(child) };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `postgres did not start within ${START_STOP_TIMEOUT_MS} ms; ${logFile} ends with:\n${logTail(logFile)}`,
      );
    }
    await sleep(10);
  }
}

/** A cluster made by initdb, to copy: its data directory and the passwords it was made with. */
interface PostgresTemplate {
  readonly dataDir: string;
  readonly superuserPassword: string;
  readonly appPassword: string;
}

const SUPERUSER = 'postgres';
const APP_USER = 'app';
const APP_DATABASE = 'app';

/** Makes a template cluster in `base` (through `${base}.building`, renamed when complete). */
async function buildTemplate(base: string, binDir: string): Promise<void> {
  const initdb = requirePostgresProgram(binDir, 'initdb');
  const postgres = requirePostgresProgram(binDir, 'postgres');
  const work = `${base}.building`;
  fs.rmSync(work, { recursive: true, force: true });
  const dataDir = path.join(work, 'data');
  const socketDir = path.join(work, 'run');
  const pwFile = path.join(work, 'superuser-password');
  const secrets = { superuserPassword: randomSecret(), appPassword: randomSecret() };
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(pwFile, `${secrets.superuserPassword}\n`, { mode: 0o600 });
  await preparePostgresDir(work, [socketDir, pwFile]);
  await runOrThrow(
    ...postgresCommand(initdb, [
      `--pgdata=${dataDir}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=peer',
      '--encoding=UTF8',
      '--no-locale',
      // A throwaway cluster: no need to flush it to disk, and 1 MB WAL segments make the copies smaller.
      '--no-sync',
      '--wal-segsize=1',
    ]),
  );
  fs.rmSync(pwFile, { force: true });
  const port = await freePort();
  const postmaster = await launchPostmaster(postgres, dataDir, path.join(work, 'postgres.log'), [
    'listen_addresses=127.0.0.1',
    `port=${port}`,
    `unix_socket_directories=${socketDir}`,
    'fsync=off',
  ]);
  try {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user: SUPERUSER,
      password: secrets.superuserPassword,
      database: 'postgres',
    });
    await client.connect();
    try {
      await client.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${secrets.appPassword}'`);
      await client.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_USER}`);
    } finally {
      await client.end();
    }
  } finally {
    await postmaster.stop();
  }
  fs.writeFileSync(path.join(work, 'template.json'), JSON.stringify(secrets), { mode: 0o600 });
  fs.renameSync(work, base);
}

function readTemplate(base: string): PostgresTemplate | undefined {
  try {
    const secrets = JSON.parse(fs.readFileSync(path.join(base, 'template.json'), 'utf8'));
    return { dataDir: path.join(base, 'data'), ...secrets };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock directory `lock` (holding the owner's PID) unless a live process holds it; a lock whose
 * owner died, or that has had no owner for 10 s (its maker was killed at once), is taken over.
 */
function takeLock(lock: string): boolean {
  try {
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let owner = 0;
  try {
    owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    const stat = fs.statSync(lock, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > 10_000) owner = -1;
  }
  if (owner === -1 || (owner > 0 && !alive(owner))) fs.rmSync(lock, { recursive: true, force: true });
  return false;
}

let ownTemplateDir: string | undefined;

/** $HA_WEB_TEST_RUN_DIR, else a directory of this process, removed at exit. */
function defaultTemplateDir(): string {
  if (process.env.HA_WEB_TEST_RUN_DIR) return process.env.HA_WEB_TEST_RUN_DIR;
  if (!ownTemplateDir) {
    const dir = scratchDir('pg-template-');
    ownTemplateDir = dir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return ownTemplateDir;
}

const templates = new Map<string, Promise<PostgresTemplate>>();

/**
 * The template cluster for `binDir` in `templateDir`: made by the first process to take the lock
 * (`<base>.lock`, a directory holding the owner's PID), read by the others once complete.
 */
function postgresTemplate(templateDir: string, binDir: string): Promise<PostgresTemplate> {
  const base = path.join(
    path.resolve(templateDir),
    `postgres-template-${createHash('sha256').update(binDir).digest('hex').slice(0, 12)}`,
  );
  let template = templates.get(base);
  if (!template) {
    template = (async () => {
      const lock = `${base}.lock`;
      const deadline = Date.now() + TEMPLATE_WAIT_MS;
      for (;;) {
        const ready = readTemplate(base);
        if (ready) return ready;
        if (!takeLock(lock)) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for the PostgreSQL template (${lock})`);
          await sleep(50);
          continue;
        }
        try {
          // Another process may have completed it between the check above and taking the lock.
          if (!readTemplate(base)) await buildTemplate(base, binDir);
        } finally {
          fs.rmSync(lock, { recursive: true, force: true });
        }
      }
    })();
    // A failed attempt is not remembered: the next server tries again.
    template.catch(() => templates.delete(base));
    templates.set(base, template);
  }
  return template;
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
  /** Stops the server (fast shutdown, waits). Does nothing when it is not running. */
  stop(): Promise<void>;
  /** Starts the server again on the same port. Does nothing when it runs. */
  start(): Promise<void>;
  /** Stops then starts the server. */
  restart(): Promise<void>;
  /** Kills the server at once (SIGKILL to every process of it), as the loss of its host would. */
  kill(): Promise<void>;
}

/** Who a {@link PostgresServer} serves: its users, passwords and database. */
interface PostgresCredentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly superuser: string;
  readonly superuserPassword: string;
}

/**
 * The {@link PostgresServer} of a data directory on `port`: start (launching the postmaster), stop, restart,
 * the superuser's queries and connection strings. The caller starts it.
 */
function postgresServer(
  postgres: string,
  dataDir: string,
  logFile: string,
  port: number,
  credentials: PostgresCredentials,
): PostgresServer {
  const host = '127.0.0.1';
  const { user, password, database, superuser, superuserPassword } = credentials;
  let postmaster: Postmaster | undefined;
  const stop = async (): Promise<void> => {
    const running = postmaster;
    postmaster = undefined;
    await running?.stop();
  };
  const start = async (): Promise<void> => {
    if (postmaster && !postmaster.exited()) return;
    await stop();
    postmaster = await launchPostmaster(postgres, dataDir, logFile);
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
    kill: async () => {
      const running = postmaster;
      postmaster = undefined;
      await running?.kill();
    },
  };
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Working directory: holds `data/` (the cluster), `run/` (unix sockets) and `postgres.log`. */
  readonly dir: string;
  /**
   * Directory of `initdb` and `postgres`.
   * @default - {@link POSTGRES_BIN_DIR}
   */
  readonly binDir?: string;
  /**
   * Directory shared by the processes of one run, where the template cluster is made once.
   * @default - $HA_WEB_TEST_RUN_DIR, else a temporary directory of this process
   */
  readonly templateDir?: string;
}

/**
 * Starts a PostgreSQL cluster in `opts.dir` on a free loopback port: a copy of the template cluster (made
 * by `initdb` on first use), with new passwords.
 *
 * The cluster has a superuser `postgres` and an application user `app` owning database `app`, both with
 * random passwords; TCP connections need a password (scram-sha-256). fsync stays on.
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresServer> {
  const binDir = opts.binDir ?? POSTGRES_BIN_DIR;
  const postgres = requirePostgresProgram(binDir, 'postgres');
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  const superuser = SUPERUSER;
  const superuserPassword = randomSecret();
  const user = APP_USER;
  const database = APP_DATABASE;
  const password = randomSecret();
  const host = '127.0.0.1';

  const template = await postgresTemplate(opts.templateDir ?? defaultTemplateDir(), binDir);
  const port = await freePort();
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  await preparePostgresDir(dir, [socketDir]);
  // -a keeps the owner (the postgres user when running as root) and the 0700 modes PostgreSQL requires.
  await runOrThrow('cp', ['-a', template.dataDir, dataDir]);
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

  const server = postgresServer(postgres, dataDir, logFile, port, {
    user,
    password,
    database,
    superuser,
    superuserPassword,
  });
  await server.start();
  try {
    // The template's passwords are shared by every copy: replace them before anything else connects.
    const bootstrap = new Client({ host, port, user: superuser, password: template.superuserPassword, database });
    await bootstrap.connect();
    try {
      await bootstrap.query(`ALTER ROLE ${superuser} PASSWORD '${superuserPassword}'`);
      await bootstrap.query(`ALTER ROLE ${user} PASSWORD '${password}'`);
    } finally {
      await bootstrap.end();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** A PostgreSQL hot standby: read-only, streaming the WAL of its primary, until {@link promote}d. */
export interface PostgresStandby extends PostgresServer {
  /** The server it streams from. */
  readonly primary: PostgresServer;
  /** Whether it is still in recovery (`pg_is_in_recovery()`): true until promoted. */
  inRecovery(): Promise<boolean>;
  /**
   * Ends recovery and makes this server a primary that accepts writes (`pg_promote()`, waiting up to 60 s), as an
   * Aurora global database failover or switchover makes a secondary cluster the writer. Connections stay open.
   */
  promote(): Promise<void>;
  /** Waits until this standby has replayed everything the primary had written when called (up to `timeoutMs`). */
  waitForCatchUp(timeoutMs?: number): Promise<void>;
}

/** Options of {@link startPostgresStandby}. */
export interface StartPostgresStandbyOptions {
  /** Working directory: holds `data/` (the copy), `run/` (unix sockets) and `postgres.log`. */
  readonly dir: string;
  /** The primary to copy and stream from (running). */
  readonly primary: PostgresServer;
  /** Directory of `pg_basebackup` and `postgres`. @default - {@link POSTGRES_BIN_DIR} */
  readonly binDir?: string;
}

/**
 * Starts a hot standby of `opts.primary` in `opts.dir` on a free loopback port: a `pg_basebackup -R` copy (which
 * writes `standby.signal` and the primary's connection settings) that streams the primary's WAL and accepts
 * read-only connections, as the secondary cluster of an Aurora global database does. Its users, passwords and
 * database are the primary's. A read-only transaction error (SQLSTATE 25006) answers every write until
 * {@link PostgresStandby.promote}.
 */
export async function startPostgresStandby(opts: StartPostgresStandbyOptions): Promise<PostgresStandby> {
  const binDir = opts.binDir ?? POSTGRES_BIN_DIR;
  const postgres = requirePostgresProgram(binDir, 'postgres');
  const basebackup = requirePostgresProgram(binDir, 'pg_basebackup');
  const { primary } = opts;
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  const port = await freePort();
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  await preparePostgresDir(dir, [socketDir]);
  await runOrThrow(
    ...postgresCommand(basebackup, [
      `--host=${primary.host}`,
      `--port=${primary.port}`,
      `--username=${primary.superuser}`,
      `--pgdata=${dataDir}`,
      '--write-recovery-conf',
      '--wal-method=stream',
      '--checkpoint=fast',
      '--no-sync',
    ]),
    // Read by pg_basebackup, and kept in the primary_conninfo that -R writes (inside the 0700 data directory).
    { PGPASSWORD: primary.superuserPassword },
  );
  // The copy carries the primary's settings; later lines win.
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# Standby settings, set by support/local-servers.ts',
      `port = ${port}`,
      `unix_socket_directories = '${socketDir}'`,
      'hot_standby = on',
      '',
    ].join('\n'),
  );

  const server = postgresServer(postgres, dataDir, logFile, port, primary);
  await server.start();
  const { adminQuery } = server;
  return {
    ...server,
    primary,
    inRecovery: async () => (await adminQuery('SELECT pg_is_in_recovery() AS r'))[0]!.r === true,
    promote: async () => {
      const [row] = await adminQuery('SELECT pg_promote(true, 60) AS promoted');
      if (row!.promoted !== true) throw new Error(`pg_promote did not finish within 60 s; see ${logFile}`);
    },
    waitForCatchUp: async (timeoutMs = 30_000) => {
      const [target] = await primary.adminQuery('SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await adminQuery(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done, pg_last_wal_replay_lsn()::text AS at',
          [target!.lsn],
        );
        if (row!.done === true) return;
        if (Date.now() > deadline) {
          throw new Error(`standby replayed up to ${String(row!.at)}, not ${String(target!.lsn)}, in ${timeoutMs} ms`);
        }
        await sleep(20);
      }
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
  /** Kills the server at once (SIGKILL), as the loss of its host would: what was not replicated is lost. */
  kill(): Promise<void>;
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
  /**
   * The redis-server program.
   * @default - {@link REDIS_SERVER_BIN}
   */
  readonly binary?: string;
}

/** Starts redis-server on a free loopback port with requirepass, masterauth and appendonly, and waits for PING. */
export async function startRedis(opts: StartRedisOptions): Promise<RedisServer> {
  const binary = requireRedisServer(opts.binary ?? REDIS_SERVER_BIN);
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logFile = path.join(dir, 'redis.log');
  const host = '127.0.0.1';
  const port = await freePort();
  const password = opts.password ?? opts.replicaOf?.password ?? randomSecret();
  let primary: { host: string; port: number; password: string } | undefined = opts.replicaOf;
  let child: ChildProcess | undefined;
  let release: (() => void) | undefined;

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
      if (!child || exited(child)) {
        throw new Error(`redis-server exited during start-up; ${logFile} ends with:\n${logTail(logFile)}`);
      }
      try {
        if ((await command('PING')) === 'PONG') return;
      } catch (err) {
        lastError = err;
      }
      await sleep(20);
    }
    throw new Error(
      `redis-server on port ${port} did not answer PING within ${START_STOP_TIMEOUT_MS} ms: ${lastError}`,
    );
  };

  const start = async (): Promise<void> => {
    if (child) return;
    release?.();
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
      logFile,
      '--daemonize',
      'no',
      // Full resynchronisation at once rather than after the default 5 s wait for more replicas.
      '--repl-diskless-sync-delay',
      '0',
    ];
    if (primary) args.push('--replicaof', primary.host, String(primary.port));
    // Its own process group, as the watchdog stops groups; a Ctrl-C reaches it through stop().
    const proc = spawn(binary, args, { stdio: 'ignore', detached: true });
    proc.on('error', () => undefined);
    child = proc;
    release = proc.pid ? guardProcessGroup(proc.pid, 'TERM') : undefined;
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
    if (proc && proc.pid && !exited(proc)) {
      const gone = once(proc, 'exit');
      proc.kill('SIGTERM');
      // Redis ignores SIGTERM while it writes its first append-only file (a replica right after its
      // first sync does): ask again until it exits.
      const again = setInterval(() => proc.kill('SIGTERM'), 200);
      const timer = setTimeout(() => proc.kill('SIGKILL'), START_STOP_TIMEOUT_MS);
      await gone;
      clearInterval(again);
      clearTimeout(timer);
    }
    child = undefined;
    release?.();
    release = undefined;
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
    kill: async () => {
      const proc = child;
      if (proc && !exited(proc)) {
        const gone = once(proc, 'exit');
        proc.kill('SIGKILL');
        await gone;
      }
      child = undefined;
      release?.();
      release = undefined;
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
