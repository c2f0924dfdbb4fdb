/**
 * The fleet: instances of the built service (the Auto Scaling group stand-in), each a Node.js process on
 * its own loopback port, placed in one of HAProxy's server slots. Launch waits for the instance's own
 * /health and then for HAProxy to see the slot UP; retirement drains the slot, sends SIGTERM, waits for the
 * exit and puts the slot in maintenance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { freePort } from '../support/local-servers';
import { onCleanup, trackChild } from './cleanup';
import type { HAProxy } from './haproxy';
import type { DataTier } from './servers';
import { now, sleep, waitFor } from './util';

/** One access log line of the service (`{"msg":"request",...}`). */
export interface AccessLogEntry {
  /** Absent when the service could not tell (e.g. the peer had already closed the connection). */
  readonly clientIp?: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly instanceId: string;
  readonly version: string;
  /** When the drill read the line (drill clock). */
  readonly seenAt: number;
}

/** A running (or exited) service instance. */
export interface Instance {
  /** INSTANCE_ID, e.g. i-v1-1. */
  readonly id: string;
  /** SERVICE_VERSION. */
  readonly version: string;
  /** HAProxy server slot (srvN). */
  readonly slot: number;
  /** Its HTTP port on 127.0.0.1. */
  readonly port: number;
  /** The Node.js process. */
  readonly process: ChildProcess;
  /** Its PID at launch. */
  readonly pid: number;
  /** Access log lines read from its stdout so far. */
  readonly accessLog: AccessLogEntry[];
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Path of its stdout and stderr log. */
  readonly logPath: string;
}

/** Whether an instance's process still runs. */
export function isRunning(instance: Instance): boolean {
  return instance.process.exitCode === null && instance.process.signalCode === null;
}

/** Options of {@link Fleet}. */
export interface FleetOptions {
  /** The built service (service/dist/server.js). */
  readonly serviceEntry: string;
  /** Directory for the instances' logs. */
  readonly logDir: string;
  /** The shared files directory (EFS stand-in). */
  readonly filesDir: string;
  /** The data tier the instances use (the drill's one region). Either this or {@link environment}. */
  readonly data?: DataTier;
  /**
   * The instances' data tier and files settings as environment variables (DATABASE_*, REDIS_*, FILES_DIR...),
   * replacing those made from {@link data}: the game day's regions set their own endpoints.
   */
  readonly environment?: Record<string, string>;
  /** Region label in instance IDs (`i-<region>-<version>-<n>`), so the answers show which region served. */
  readonly region?: string;
  /** The load balancer whose slots the fleet fills. */
  readonly haproxy: HAProxy;
  /** SHUTDOWN_DRAIN_SECONDS of the service. */
  readonly shutdownDrainSeconds: number;
  /** SHUTDOWN_TIMEOUT_SECONDS of the service. */
  readonly shutdownTimeoutSeconds: number;
}

/** Longest wait for an instance to answer /health after its start. */
const BOOT_TIMEOUT_MS = 20_000;

/** The service instances and the slots they occupy. */
export class Fleet {
  /** Instances in service (launched and not retired or crashed). */
  public readonly active: Instance[] = [];
  /** Every instance ever launched. */
  public readonly all: Instance[] = [];
  private sequence = 0;

  public constructor(private readonly opts: FleetOptions) {
    fs.mkdirSync(opts.logDir, { recursive: true });
    fs.mkdirSync(opts.filesDir, { recursive: true });
    onCleanup('stop the fleet', () => this.stopAll());
  }

  /** Starts an instance of `version`, waits for its /health, puts it in `slot` and waits until HAProxy sees it UP. */
  public async launch(version: string, slot = this.freeSlot()): Promise<Instance> {
    const instance = await this.boot(version, slot);
    const { haproxy } = this.opts;
    await haproxy.enable(slot, instance.port);
    const t = haproxy.options.timings;
    await haproxy.waitStatus(slot, 'UP', t.checkIntervalMs * (t.healthyThreshold + 2) + 5000);
    this.active.push(instance);
    return instance;
  }

  /** Kills an instance with SIGKILL, as a crashed host would; HAProxy is not told. */
  public async crash(instance: Instance): Promise<void> {
    this.remove(instance);
    instance.process.kill('SIGKILL');
    await instance.exited;
  }

