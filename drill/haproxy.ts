/**
 * HAProxy as the ALB stand-in: TLS termination, X-Forwarded-For, the listener rules (a backend per service,
 * chosen by path in priority order, the catch-all last), each backend's health checks and timings from its
 * service's target group settings, retries only for connections that never reached a server, and server slots
 * driven through the runtime API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ServiceDefinition } from '../lib/config/types';
import { onCleanup, trackChild } from './cleanup';
import { REFERENCE_SERVICE, serviceNamed, serviceRoutes, SERVICES_ENVIRONMENT } from './services';
import { sleep, waitFor } from './util';

/** Path of the HAProxy binary (Debian). */
export const HAPROXY_BIN = '/usr/sbin/haproxy';

/** How much faster than the real ALB the drill's load balancer checks and drains. */
export const TIME_SCALE = 10;

/** Health check and drain settings of one of the drill's target groups (an HAProxy backend). */
export interface LoadBalancerTimings {
  /** Health check interval (`inter`). */
  readonly checkIntervalMs: number;
  /** Health check timeout (`timeout check`). */
  readonly checkTimeoutMs: number;
  /** Consecutive failed checks that take a server out (`fall`). */
  readonly unhealthyThreshold: number;
  /** Consecutive passed checks that put a server back (`rise`). */
  readonly healthyThreshold: number;
  /** The service's own drain on SIGTERM (SHUTDOWN_DRAIN_SECONDS), the deregistration delay stand-in. */
  readonly drainMs: number;
  /** Worst case from a dead server to out of rotation: interval x threshold + one check timeout. */
  readonly detectionMs: number;
  /** Where the values come from. */
  readonly source: string;
}

/**
 * A service's ALB target group settings (its `healthCheck` and `rollout` in lib/config/environments.ts), every
 * duration divided by {@link TIME_SCALE}, thresholds kept: 10 s interval -> 1 s, 5 s timeout -> 0.5 s, 30 s
 * deregistration delay -> 3 s drain.
 */
export function loadBalancerTimings(
  service: ServiceDefinition = serviceNamed(REFERENCE_SERVICE),
  environment: string = SERVICES_ENVIRONMENT.name,
): LoadBalancerTimings {
  const hc = service.healthCheck;
  const checkIntervalMs = (hc.intervalSeconds * 1000) / TIME_SCALE;
  // The ALB target group's timeout, as lib/constructs/web-fleet.ts sets it.
  const checkTimeoutMs = (Math.min(5, hc.intervalSeconds - 1) * 1000) / TIME_SCALE;
  return {
    checkIntervalMs,
    checkTimeoutMs,
    unhealthyThreshold: hc.unhealthyThresholdCount,
    healthyThreshold: hc.healthyThresholdCount,
    drainMs: (service.rollout.deregistrationDelaySeconds * 1000) / TIME_SCALE,
    detectionMs: checkIntervalMs * hc.unhealthyThresholdCount + checkTimeoutMs,
    source:
      `environment "${environment}" service "${service.name}" ALB target group settings, durations divided by ` +
      `${TIME_SCALE}`,
  };
}

/** One backend of the load balancer: a service's target group and its listener rule. */
export interface BackendOptions {
  /** The service's name, also the backend's. */
  readonly name: string;
  /** Number of predeclared server slots (srv1..srvN), all disabled at start. */
  readonly slots: number;
  /** Health check settings. */
  readonly timings: LoadBalancerTimings;
  /** Path of the per-instance health check (the service's `healthCheck.path`). */
  readonly healthCheckPath: string;
  /** ACL criteria, any of which routes a request here; empty for the catch-all (the default backend). */
  readonly criteria: readonly string[];
}

/**
 * The backends of `services` in listener-rule order (lowest priority first): each with its service's health check
 * path and timings, `slots(name)` server slots, and the ACL criteria of its path patterns.
 */
export function serviceBackends(
  services: readonly ServiceDefinition[],
  slots: (service: string) => number,
): BackendOptions[] {
  return serviceRoutes(services).map((route) => {
    const service = services.find((s) => s.name === route.service)!;
    return {
      name: service.name,
      slots: slots(service.name),
      timings: loadBalancerTimings(service),
      healthCheckPath: service.healthCheck.path,
      criteria: route.criteria,
    };
  });
}

/** Options of {@link HAProxy.start}. */
export interface HAProxyOptions {
  /** Working directory: configuration, runtime API socket and log. */
  readonly dir: string;
  /** Port of the HTTPS frontend on 127.0.0.1. */
  readonly port: number;
  /** Certificate and key (PEM) for the TLS listener. */
  readonly pemPath: string;
  /**
   * The backends in listener-rule order: the first whose criteria match takes the request, the catch-all the
   * rest; with no catch-all, what no rule matches is a 404, as the ALB listener's default action answers.
   */
  readonly backends: readonly BackendOptions[];
}

