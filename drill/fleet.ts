/**
 * A fleet: instances of one built service (its Auto Scaling group stand-in), each a Node.js process on its own
 * loopback port, placed in one of the server slots of the service's HAProxy backend (its target group). Launch
 * waits for the instance's own health check path and then for HAProxy to see the slot UP; retirement drains the
 * slot, sends SIGTERM, waits for the exit and puts the slot in maintenance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { freePort } from '../support/local-servers';
import { onCleanup, trackChild } from './cleanup';
import type { ServiceDefinition } from '../lib/config/types';
import type { Backend } from './haproxy';
import { instanceId } from './services';
import { now, sleep, waitFor } from './util';

/**
 * One access log line of an instance: the reference service's `{"msg":"request","path",...,"latencyMs"}` or the
 * catalog's `{"msg":"access","url",...,"ms"}` (pino; no instance ID in the line: it is the instance's).
 */
export interface AccessLogEntry {
  /** Absent when the service could not tell (e.g. the peer had already closed the connection). */
  readonly clientIp?: string;
  readonly method: string;
  /** The request path (with its query string, if any). */
  readonly path: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly instanceId: string;
  readonly version: string;
  /** The service whose instance wrote it. */
  readonly service: string;
  /** When the drill read the line (drill clock). */
  readonly seenAt: number;
}

/** A running (or exited) service instance. */
export interface Instance {
  /** INSTANCE_ID, e.g. i-web-v1-1 (see {@link instanceId}). */
  readonly id: string;
  /** The service it runs. */
  readonly service: string;
  /** SERVICE_VERSION. */
  readonly version: string;
  /** Server slot (srvN) of the service's HAProxy backend. */
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
  /** The service's definition: its name (instance IDs), health check path and readiness path. */
  readonly service: ServiceDefinition;
  /** The built service's entry (its bundle's `server.js`). */
  readonly entry: string;
  /** Directory for the instances' logs. */
  readonly logDir: string;
  /**
   * The instances' environment besides what the fleet sets itself (PORT, SERVICE_VERSION, INSTANCE_ID and the
   * shutdown timings): the data tier's endpoints and the service's settings (`serviceEnvironment`).
   */
  readonly environment: Record<string, string>;
  /** Region label in instance IDs (`i-<region>-<service>-<version>-<n>`), so the answers show which region served. */
  readonly region?: string;
  /** The service's load balancer backend, whose slots the fleet fills. */
  readonly backend: Backend;
  /** SHUTDOWN_DRAIN_SECONDS of the service. */
  readonly shutdownDrainSeconds: number;
  /** SHUTDOWN_TIMEOUT_SECONDS of the service. */
  readonly shutdownTimeoutSeconds: number;
}

/** Longest wait for an instance to answer its health check path after its start. */
const BOOT_TIMEOUT_MS = 20_000;

/** One service's instances and the slots they occupy. */
export class Fleet {
  /** Instances in service (launched and not retired or crashed). */
  public readonly active: Instance[] = [];
  /** Every instance ever launched. */
  public readonly all: Instance[] = [];
  private sequence = 0;

  public constructor(private readonly opts: FleetOptions) {
    fs.mkdirSync(opts.logDir, { recursive: true });
    onCleanup(`stop the ${opts.service.name} fleet`, () => this.stopAll());
  }

  /** The service's name. */
  public get service(): string {
    return this.opts.service.name;
  }

  /** The service's readiness path (its `readiness.path`, else its health check path), asked of each instance. */
  public get readinessPath(): string {
    return this.opts.service.readiness?.path ?? this.opts.service.healthCheck.path;
  }

  /** The service's load balancer backend. */
  public get backend(): Backend {
    return this.opts.backend;
  }

  /**
   * Starts an instance of `version`, waits for its health check path, puts it in `slot` and waits until HAProxy
   * sees it UP.
   */
  public async launch(version: string, slot = this.freeSlot()): Promise<Instance> {
    const instance = await this.boot(version, slot);
    const { backend } = this.opts;
    await backend.enable(slot, instance.port);
    const t = backend.timings;
    await backend.waitStatus(slot, 'UP', t.checkIntervalMs * (t.healthyThreshold + 2) + 5000);
    this.active.push(instance);
    return instance;
  }