  /**
   * Takes an instance out as a scale-in or instance refresh does: drain its slot, SIGTERM, wait for the
   * exit (bounded by the service's drain and shutdown timeouts plus 5 s, then SIGKILL), slot to maintenance.
   * Returns how the process ended and how long it took.
   */
  public async retire(instance: Instance): Promise<{ code: number | null; signal: string | null; ms: number }> {
    const { haproxy, shutdownDrainSeconds, shutdownTimeoutSeconds } = this.opts;
    this.remove(instance);
    const started = now();
    await haproxy.drain(instance.slot);
    instance.process.kill('SIGTERM');
    const boundMs = (shutdownDrainSeconds + shutdownTimeoutSeconds) * 1000 + 5000;
    const result = await Promise.race([instance.exited, sleep(boundMs).then(() => undefined)]);
    if (!result) instance.process.kill('SIGKILL');
    const ended = result ?? (await instance.exited);
    await haproxy.maint(instance.slot);
    return { code: ended.code, signal: result ? ended.signal : 'SIGKILL (timeout)', ms: Math.round(now() - started) };
  }

  /** The lowest slot no active instance uses. */
  public freeSlot(): number {
    const used = new Set(this.active.map((i) => i.slot));
    for (let slot = 1; slot <= this.opts.haproxy.options.slots; slot++) if (!used.has(slot)) return slot;
    throw new Error(`every one of the ${this.opts.haproxy.options.slots} HAProxy server slots is in use`);
  }

  /** Access log lines of every instance ever launched. */
  public accessLog(): AccessLogEntry[] {
    return this.all.flatMap((i) => i.accessLog);
  }

  private remove(instance: Instance): void {
    const at = this.active.indexOf(instance);
    if (at >= 0) this.active.splice(at, 1);
  }

  private async boot(version: string, slot: number): Promise<Instance> {
    const { data, filesDir, logDir, serviceEntry, region } = this.opts;
    const port = await freePort();
    const id = `i-${region ? `${region}-` : ''}${version}-${++this.sequence}`;
    const dataEnv = this.opts.environment ?? (data ? drillDataEnvironment(data, filesDir) : undefined);
    if (!dataEnv) throw new Error('Fleet: give either data or environment');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      SERVICE_VERSION: version,
      INSTANCE_ID: id,
      TRUSTED_PROXY_HOPS: '1',
      COOKIE_SECURE: 'true',
      ...dataEnv,
      SHUTDOWN_DRAIN_SECONDS: String(this.opts.shutdownDrainSeconds),
      SHUTDOWN_TIMEOUT_SECONDS: String(this.opts.shutdownTimeoutSeconds),
    };
    const logPath = path.join(logDir, `${id}.log`);
    const log = fs.createWriteStream(logPath);
    const child = spawn(process.execPath, ['--enable-source-maps', serviceEntry], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const accessLog: AccessLogEntry[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      const entry = parseAccessLine(line);
      if (entry) accessLog.push(entry);
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    void exited.then(() => setTimeout(() => log.end(), 100));
    const instance: Instance = { id, version, slot, port, process: child, pid: child.pid!, accessLog, exited, logPath };
    this.all.push(instance);
    await waitFor(
      `${id} to answer GET /health on port ${port}`,
      async () => {
        if (!isRunning(instance)) throw new Error(`${id} exited during start-up, see ${logPath}`);
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.status === 200 ? true : undefined;
      },
      BOOT_TIMEOUT_MS,
      100,
    );
    return instance;
  }

  private async stopAll(): Promise<void> {
    await Promise.all(
      this.all.filter(isRunning).map(async (instance) => {
        instance.process.kill('SIGTERM');
        await Promise.race([instance.exited, sleep(3000)]);
        if (isRunning(instance)) instance.process.kill('SIGKILL');
      }),
    );
  }
}

/** The instances' settings of the drill's single-region data tier. */
function drillDataEnvironment(data: DataTier, filesDir: string): Record<string, string> {
  return {
    DATABASE_HOST: data.postgres.host,
    DATABASE_PORT: String(data.postgres.port),
    DATABASE_NAME: data.postgres.database,
    DATABASE_USER: data.postgres.user,
    DATABASE_PASSWORD: data.postgres.password,
    DATABASE_SSL: 'false',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(data.redisEndpoint.port),
    REDIS_PASSWORD: data.redisPrimary.password,
    REDIS_TLS: 'false',
    FILES_DIR: filesDir,
  };
}

function parseAccessLine(line: string): AccessLogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const json = JSON.parse(line) as Record<string, unknown>;
    if (json.msg !== 'request') return undefined;
    return {
      clientIp: typeof json.clientIp === 'string' ? json.clientIp : undefined,
      method: String(json.method),
      path: String(json.path),
      status: Number(json.status),
      latencyMs: Number(json.latencyMs),
      instanceId: String(json.instanceId),
      version: String(json.version),
      seenAt: now(),
    };
  } catch {
    return undefined;
  }
}