/** The lines of one backend. */
function backendSection(b: BackendOptions): string[] {
  const t = b.timings;
  return [
    `backend ${b.name}`,
    '  balance roundrobin',
    `  timeout check ${t.checkTimeoutMs}ms`,
    '  option httpchk',
    `  http-check send meth GET uri ${b.healthCheckPath}`,
    '  http-check expect status 200',
    `  default-server inter ${t.checkIntervalMs}ms fall ${t.unhealthyThreshold} rise ${t.healthyThreshold}`,
    // Placeholder addresses, set at launch.
    ...Array.from({ length: b.slots }, (_, i) => `  server srv${i + 1} 127.0.0.1:1 check disabled`),
    '',
  ];
}

/** What the ALB listener's default action answers when no rule matches: a 404. */
function notFound(routes: readonly string[]): string[] {
  const unless = routes.length > 0 ? ` unless ${routes.join(' || ')}` : '';
  return [`  http-request return status 404 content-type application/json string '{"error":"not found"}'${unless}`];
}

/** Renders the HAProxy configuration. */
export function renderConfig(opts: HAProxyOptions, socketPath: string): string {
  const catchAll = opts.backends.filter((b) => b.criteria.length === 0);
  if (catchAll.length > 1) {
    throw new Error(`more than one catch-all backend: ${catchAll.map((b) => b.name).join(', ')}`);
  }
  const rules = opts.backends.filter((b) => b.criteria.length > 0);
  return [
    'global',
    `  stats socket ${socketPath} mode 600 level admin expose-fd listeners`,
    '  stats timeout 10s',
    '  nbthread 1',
    '  maxconn 2000',
    // Server state changes (UP/DOWN) go to haproxy.log; request logs (info) do not.
    '  log stderr format short local0 notice',
    '  ssl-default-bind-options ssl-min-ver TLSv1.2',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 10s',
    '  timeout http-request 10s',
    // Longer than the client's keep-alive (undici: 4 s), so the client always closes idle connections first.
    '  timeout http-keep-alive 30s',
    '  timeout queue 5s',
    // Retry, on another server, only connections that failed to open: a request that reached a server,
    // such as a POST, is never replayed.
    '  retries 2',
    '  retry-on conn-failure',
    '  option redispatch 1',
    '',
    'frontend fe',
    `  bind 127.0.0.1:${opts.port} ssl crt ${opts.pemPath} alpn http/1.1`,
    // Appends the peer's address to whatever X-Forwarded-For the client sent, as the ALB does.
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto https',
    `  http-request set-header X-Forwarded-Port ${opts.port}`,
    // The listener rules, in priority order; each ACL name lists its criteria, any of which matches.
    ...rules.flatMap((b) => b.criteria.map((c) => `  acl route_${b.name} ${c}`)),
    ...rules.map((b) => `  use_backend ${b.name} if route_${b.name}`),
    ...(catchAll[0] ? [`  default_backend ${catchAll[0].name}`] : notFound(rules.map((b) => `route_${b.name}`))),
    '',
    ...opts.backends.flatMap(backendSection),
  ].join('\n');
}

/** One server slot's state as `show stat` reports it. */
export interface SlotStatus {
  /** srv1..srvN */
  readonly name: string;
  /** UP, DOWN, MAINT, DRAIN, `UP 1/2` (going down), `DOWN 1/2` (going up), ... */
  readonly status: string;
  /** Current sessions. */
  readonly sessions: number;
}

/** One backend of a running HAProxy: its server slots, driven through the runtime API. */
export class Backend {
  /** @internal */
  public constructor(
    private readonly socketPath: string,
    /** The options it was configured with. */
    public readonly options: BackendOptions,
  ) {}

  /** The backend's (and its service's) name. */
  public get name(): string {
    return this.options.name;
  }

  /** Its health check settings. */
  public get timings(): LoadBalancerTimings {
    return this.options.timings;
  }

  /** States of all its server slots. */
  public slots(): Promise<SlotStatus[]> {
    return serverStatuses(this.socketPath, this.name);
  }

  /** Status of slot `srvN`. */
  public async status(slot: number): Promise<string> {
    const found = (await this.slots()).find((s) => s.name === `srv${slot}`);
    if (!found) throw new Error(`haproxy backend ${this.name} has no server srv${slot}`);
    return found.status;
  }

  /** Polls slot `srvN` until its status is `wanted`; returns the milliseconds waited. */
  public async waitStatus(slot: number, wanted: string, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await waitFor(
      `${this.name}/srv${slot} ${wanted}`,
      async () => ((await this.status(slot)) === wanted ? true : undefined),
      timeoutMs,
      25,
    );
    return Date.now() - started;
  }