  /** Launches `count` instances of `version` at once, in slots 1..count. */
  public launchMany(version: string, count: number): Promise<Instance[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.launch(version, i + 1)));
  }

  /** Whether `instance` answers the service's readiness path with 200, asked directly (not through HAProxy). */
  public isReady(instance: Instance): Promise<boolean> {
    return answers200(instance, this.readinessPath);
  }

  /** Waits until every one of `instances` (default: the active ones) is ready ({@link isReady}). */
  public async waitReady(timeoutMs: number, instances: readonly Instance[] = this.active): Promise<void> {
    await waitFor(
      `every ${this.service} instance to answer GET ${this.readinessPath} 200`,
      async () => ((await Promise.all(instances.map((i) => this.isReady(i)))).every(Boolean) ? true : undefined),
      timeoutMs,
      100,
    );
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
    const { backend, shutdownDrainSeconds, shutdownTimeoutSeconds } = this.opts;
    this.remove(instance);
    const started = now();
    await backend.drain(instance.slot);
    instance.process.kill('SIGTERM');
    const boundMs = (shutdownDrainSeconds + shutdownTimeoutSeconds) * 1000 + 5000;
    const result = await Promise.race([instance.exited, sleep(boundMs).then(() => undefined)]);
    if (!result) instance.process.kill('SIGKILL');
    const ended = result ?? (await instance.exited);
    await backend.maint(instance.slot);
    return { code: ended.code, signal: result ? ended.signal : 'SIGKILL (timeout)', ms: Math.round(now() - started) };
  }

  /** The lowest slot no active instance uses. */
  public freeSlot(): number {
    const used = new Set(this.active.map((i) => i.slot));
    const { slots } = this.opts.backend.options;
    for (let slot = 1; slot <= slots; slot++) if (!used.has(slot)) return slot;
    throw new Error(`every one of the ${slots} server slots of HAProxy backend ${this.service} is in use`);
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
    const { logDir, entry, region } = this.opts;
    const { name: service, healthCheck } = this.opts.service;
    const healthCheckPath = healthCheck.path;
    const port = await freePort();
    const id = instanceId({ region, service, version, n: ++this.sequence });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      ...this.opts.environment,
      PORT: String(port),
      SERVICE_VERSION: version,
      INSTANCE_ID: id,
      SHUTDOWN_DRAIN_SECONDS: String(this.opts.shutdownDrainSeconds),
      SHUTDOWN_TIMEOUT_SECONDS: String(this.opts.shutdownTimeoutSeconds),
    };
    const logPath = path.join(logDir, `${id}.log`);
    const log = fs.createWriteStream(logPath);
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
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
      const parsed = parseAccessLine(line, { id, version, service });
      if (parsed) accessLog.push(parsed);
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    void exited.then(() => setTimeout(() => log.end(), 100));
    const instance: Instance = {
      id,
      service,
      version,
      slot,
      port,
      process: child,
      pid: child.pid!,
      accessLog,
      exited,
      logPath,
    };
    this.all.push(instance);
    await waitFor(
      `${id} to answer GET ${healthCheckPath} on port ${port}`,
      async () => {
        if (!isRunning(instance)) throw new Error(`${id} exited during start-up, see ${logPath}`);
        const res = await fetch(`http://127.0.0.1:${port}${healthCheckPath}`, { signal: AbortSignal.timeout(1000) });
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

/** Whether an instance answers `urlPath` with 200, asked directly (not through HAProxy). */
async function answers200(instance: Instance, urlPath: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${instance.port}${urlPath}`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Parses an access log line of either service (see {@link AccessLogEntry}); undefined for any other line. The
 * instance ID and version come from the line when it has them, else from `instance`.
 */
export function parseAccessLine(
  line: string,
  instance: { id: string; version: string; service: string },
): AccessLogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const json = JSON.parse(line) as Record<string, unknown>;
    if (json.msg !== 'request' && json.msg !== 'access') return undefined;
    return {
      clientIp: typeof json.clientIp === 'string' ? json.clientIp : undefined,
      method: String(json.method),
      path: String(json.path ?? json.url),
      status: Number(json.status),
      latencyMs: Number(json.latencyMs ?? json.ms),
      instanceId: typeof json.instanceId === 'string' ? json.instanceId : instance.id,
      version: typeof json.version === 'string' ? json.version : instance.version,
      service: instance.service,
      seenAt: now(),
    };
  } catch {
    return undefined;
  }
}
