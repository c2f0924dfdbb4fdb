/**
 * The game day's Route 53 stand-in: one HAProxy in TCP mode in front of the two regions' load balancers, as
 * the failover records of the service's name are in front of the two ALBs. Region A is the primary, region B
 * the backup (`backup`: it gets connections only while A is down, as the SECONDARY failover record is answered
 * only while the PRIMARY is unhealthy). Each region is health-checked on `GET /health/ready` over HTTPS at the
 * configured Route 53 interval and failure threshold, divided by {@link TIME_SCALE} like the drill's ALB
 * settings. TLS passes through to the regional load balancer, which ends it, as clients reach the ALB the DNS
 * answer names.
 *
 * The Region switch plan's own health check of the primary, which a planned switchover or a failover sets
 * unhealthy so traffic stays in the other region even while the primary answers, is the primary's maintenance
 * state here ({@link FrontDoor.steerAway} / {@link FrontDoor.steerBack}).
 *
 * Not modelled: resolvers keep an answer for the alias record's TTL (60 s), so in AWS clients can reach the old
 * region that much longer; here every new connection follows the switch at once.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { demo } from '../lib/config/environments';
import { HEALTH_CHECK_INTERVAL_SECONDS } from '../lib/constructs/failover-dns';
import { onCleanup } from './cleanup';
import { runHAProxy, runtimeAdmin, serverStatuses, stopProcess, TIME_SCALE } from './haproxy';
import { waitFor } from './util';

const BACKEND = 'regions';

/** The Route 53 health check settings of the front, scaled. */
export interface FrontTimings {
  /** Interval between checks (Route 53: 10 s, the fast option). */
  readonly checkIntervalMs: number;
  /** Consecutive failures (or passes) that change a region's state (Route 53's failure threshold). */
  readonly failureThreshold: number;
  /** Time limit of one check (Route 53: 4 s to connect plus 2 s for the answer). */
  readonly checkTimeoutMs: number;
  /** Worst case from a dead region to the other one answering: interval x threshold + one timeout. */
  readonly detectionMs: number;
  /** Where the values come from. */
  readonly source: string;
}

/** The demo environment's Route 53 health check settings, durations divided by {@link TIME_SCALE}. */
export function frontTimings(): FrontTimings {
  const checkIntervalMs = (HEALTH_CHECK_INTERVAL_SECONDS * 1000) / TIME_SCALE;
  const failureThreshold = demo.dns.healthCheckFailureThreshold;
  const checkTimeoutMs = (6 * 1000) / TIME_SCALE;
  return {
    checkIntervalMs,
    failureThreshold,
    checkTimeoutMs,
    detectionMs: checkIntervalMs * failureThreshold + checkTimeoutMs,
    source: `environment "${demo.name}" Route 53 health check (interval ${HEALTH_CHECK_INTERVAL_SECONDS} s, failure threshold ${failureThreshold}), durations divided by ${TIME_SCALE}`,
  };
}

/** The two regions' load balancer ports. */
export interface FrontTargets {
  readonly a: number;
  readonly b: number;
}

/** Renders the front's configuration. */
export function renderFrontConfig(port: number, targets: FrontTargets, t: FrontTimings, socketPath: string): string {
  return [
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '  nbthread 1',
    '  maxconn 2000',
    '  log stderr format short local0 notice',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    `  timeout check ${t.checkTimeoutMs}ms`,
    '',
    'frontend service_name',
    `  bind 127.0.0.1:${port}`,
    `  default_backend ${BACKEND}`,
    '',
    `backend ${BACKEND}`,
    '  option httpchk',
    '  http-check connect ssl',
    '  http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host 127.0.0.1',
    '  http-check expect status 200',
    // A region that goes down loses its connections, as clients of a lost region do.
    '  default-server on-marked-down shutdown-sessions',
    `  default-server inter ${t.checkIntervalMs}ms fall ${t.failureThreshold} rise ${t.failureThreshold} verify none`,
    `  server a 127.0.0.1:${targets.a} check`,
    `  server b 127.0.0.1:${targets.b} check backup`,
    '',
  ].join('\n');
}

/** A running front. */
export class FrontDoor {
  /** Starts the front on `port` and waits until region A is UP. */
  public static async start(dir: string, port: number, targets: FrontTargets): Promise<FrontDoor> {
    const timings = frontTimings();
    const socketPath = path.join(dir, 'haproxy.sock');
    const child = await runHAProxy(dir, renderFrontConfig(port, targets, timings, socketPath), socketPath);
    const front = new FrontDoor(child, socketPath, port, timings);
    onCleanup('stop the front (Route 53 stand-in)', () => front.stop());
    await front.waitStatus('a', 'UP', 30_000);
    return front;
  }

  private constructor(
    private readonly child: ChildProcess,
    private readonly socketPath: string,
    /** Port clients connect to (127.0.0.1). */
    public readonly port: number,
    /** The health check settings. */
    public readonly timings: FrontTimings,
  ) {}

  /** The HTTPS origin clients use (the service's name). */
  public get origin(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** HAProxy's status of a region: UP, DOWN, MAINT, `UP 1/3`... */
  public async status(region: 'a' | 'b'): Promise<string> {
    const found = (await serverStatuses(this.socketPath, BACKEND)).find((s) => s.name === region);
    if (!found) throw new Error(`front has no server ${region}`);
    return found.status;
  }

  /** Polls until a region's status is `wanted`; returns the milliseconds waited. */
  public async waitStatus(region: 'a' | 'b', wanted: string, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await waitFor(
      `front: region ${region} ${wanted}`,
      async () => ((await this.status(region)) === wanted ? true : undefined),
      timeoutMs,
      25,
    );
    return Date.now() - started;
  }

  /** Points region A at another load balancer port (A rebuilt during failback). */
  public async repointA(port: number): Promise<void> {
    await this.admin(`set server ${BACKEND}/a addr 127.0.0.1 port ${port}`);
  }

  /** The plan sets the primary's health check unhealthy: traffic stays away from A even when A answers. */
  public steerAway(): Promise<void> {
    return this.admin(`set server ${BACKEND}/a state maint`);
  }

  /** The plan sets the primary's health check healthy again: A takes traffic once its endpoint check passes. */
  public steerBack(): Promise<void> {
    return this.admin(`set server ${BACKEND}/a state ready`);
  }

  /**
   * Ends the open connections to a region (clients move on: in AWS when their DNS answer expires and their
   * keep-alive connection closes; here at once).
   */
  public shutdownSessions(region: 'a' | 'b'): Promise<void> {
    return this.admin(`shutdown sessions server ${BACKEND}/${region}`);
  }

  /** Stops the front. */
  public stop(): Promise<void> {
    return stopProcess(this.child);
  }

  private admin(cmd: string): Promise<void> {
    return runtimeAdmin(this.socketPath, cmd);
  }
}