  /**
   * Points slot `srvN` at 127.0.0.1:port and puts it in service. It is then forced DOWN, so it gets traffic
   * only after `rise` passed checks, as a new ALB target does: HAProxy 2.6 puts a server leaving maintenance
   * straight UP (and ignores a `health down` sent before `state ready`).
   */
  public async enable(slot: number, port: number): Promise<void> {
    await this.admin(`set server ${this.name}/srv${slot} addr 127.0.0.1 port ${port}`);
    await this.admin(`set server ${this.name}/srv${slot} state ready`);
    await this.admin(`set server ${this.name}/srv${slot} health down`);
  }

  /** Stops sending new requests to slot `srvN`; requests in flight finish. */
  public drain(slot: number): Promise<void> {
    return this.admin(`set server ${this.name}/srv${slot} state drain`);
  }

  /** Takes slot `srvN` out of service (maintenance). */
  public maint(slot: number): Promise<void> {
    return this.admin(`set server ${this.name}/srv${slot} state maint`);
  }

  private admin(cmd: string): Promise<void> {
    return runtimeAdmin(this.socketPath, cmd);
  }
}

/** A running HAProxy. */
export class HAProxy {
  /** Validates the configuration, starts HAProxy in the foreground and waits for its listener and socket. */
  public static async start(opts: HAProxyOptions): Promise<HAProxy> {
    const socketPath = path.join(opts.dir, 'haproxy.sock');
    const child = await runHAProxy(opts.dir, renderConfig(opts, socketPath), socketPath);
    const haproxy = new HAProxy(child, socketPath, opts);
    onCleanup('stop haproxy', () => haproxy.stop());
    return haproxy;
  }

  /** Its backends, by name. */
  private readonly backends: ReadonlyMap<string, Backend>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socketPath: string,
    /** The options it was started with. */
    public readonly options: HAProxyOptions,
  ) {
    this.backends = new Map(options.backends.map((b) => [b.name, new Backend(socketPath, b)]));
  }

  /** The HTTPS origin clients use. */
  public get origin(): string {
    return `https://127.0.0.1:${this.options.port}`;
  }

  /** The backend of service `name`. */
  public backend(name: string): Backend {
    const found = this.backends.get(name);
    if (!found) throw new Error(`haproxy has no backend ${name} (it has ${[...this.backends.keys()].join(', ')})`);
    return found;
  }

  /** Sends one runtime API command and returns its answer. */
  public command(cmd: string): Promise<string> {
    return runtimeCommand(this.socketPath, cmd);
  }

  /** Stops HAProxy (SIGTERM, SIGKILL after 5 s). */
  public stop(): Promise<void> {
    return stopProcess(this.child);
  }

  /** Kills HAProxy at once (SIGKILL), as the loss of the load balancer's region would, and waits. */
  public async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Writes `config` to `<dir>/haproxy.cfg`, has HAProxy validate it, starts HAProxy in the foreground (log in
 * `<dir>/haproxy.log`) and waits until its runtime API answers on `socketPath`.
 */
export async function runHAProxy(dir: string, config: string, socketPath: string): Promise<ChildProcess> {
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(configPath, config);
  const check = spawnSync(HAPROXY_BIN, ['-c', '-q', '-f', configPath], { encoding: 'utf8', timeout: 10_000 });
  if (check.status !== 0) throw new Error(`haproxy rejected ${configPath}:\n${check.stderr}${check.stdout}`);
  const logFd = fs.openSync(path.join(dir, 'haproxy.log'), 'a');
  const child = spawn(HAPROXY_BIN, ['-db', '-f', configPath], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  trackChild(child);
  await waitFor(
    'haproxy runtime API',
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}, see haproxy.log`);
      return (await runtimeCommand(socketPath, 'show info')).includes('Name: HAProxy') ? true : undefined;
    },
    10_000,
  );
  return child;
}

/** Runs a state-changing runtime API command and fails unless HAProxy accepted it. */
export async function runtimeAdmin(socketPath: string, cmd: string): Promise<void> {
  const answer = (await runtimeCommand(socketPath, cmd)).trim();
  // Successful commands answer nothing, or a notice such as "no need to change the addr".
  if (/^(unknown|no such|require|invalid|error|usage)/im.test(answer)) {
    throw new Error(`haproxy runtime API rejected "${cmd}": ${answer}`);
  }
}

/** The servers of `backend` as `show stat` reports them. */
export async function serverStatuses(socketPath: string, backend: string): Promise<SlotStatus[]> {
  const csv = await runtimeCommand(socketPath, `show stat ${backend} 4 -1`);
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].replace(/^# /, '').split(',');
  const col = (name: string) => header.indexOf(name);
  return lines.slice(1).map((line) => {
    const f = line.split(',');
    return { name: f[col('svname')], status: f[col('status')], sessions: Number(f[col('scur')]) };
  });
}

/** Sends one command to HAProxy's runtime API socket and returns its answer. */
export function runtimeCommand(socketPath: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`haproxy runtime API: no answer to "${cmd}"`)));
    socket.on('connect', () => socket.end(`${cmd}\n`));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

/** Stops a child process: SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
